"""Start at login: the XDG autostart entry runs this install's captioner with --start."""

from __future__ import annotations

import sys

from captioner import autostart


def test_bundle_runs_its_own_binary(monkeypatch):
    """Regression: a PyInstaller bundle was given `python -m captioner`, which it rejects."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/captioner/captioner")
    assert autostart.command() == ["/opt/captioner/captioner", "--start"]


def test_pip_install_uses_the_script_or_this_python(monkeypatch):
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setattr(autostart.shutil, "which", lambda name: None)
    assert autostart.command() == [sys.executable, "-m", "captioner", "--start"]
    monkeypatch.setattr(autostart.shutil, "which", lambda name: "/usr/bin/captioner")
    assert autostart.command() == ["/usr/bin/captioner", "--start"]
    entry = autostart.desktop_entry()
    assert "Exec=/usr/bin/captioner --start" in entry
