"""Killing ``captioner transcribe FILE`` by any signal loses no printed final and leaves no
engine running.

Before the journal, SIGKILL lost 100 % of the printed lines (20 of 20 runs), SIGTERM/SIGHUP
exited at once without writing ``-o``, and the engine child outlived its parent (30 of 30).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, REPO
from tests.lifecycle import (
    Lines,
    assert_no_engine_survives,
    assert_recovered,
    check_signalled_cli,
    reap,
    signal_and_wait,
    speech_wav,
)

FINALS_BEFORE_SIGNAL = 2


def start(wav: Path, out: Path, env: dict[str, str], *extra: str) -> tuple[
        subprocess.Popen[str], Lines, Lines]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "captioner", "transcribe", str(wav), "--realtime", "-o", str(out),
         *extra], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True, env={**os.environ, **env})
    return proc, Lines(proc.stdout), Lines(proc.stderr)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speech_wav(tmp_path_factory.mktemp("speech") / "speech.wav")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_keeps_every_printed_final_and_ends_the_engine(
        sig: signal.Signals, wav: Path, tmp_path: Path) -> None:
    env = {"CAPTIONER_DATA_DIR": str(tmp_path / "data")}
    out = tmp_path / "out.txt"
    proc, stdout, stderr = start(wav, out, env)
    try:
        stdout.wait_lines(FINALS_BEFORE_SIGNAL, 90)
        code = signal_and_wait(proc, sig)
    finally:
        reap(proc)
    # a clean stop finishes the last words, writes -o, exits 128 + the signal (file not done)
    check_signalled_cli(sig, code, 128 + sig, stdout, stderr, proc.pid, env, out)


def test_a_second_signal_quits_at_once_with_the_journal_intact(wav: Path,
                                                                tmp_path: Path) -> None:
    env = {"CAPTIONER_DATA_DIR": str(tmp_path / "data")}
    proc, stdout, stderr = start(wav, tmp_path / "out.txt", env)
    try:
        stdout.wait_lines(1, 90)
        proc.send_signal(signal.SIGTERM)
        stderr.wait_for("stopping", 10)
        code = signal_and_wait(proc, signal.SIGTERM, 10)
    finally:
        reap(proc)
    assert code == 128 + signal.SIGTERM
    assert "aborted" in stderr.rest()
    assert_no_engine_survives(proc.pid)
    assert_recovered(stdout.rest().splitlines(), env)


def test_no_journal_opts_a_file_out(tmp_path: Path) -> None:
    env = {**os.environ, "CAPTIONER_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-m", "captioner", "transcribe",
                             str(DATA / "cmu-cards-001.wav"), "--no-journal"], cwd=REPO,
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert not list((tmp_path / "data").glob("sessions/*.jsonl"))
