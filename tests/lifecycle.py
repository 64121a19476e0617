"""Helpers for tests that run captioner as a child and kill it: lines of its pipes, its engine
child, what ``captioner sessions`` / ``export`` recover afterwards."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, TypeVar

from tests.conftest import DATA, REPO

T = TypeVar("T")

SPEECH = ("librivox-0870.wav", "librivox-0890.wav", "librivox-0920.wav", "librivox-0930.wav",
          "librivox-0880.wav")


def wait_for(what: str, check: Callable[[], T], timeout_s: float, interval_s: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy (no fixed sleeps)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


class Lines:
    """Lines of a child's pipe, read in a thread, waited for with a timeout."""

    def __init__(self, pipe: IO[str]) -> None:
        self.pipe = pipe
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[str]) -> None:
        for line in pipe:
            self._queue.put(line)

    def wait_for(self, needle: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            self.seen.append(line)
            if needle in line:
                return line

    def wait_lines(self, count: int, timeout_s: float) -> list[str]:
        """Wait until ``count`` lines have been seen; returns them all."""
        deadline = time.monotonic() + timeout_s
        while len(self.seen) < count:
            self.seen.append(self._queue.get(timeout=max(0.01, deadline - time.monotonic())))
        return self.seen

    def rest(self, timeout_s: float = 10) -> str:
        """Everything, once the pipe is closed (the child and its children exited)."""
        self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self.pipe.close()
        while not self._queue.empty():
            self.seen.append(self._queue.get())
        return "".join(self.seen)


def reap(proc: subprocess.Popen[Any]) -> None:
    """Kill ``proc`` if it is still running (a test failed half-way)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def signal_and_wait(proc: subprocess.Popen[Any], sig: int, timeout_s: float = 30) -> int:
    """Send ``sig``; returns the exit code (the child is killed if it outlives ``timeout_s``)."""
    try:
        proc.send_signal(sig)
        return proc.wait(timeout_s)
    finally:
        reap(proc)


def check_signalled_cli(sig: int, code: int, clean_code: int, stdout: Lines, stderr: Lines,
                        pid: int, env: Mapping[str, str], out: Path) -> None:
    """After a signal to ``transcribe -o OUT``: nothing printed is lost, no engine is left,
    and a clean stop (not SIGKILL) exited with ``clean_code`` having written ``out``."""
    printed = stdout.rest().splitlines()
    errors = stderr.rest()
    assert "Traceback" not in errors
    assert_no_engine_survives(pid)
    assert_recovered(printed, env)
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
        return
    assert code == clean_code, errors
    written = out.read_text()
    assert all(line.strip() in written for line in printed if line.strip())


def speech_wav(path: Path) -> Path:
    """About 25 s of real speech (five LibriVox sentences, 1 s apart) as one 16 kHz WAV."""
    from captioner.audio.wavfile import read_audio

    silence = b"\0\0" * 16000
    pcm = silence.join(read_audio(DATA / name) for name in SPEECH) + silence
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm)
    return path


def engine_children(parent_pid: int) -> list[int]:
    """Pids of running ``captioner serve`` processes started by ``parent_pid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"serve" in args and b"--exit-with-parent" in args and state != "Z" and \
                args[args.index(b"--exit-with-parent") + 1] == str(parent_pid).encode():
            pids.append(int(entry))
    return pids


def assert_no_engine_survives(parent_pid: int, timeout_s: float = 10) -> None:
    wait_for(f"the engine of pid {parent_pid} to exit",
             lambda: not engine_children(parent_pid), timeout_s)


def captioner(*args: str, env: Mapping[str, str], timeout_s: float = 60
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "captioner", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout_s,
                          env={**os.environ, **env})


def recovered_text(env: Mapping[str, str]) -> str:
    """The only saved session, exported as text through the command line."""
    listing = captioner("sessions", env=env)
    rows = [line.split()[0] for line in listing.stdout.splitlines()[1:] if line.strip()]
    assert len(rows) == 1, listing.stdout + listing.stderr
    exported = captioner("export", rows[0], env=env)
    assert exported.returncode == 0 and "Traceback" not in exported.stderr, exported.stderr
    return exported.stdout


def assert_recovered(printed: list[str], env: Mapping[str, str]) -> None:
    """At least 99 % of the finals printed are in the recovered session."""
    text = recovered_text(env)
    finals = [line.strip() for line in printed if line.strip()]
    assert finals, "nothing was printed before the signal"
    kept = [line for line in finals if line in text]
    assert len(kept) >= 0.99 * len(finals), f"printed {finals!r}, recovered {text!r}"
