"""GUI test fixtures: settings on an INI file in tmp, an in-memory keychain, a journal folder,
and the whole app offscreen on a scripted runner (``make_shell``).

Scripted runners (no audio, no network) are in ``scripted.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from captioner.secrets import MemoryStore
from captioner.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "captioner.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def journal_dir(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


@pytest.fixture
def make_shell(qtbot, settings, store, journal_dir):
    """``make(script)``: an :class:`AppShell` shown offscreen, running ``script``; no tray."""
    from captioner.gui.shell import AppShell
    from tests.gui.scripted import DEVICES

    shells = []

    def make(script):
        shell = AppShell(settings, store, runner_factory=script.factory, journal_dir=journal_dir,
                         device_lister=lambda: DEVICES, use_tray=False)
        qtbot.addWidget(shell.window)
        qtbot.addWidget(shell.overlay)
        shell.show()
        shells.append(shell)
        return shell

    yield make
    for shell in shells:
        shell.controller.shutdown(3000)
