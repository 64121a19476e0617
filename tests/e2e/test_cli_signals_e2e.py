"""Killing live captioning from the virtual microphone (``transcribe --source mic``) by any
signal keeps every printed final on disk and leaves no engine running; a clean stop (TERM,
HUP, INT) still writes ``-o`` and exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.rig_helpers import VirtualDevices
from tests.lifecycle import Lines, check_signalled_cli, reap, signal_and_wait, speech_wav

pytestmark = pytest.mark.rig


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speech_wav(tmp_path_factory.mktemp("speech") / "speech.wav")


@pytest.fixture
def player(virtual_devices: VirtualDevices, wav: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_live_cli_killed_by_any_signal_keeps_the_printed_finals(
        sig: signal.Signals, virtual_devices: VirtualDevices, wav: Path,
        player: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    env = {"CAPTIONER_DATA_DIR": str(tmp_path / "data")}
    out = tmp_path / "live.txt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "captioner", "-v", "transcribe", "--source", "mic",
         "--device", virtual_devices.mic_id, "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        cwd=REPO, env={**os.environ, **env})
    stdout, stderr = Lines(proc.stdout), Lines(proc.stderr)  # type: ignore[arg-type]
    try:
        stderr.wait_for("capturing mic from", 30)
        player.append(subprocess.Popen(["paplay", f"--device={virtual_devices.mic_sink}",
                                        str(wav)]))
        stdout.wait_lines(2, 90)
        code = signal_and_wait(proc, sig)
    finally:
        reap(proc)
    check_signalled_cli(sig, code, 0, stdout, stderr, proc.pid, env, out)
