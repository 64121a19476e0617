"""The journal of the session being captioned: append-only, crash-safe JSON Lines.

One file per session, ``<id>.jsonl`` in :func:`.codec.default_dir`, private to the
user (0600). The first line is a ``session`` header (``version``, ``id``,
``started_at``, ``provider``, ``language``, ``sources`` and any other meta),
then one ``final`` line per final segment, one ``gap`` line per gap and one
``translation`` line per final live translation, in the order they happened,
and an ``end`` line when the session closes normally (with ``duration_ms`` and
``word_count``, so listing sessions is cheap).

Reading saved sessions back (history, recovery) is in :mod:`.store`.

Durability: the caller appends a final *before* showing it. Each line goes to
the kernel in a single ``os.write`` of the whole line, so it is in the OS page
cache when :meth:`Journal.append_final` returns: a crashed or killed process
loses nothing it showed. ``fsync`` runs from the caller's thread when at least
:data:`FSYNC_INTERVAL_S` has passed since the last one, and on
:meth:`Journal.sync`, which the app's 1 s timer calls; only a power loss or an
OS crash can lose the last second.

Failures never reach the caller: on a full disk, an unwritable folder or an
I/O error the lines wait in a bounded in-memory backlog, :attr:`Journal.healthy`
turns False and :attr:`Journal.last_error` says what is wrong in words for the
user; every later append or sync retries, and once the disk accepts writes
again the backlog is written in order. A line cut short by a partial write is
completed before anything else is written.

While a journal is open its file holds an exclusive ``flock`` (where the OS
has one), so other app instances see it as live and neither recover nor prune
it; a killed process's lock goes with it.
"""

from __future__ import annotations

import collections
import errno
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from captioner.transcript.codec import (
    SUFFIX,
    VERSION,
    encode_record,
    gap_to_dict,
    new_session_id,
    now_iso,
    resolve_folder,
    segment_to_dict,
    translation_to_dict,
)
from captioner.transcript.files import describe_os_error, fsync_dir
from captioner.transcript.model import Gap, Segment, Translation

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

FSYNC_INTERVAL_S = 1.0
MAX_BACKLOG_BYTES = 32 * 1024 * 1024
_REOPEN_ERRNOS = {errno.EBADF, errno.ENODEV, errno.ENXIO, getattr(errno, "ESTALE", errno.EBADF)}


def error_message(exc: OSError, folder: Path) -> str:
    """What to tell the user when the journal can't be written."""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return (
            "Can't save the transcript: the disk is full. "
            "Captioning continues; free some space and it will be saved."
        )
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"Can't save the transcript: the folder {folder} is not writable "
            f"({describe_os_error(exc)}). Captioning continues; make it writable "
            "and the transcript will be saved."
        )
    if code in (errno.ENOENT, errno.ENOTDIR, errno.EEXIST):
        return (
            f"Can't save the transcript: the folder {folder} can't be created. "
            "Captioning continues; export the transcript to keep it."
        )
    return (
        f"Can't save the transcript: {describe_os_error(exc)}. Captioning continues; "
        "it will be saved if the disk recovers. Export the transcript to keep it."
    )


_DROPPED_MESSAGE = (
    "Part of the transcript could not be saved because the disk stayed unavailable "
    "too long. Captioning continues; export the transcript to keep all of it."
)


def _lock(fd: int) -> None:
    if fcntl is None:  # pragma: no cover
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        log.debug("could not lock journal: %s", exc)


def is_live(path: str | os.PathLike[str]) -> bool:
    """Whether a running journal (in any process) holds the session file open."""
    if fcntl is None:  # pragma: no cover
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # also drops our shared lock
    return False


class Journal:
    """An open session log. Make one with :meth:`create`.

    Thread-safe: appends may come from the session thread while the GUI's
    timer calls :meth:`sync`. # NB: fsync runs under the lock, so a slow disk
    briefly delays an append made at the same moment.

    Attributes:
        id: the session id (also the file's stem).
        path: the ``.jsonl`` file.
        header: the header record written first.
    """

    def __init__(
        self,
        path: Path,
        header: dict[str, Any],
        *,
        clock: Callable[[], float] = time.monotonic,
        fsync_interval_s: float = FSYNC_INTERVAL_S,
        max_backlog_bytes: int = MAX_BACKLOG_BYTES,
    ) -> None:
        self.path = path
        self.id: str = header["id"]
        self.header = header
        self._clock = clock
        self._fsync_interval_s = fsync_interval_s
        self._max_backlog_bytes = max_backlog_bytes
        self._fd: int | None = None
        self._existed = False  # the file was created, so reopen without O_EXCL
        self._backlog: collections.deque[bytes | memoryview] = collections.deque()
        self._backlog_bytes = 0
        self._dirty = False
        self._last_fsync_s = clock()
        self._error: str | None = None
        self._dropped_lines = 0
        self._closed = False
        self._finals = 0
        self._gaps = 0
        self._word_count = 0
        self._duration_ms = 0
        self._lock = threading.Lock()

    # -- creation ------------------------------------------------------------

    @classmethod
    def create(
        cls,
        folder: str | os.PathLike[str] | None = None,
        meta: Mapping[str, Any] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        fsync_interval_s: float = FSYNC_INTERVAL_S,
        max_backlog_bytes: int = MAX_BACKLOG_BYTES,
    ) -> Journal:
        """Start a session log and write its header.

        Never raises for I/O: if the folder can't be created or written, the
        journal starts unhealthy, with the header in its backlog, and keeps
        retrying.

        Args:
            folder: the sessions folder; :func:`.codec.default_dir` if None.
            meta: ``provider``, ``language``, ``sources`` and anything else to
                keep in the header (``started_at`` defaults to now).
            clock: monotonic seconds, for fsync batching (tests pass a fake).
            fsync_interval_s: the longest time between fsyncs on append.
            max_backlog_bytes: how much unwritten data to keep in memory.
        """
        folder = resolve_folder(folder)
        meta = dict(meta or {})
        for _ in range(10):
            session_id = new_session_id()
            if not (folder / f"{session_id}{SUFFIX}").exists():
                break
        header: dict[str, Any] = {
            "type": "session",
            "version": VERSION,
            "id": session_id,
            "started_at": meta.pop("started_at", None) or now_iso(),
            "provider": meta.pop("provider", None),
            "language": meta.pop("language", None),
            "sources": list(meta.pop("sources", None) or []),
        }
        for key, value in meta.items():
            header.setdefault(key, value)
        journal = cls(
            folder / f"{session_id}{SUFFIX}",
            header,
            clock=clock,
            fsync_interval_s=fsync_interval_s,
            max_backlog_bytes=max_backlog_bytes,
        )
        with journal._lock:
            journal._enqueue(encode_record(header))
            if journal._drain():
                journal._fsync(force=True)
                fsync_dir(folder)
        log.info("journal %s started in %s", session_id, folder)
        return journal

    # -- state ---------------------------------------------------------------

    @property
    def dir(self) -> Path:
        return self.path.parent

    @property
    def healthy(self) -> bool:
        """True while everything appended is written (to the OS, at least)."""
        return self._error is None and self._dropped_lines == 0

    @property
    def last_error(self) -> str:
        """A message for the user when not :attr:`healthy`, else ``""``."""
        if self._error:
            return self._error
        return _DROPPED_MESSAGE if self._dropped_lines else ""

    @property
    def pending_lines(self) -> int:
        """Lines waiting in memory for the disk."""
        return len(self._backlog)

    @property
    def dropped_lines(self) -> int:
        """Lines not kept because the backlog was full."""
        return self._dropped_lines

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def word_count(self) -> int:
        return self._word_count

    # -- writing -------------------------------------------------------------

    def append_final(self, segment: Segment) -> bool:
        """Log a final segment; call it before showing the segment.

        Returns:
            True if the line reached the OS; False if it waits in the backlog
            (see :attr:`last_error`). Never raises.
        """
        self._finals += 1
        self._word_count += len(segment.text.split())
        self._duration_ms = max(self._duration_ms, segment.end_ms)
        return self._append({"type": "final", **segment_to_dict(segment)})

    def append_gap(self, gap: Gap) -> bool:
        """Log a stretch of audio that was not captioned. Never raises."""
        self._gaps += 1
        self._duration_ms = max(self._duration_ms, gap.end_ms)
        return self._append({"type": "gap", **gap_to_dict(gap)})

    def append_translation(self, translation: Translation) -> bool:
        """Log a final live translation; call it before showing it. Never raises."""
        return self._append({"type": "translation", **translation_to_dict(translation)})

    def sync(self) -> bool:
        """Retry the backlog and fsync whatever was written; for the app's 1 s timer.

        Returns:
            :attr:`healthy`. Never raises.
        """
        with self._lock:
            if self._drain():
                self._fsync(force=True)
            if self._closed and not self._backlog:
                self._close_fd()
        return self.healthy

    def close(self) -> bool:
        """Write the ``end`` line, fsync and close.

        If lines are still unwritten the file stays open and :meth:`sync`
        keeps retrying them. Returns whether everything is on disk.
        """
        with self._lock:
            if not self._closed:
                self._closed = True
                self._enqueue(
                    encode_record(
                        {
                            "type": "end",
                            "ended_at": now_iso(),
                            "duration_ms": self._duration_ms,
                            "word_count": self._word_count,
                            "finals": self._finals,
                            "gaps": self._gaps,
                        }
                    )
                )
            if self._drain():
                self._fsync(force=True)
            if not self._backlog:
                self._close_fd()
            log.info("journal %s closed (%d finals)", self.id, self._finals)
        return self.healthy and not self._backlog

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _append(self, record: Mapping[str, Any]) -> bool:
        try:
            line = encode_record(record)
        except (TypeError, ValueError) as exc:  # pragma: no cover - default=str covers it
            log.error("journal: can't encode a record: %s", exc)
            return False
        with self._lock:
            if self._closed:
                log.warning("journal %s: append after close ignored", self.id)
                return False
            if not self._enqueue(line):
                return False
            written = self._drain()
            if written:
                self._fsync(force=False)
            return written

    def _enqueue(self, line: bytes) -> bool:
        if self._backlog_bytes + len(line) > self._max_backlog_bytes and self._backlog:
            self._dropped_lines += 1
            if self._dropped_lines == 1:
                log.error("journal %s: backlog full, dropping lines", self.id)
            return False
        self._backlog.append(line)
        self._backlog_bytes += len(line)
        return True

    def _open(self) -> bool:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | (0 if self._existed else os.O_EXCL)
        try:
            self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            self._failed(exc)
            return False
        self._existed = True
        self._fd = fd
        _lock(fd)
        return True

    def _drain(self) -> bool:
        """Write the backlog in order; True when it is empty."""
        # NB: called with self._lock held
        if not self._backlog:
            return True
        if self._fd is None and not self._open():
            return False
        assert self._fd is not None
        while self._backlog:
            data = self._backlog[0]
            try:
                written = os.write(self._fd, data)
            except OSError as exc:
                self._failed(exc)
                return False
            if written <= 0:
                self._failed(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
                return False
            self._dirty = True
            self._backlog_bytes -= written
            if written < len(data):
                # the rest of this line must follow before anything else
                self._backlog[0] = memoryview(data)[written:]
                continue
            self._backlog.popleft()
        self._recovered()
        return True

    def _fsync(self, *, force: bool) -> None:
        # NB: called with self._lock held
        if self._fd is None or not self._dirty:
            return
        now_s = self._clock()
        if not force and now_s - self._last_fsync_s < self._fsync_interval_s:
            return
        try:
            os.fsync(self._fd)
        except OSError as exc:
            self._failed(exc)
            return
        self._dirty = False
        self._last_fsync_s = now_s
        self._recovered()

    def _failed(self, exc: OSError) -> None:
        message = error_message(exc, self.dir)
        if message != self._error:
            log.warning(
                "journal %s: %s; %d lines waiting in memory", self.path, exc, len(self._backlog)
            )
        self._error = message
        if exc.errno in _REOPEN_ERRNOS:
            self._close_fd()

    def _recovered(self) -> None:
        if self._error is not None:
            log.info("journal %s: writing again, backlog saved", self.path)
            self._error = None

    def _close_fd(self) -> None:
        if self._fd is None:
            return
        try:
            os.close(self._fd)  # also releases the flock
        except OSError as exc:
            log.debug("journal close: %s", exc)
        self._fd = None
