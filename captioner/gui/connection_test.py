"""Preferences' "Test connection": a short session with a provider, no audio, answered in words.

The runner connects with the given key and endpoint and waits until the
vendor accepts the session (Started → LIVE: then it ends the session cleanly)
or refuses it (the close verdict's message: a wrong key, no network, a bad
endpoint). It never retries: one attempt, answered in words.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from captioner.bridge import Runner, SessionThread
from captioner.config import SessionConfig
from captioner.vendors import title as vendor_title

log = logging.getLogger(__name__)

TIMEOUT_S = 30.0


def tester_runner(cfg: SessionConfig, secret: str | None,
                  timeout_s: float = TIMEOUT_S) -> Runner:
    """A SessionThread runner whose result is ``(ok, message)``, for ``cfg`` as typed
    in Preferences (endpoint, language and the vendor's options included)."""

    async def run(_listener: Callable[[Any], None], stop: asyncio.Event) -> tuple[bool, str]:
        from captioner.audio.buffer import AudioBuffer
        from captioner.providers import make_provider
        from captioner.stream import State, StateChanged, VendorStream
        from captioner.transcript import Transcript

        title = vendor_title(cfg.provider)
        audio = AudioBuffer()
        outcome: asyncio.Future[tuple[bool, str]] = asyncio.get_running_loop().create_future()

        def on_event(event: Any) -> None:
            if not isinstance(event, StateChanged) or outcome.done():
                return
            if event.state is State.LIVE:
                outcome.set_result((True, f"Connected to {title}: it accepted the key and "
                                          "is ready to caption."))
                audio.close()  # end the session cleanly
            elif event.state in (State.FAILED, State.RECONNECTING) or (
                    event.state is State.CONNECTING and event.message):
                # NB: the first refusal is the answer; no retries
                outcome.set_result((False, event.message or f"{title} refused the connection."))

        session = VendorStream(lambda: make_provider(cfg), audio, Transcript(), secret=secret,
                          listener=on_event, title=title, open_timeout_s=min(10.0, timeout_s),
                          eos_timeout_s=3.0)
        task = asyncio.create_task(session.run())
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({outcome, stopper, task}, timeout=timeout_s,
                                         return_when=asyncio.FIRST_COMPLETED)
            if outcome.done():
                result = outcome.result()
            elif stopper in done:
                result = (False, "Test cancelled.")
            elif task in done:
                result = (False, session.message or f"{title} ended the session at once.")
            else:
                result = (False, f"No answer from {title} within {timeout_s:.0f} s. Check the "
                                 "network connection and the endpoint.")
            if result[0]:
                try:
                    await asyncio.wait_for(asyncio.shield(task), 5.0)
                except (TimeoutError, Exception):  # noqa: BLE001 - the verdict is already in
                    log.debug("connection test: session did not end cleanly")
            return result
        finally:
            audio.close()
            for t in (task, stopper):
                t.cancel()
            await asyncio.gather(task, stopper, return_exceptions=True)

    return run


class ConnectionTester(QObject):
    """Runs one connection test at a time on its own thread.

    Attributes:
        runner_factory: ``(config, secret) -> Runner`` (tests replace it).

    Signals:
        test_finished(str provider, bool ok, str message)
    """

    test_finished = Signal(str, bool, str)

    def __init__(self, parent: QObject | None = None,
                 runner_factory: Callable[[SessionConfig, str | None], Runner] | None = None,
                 ) -> None:
        super().__init__(parent)
        self.runner_factory = runner_factory or tester_runner
        self._thread: SessionThread | None = None
        self._provider = ""

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, cfg: SessionConfig, secret: str | None) -> bool:
        if self._thread is not None:
            return False
        self._provider = cfg.provider
        thread = SessionThread(self.runner_factory(cfg, secret), self)
        thread.run_finished.connect(self.on_thread_run_finished)
        self._thread = thread
        thread.start()
        return True

    @Slot(object)
    def on_thread_run_finished(self, result: object) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.wait(2000)
            thread.deleteLater()
        if isinstance(result, tuple) and len(result) == 2:
            ok, message = bool(result[0]), str(result[1])
        elif isinstance(result, BaseException):
            ok, message = False, f"The test failed: {result}"
        else:
            ok, message = False, "The test ended without an answer."
        log.info("connection test %s: %s", self._provider, "ok" if ok else "failed")
        self.test_finished.emit(self._provider, ok, message)

    def cancel(self, wait_ms: int = 3000) -> None:
        thread = self._thread
        if thread is not None:
            thread.request_stop()
            thread.wait(wait_ms)
