"""Killing the real app while it captions the virtual microphone (KILL, TERM, HUP) keeps
every final it showed, recoverable with ``captioner sessions`` / ``export``, and leaves no
``captioner serve`` behind (before: the engine outlived the app in 30 of 30 runs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.rig_helpers import VirtualDevices
from tests.e2e.test_app_screenshot import finals, recording_from
from tests.lifecycle import (
    assert_no_engine_survives,
    assert_recovered,
    reap,
    signal_and_wait,
    speech_wav,
    wait_for,
)

pytestmark = pytest.mark.rig


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
def test_app_killed_by_any_signal_keeps_what_it_showed(
        sig: signal.Signals, virtual_devices: VirtualDevices, tmp_path: Path) -> None:
    assert os.environ.get("DISPLAY"), "the rig's X display is not set (source $RIG/env)"
    config = tmp_path / "config" / "captioner"
    config.mkdir(parents=True)
    (config / "captioner.conf").write_text(
        f"[session]\nprovider=local\nsource=mic\nmic_device={virtual_devices.mic_id}\n")
    env = {"QT_QPA_PLATFORM": "xcb", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "CAPTIONER_DATA_DIR": str(tmp_path / "data"),
           "CAPTIONER_LOG_DIR": str(tmp_path / "log")}
    wav = speech_wav(tmp_path / "speech.wav")
    out = open(tmp_path / "app.out", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "captioner", "gui", "--start"], cwd=REPO,
                            env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    out.close()
    player: subprocess.Popen[bytes] | None = None
    try:
        wait_for("the app to record from the virtual microphone",
                 lambda: recording_from(virtual_devices.mic_source), 60)
        player = subprocess.Popen(["paplay", f"--device={virtual_devices.mic_sink}", str(wav)])
        shown = wait_for("two finals", lambda: (lambda f: f if len(f) >= 2 else None)(
            finals(tmp_path / "data")), 90, 0.2)
        code = signal_and_wait(proc, sig, 15)  # the app's own deadline is 5 s
    finally:
        if player is not None:
            player.terminate()
            player.wait(10)
        reap(proc)
    log = (tmp_path / "app.out").read_text()
    assert "Traceback" not in log
    assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 0), log
    assert_no_engine_survives(proc.pid)
    assert_recovered(shown, env)
