"""SessionThread: the asyncio loop that owns the sockets, in a QThread, signalling the GUI.

The GUI makes one per run with a *runner*: a coroutine function
``runner(listener, stop_event)`` that captures audio and runs sessions (the real
one is ``captioner.live.run_live``; tests pass scripted ones). Stream events
arrive on the loop thread through ``listener`` and are re-emitted as Qt signals
carrying the same frozen objects. Commands go the other way with
``call_soon_threadsafe``. NB: signals are emitted from this QThread (a thread Qt
knows), never from PortAudio's or a plain Python thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

from PySide6.QtCore import QThread, Signal

from captioner.stream import GapAdded, Notice, StateChanged, StreamEvent, TranscriptChanged

log = logging.getLogger(__name__)

Runner = Callable[[Callable[[StreamEvent], None], asyncio.Event], Awaitable[object]]


class SessionThread(QThread):
    """Runs one captioning run (one or two sources) on its own asyncio loop.

    Signals:
        transcript_changed(TranscriptChanged): a partial or final arrived.
        state_changed(StateChanged): connecting / live / reconnecting / stopped / failed.
        notice_posted(Notice): something the user should read.
        gap_added(GapAdded): audio that could not be captioned.
        run_finished(object): the runner's result, or the exception it raised.
    """

    transcript_changed = Signal(object)
    state_changed = Signal(object)
    notice_posted = Signal(object)
    gap_added = Signal(object)
    run_finished = Signal(object)

    def __init__(self, runner: Runner, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("SessionThread")
        self._runner = runner
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        # a Stop pressed before the loop exists (Start, Stop at once) must not be lost
        self._stop_lock = threading.Lock()
        self._stop_requested = False

    def _emit(self, event: StreamEvent) -> None:
        if isinstance(event, TranscriptChanged):
            self.transcript_changed.emit(event)
        elif isinstance(event, StateChanged):
            self.state_changed.emit(event)
        elif isinstance(event, Notice):
            self.notice_posted.emit(event)
        elif isinstance(event, GapAdded):
            self.gap_added.emit(event)

    def run(self) -> None:  # QThread entry point
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        with self._stop_lock:
            self._loop, self._stop = loop, stop
            if self._stop_requested:
                stop.set()
        result: object = None
        try:
            result = loop.run_until_complete(self._runner(self._emit, self._stop))
        except Exception as exc:
            log.exception("captioning run failed")
            result = exc
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            with self._stop_lock:
                loop.close()
                self._loop = None
        self.run_finished.emit(result)

    def request_stop(self) -> None:
        """Ask the runner to end cleanly (end-of-stream handshakes, trailing finals)."""
        with self._stop_lock:
            self._stop_requested = True
            loop, stop = self._loop, self._stop
            if loop is not None and stop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(stop.set)

    def call(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the session loop (pause, device switch)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn)
