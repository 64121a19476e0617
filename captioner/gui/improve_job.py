"""ImproveJob: "Improve transcript" for a recorded session, off the GUI thread, cancellable.

Runs :func:`captioner.improve.improve_session` on its own asyncio loop in a
QThread and reports with Qt signals emitted from that QThread (NB: never from
a thread Qt doesn't know).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from captioner.config import SessionConfig

log = logging.getLogger(__name__)


class ImproveJob(QThread):
    """Improves one session's transcript.

    Attributes:
        journal_path: the session's journal.
        config: the provider settings.
        endpoint: a batch vendor's API base URL, or None for its own.

    Signals:
        progressed(Progress): how far it is (:class:`captioner.improve.Progress`).
        ended(object): the improved :class:`SessionRecord`, or the exception
            (:class:`captioner.improve.ImproveCancelled` after :meth:`cancel`).
    """

    progressed = Signal(object)
    ended = Signal(object)

    def __init__(self, journal_path: Path, config: SessionConfig, secret: str | None,
                 parent: QObject | None = None, *, endpoint: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ImproveJob")
        self.journal_path = journal_path
        self.config = config
        self._secret = secret
        self.endpoint = endpoint
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cancel: asyncio.Event | None = None
        self._cancel_requested = False

    def run(self) -> None:  # QThread entry point
        from captioner.improve import ImproveCancelled, improve_session

        loop = asyncio.new_event_loop()
        cancel = asyncio.Event()
        self._cancel, self._loop = cancel, loop
        if self._cancel_requested:
            cancel.set()
        result: object
        try:
            result = loop.run_until_complete(improve_session(
                self.journal_path, self.config, self._secret,
                on_progress=self.progressed.emit, cancel=cancel, endpoint=self.endpoint))
        except ImproveCancelled as exc:
            result = exc
        except Exception as exc:  # noqa: BLE001 - shown to the user as the result, and logged
            log.warning("improving %s failed: %s", self.journal_path.name, exc)
            result = exc
        finally:
            self._loop = None
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
        self.ended.emit(result)

    def cancel(self) -> None:
        """Stop as soon as possible; ``ended`` then carries ImproveCancelled."""
        self._cancel_requested = True
        loop, cancel = self._loop, self._cancel
        if loop is not None and cancel is not None:
            try:
                loop.call_soon_threadsafe(cancel.set)
            except RuntimeError:  # the loop has just closed: it is over anyway
                pass
