"""The journal of the session being captioned: append-only, crash-safe JSON Lines.

One file per session, ``<id>.jsonl`` in :func:`.codec.default_dir`, private to the
user (0600). The first line is a ``session`` header (``version``, ``id``,
``started_at``, ``provider``, ``language``, ``sources`` and any other meta),
then one ``final`` line per final segment, one ``gap`` line per gap and one
``translation`` line per final live translation, in the order they happened,
a ``provider`` line when another provider took over (the offline engine as a
fallback or standing in while the cloud reconnected; :meth:`Journal.note_provider`),
and an ``end`` line when the session closes normally (with ``duration_ms``,
``word_count`` and the ``providers`` used, so listing sessions is cheap).

Reading saved sessions back (history, recovery) is in :mod:`.store`.

Threads: appending never touches the disk. :meth:`Journal.append_final` puts
the encoded line in a bounded in-memory backlog and wakes the journal's
*writer* thread, which hands each line to the kernel in one ``os.write``
(milliseconds later, so a killed process loses nothing it showed). A separate
*syncer* thread fsyncs a duplicate of the file descriptor at most every
:data:`FSYNC_INTERVAL_S` and at least that soon after a write, so a slow
``fsync`` (a network or failing disk) never delays a write, an append, the
sockets' loop or the GUI: only a power loss or an OS crash can lose the last
second. No lock is ever held across I/O.

Failures never reach the caller: on a full disk, an unwritable folder or an
I/O error the lines wait in the backlog, :attr:`Journal.healthy` turns False
and :attr:`Journal.last_error` says what is wrong in words for the user; the
writer retries every second (and on :meth:`Journal.sync`), and once the disk
accepts writes again the backlog is written in order. A line cut short by a
partial write is completed before anything else is written.

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
RETRY_INTERVAL_S = 1.0
CLOSE_WAIT_S = 2.0
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


def overlay_message(exc: OSError) -> str:
    """The same problem in a few words for the overlay's status line: what happened,
    what to do (the control window's banner has the long form)."""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "Disk full: transcript not saved yet, free some space"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "Sessions folder not writable: transcript not saved yet, make it writable"
    if code in (errno.ENOENT, errno.ENOTDIR, errno.EEXIST):
        return "Sessions folder missing: transcript not saved, export it to keep it"
    return "Can't save the transcript: export it to keep it"


_DROPPED_OVERLAY = "Part of the transcript was not saved: export it to keep it"
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


def _unlock(fd: int) -> None:
    if fcntl is None:  # pragma: no cover
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError as exc:
        log.debug("could not unlock journal: %s", exc)


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

    Thread-safe: appends may come from any thread (the stream's loop, the
    CLI); the GUI's timer calls :meth:`sync`. None of them waits on the disk.

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
        retry_interval_s: float = RETRY_INTERVAL_S,
        max_backlog_bytes: int = MAX_BACKLOG_BYTES,
    ) -> None:
        self.path = path
        self.id: str = header["id"]
        self.header = header
        self._clock = clock
        self._fsync_interval_s = fsync_interval_s
        self._retry_interval_s = retry_interval_s
        self._max_backlog_bytes = max_backlog_bytes
        self._fd: int | None = None
        self._existed = False  # the file was created, so reopen without O_EXCL
        self._backlog: collections.deque[bytes | memoryview] = collections.deque()
        self._backlog_bytes = 0
        self._dirty = False  # written since the last fsync began
        self._need_dir_sync = True
        self._last_fsync_s = clock()
        self._error: str | None = None
        self._error_short = ""
        self._dropped_lines = 0
        self._dropping = False
        self._appended_seq = 0  # lines accepted, header included
        self._written_seq = 0  # lines wholly handed to the OS
        self._written_listeners: list[Callable[[], None]] = []
        self._closed = False
        self._retry_now = False
        self._attempts = 0  # drains the writer has finished
        self._writer_done = False
        self._finished = False
        self._finals = 0
        self._gaps = 0
        self._word_count = 0
        self._duration_ms = 0
        self._providers: list[dict[str, str]] = [
            {"provider": str(header.get("provider") or ""), "role": ""}]
        # NB: _lock guards the fields above and is never held across I/O; _fd_lock is
        # held only to open, close or dup the descriptor (never across write or fsync)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._fd_lock = threading.Lock()
        self._writer = threading.Thread(target=self._writer_main, daemon=True,
                                        name=f"journal-writer-{self.id}")
        self._syncer = threading.Thread(target=self._syncer_main, daemon=True,
                                        name=f"journal-syncer-{self.id}")

    # -- creation ------------------------------------------------------------

    @classmethod
    def create(
        cls,
        folder: str | os.PathLike[str] | None = None,
        meta: Mapping[str, Any] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        fsync_interval_s: float = FSYNC_INTERVAL_S,
        retry_interval_s: float = RETRY_INTERVAL_S,
        max_backlog_bytes: int = MAX_BACKLOG_BYTES,
    ) -> Journal:
        """Start a session log: write its header (not yet fsynced) and start its threads.

        Never raises for I/O: if the folder can't be created or written, the
        journal starts unhealthy, with the header in its backlog, and keeps
        retrying.

        Args:
            folder: the sessions folder; :func:`.codec.default_dir` if None.
            meta: ``provider``, ``language``, ``sources`` and anything else to
                keep in the header (``started_at`` defaults to now).
            clock: monotonic seconds, for fsync batching.
            fsync_interval_s: the longest time from a write to its fsync, and
                the shortest between two fsyncs.
            retry_interval_s: how often a failed write is retried.
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
            retry_interval_s=retry_interval_s,
            max_backlog_bytes=max_backlog_bytes,
        )
        journal._enqueue(encode_record(header))
        journal._drain()  # once, here: the caller learns at once if the folder is unusable
        journal._writer.start()
        journal._syncer.start()
        log.info("journal %s started in %s", session_id, folder)
        return journal

    # -- state ---------------------------------------------------------------

    @property
    def dir(self) -> Path:
        return self.path.parent

    @property
    def healthy(self) -> bool:
        """True while everything appended is written or on its way (no error, nothing dropped)."""
        return self._error is None and self._dropped_lines == 0

    @property
    def last_error(self) -> str:
        """A message for the user when not :attr:`healthy`, else ``""``."""
        if self._error:
            return self._error
        return _DROPPED_MESSAGE if self._dropped_lines else ""

    @property
    def last_error_short(self) -> str:
        """:attr:`last_error` in a few words for the overlay, else ``""``."""
        if self._error:
            return self._error_short
        return _DROPPED_OVERLAY if self._dropped_lines else ""

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

    @property
    def appended_seq(self) -> int:
        """How many lines were accepted so far (the header is line 1)."""
        return self._appended_seq

    @property
    def written_seq(self) -> int:
        """How many of them reached the OS, in order."""
        return self._written_seq

    def add_written_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (on the writer thread) whenever lines were written."""
        self._written_listeners.append(callback)

    # -- writing -------------------------------------------------------------

    def append_final(self, segment: Segment) -> bool:
        """Log a final segment; call it before showing the segment. Never blocks on the disk.

        Returns:
            True if the line was accepted and the journal is healthy; False if
            it was refused (closed, backlog full) or the disk is failing (see
            :attr:`last_error`). Never raises.
        """
        with self._lock:
            if not self._closed:
                self._finals += 1
                self._word_count += len(segment.text.split())
                self._duration_ms = max(self._duration_ms, segment.end_ms)
        return self._append({"type": "final", **segment_to_dict(segment)})

    def append_gap(self, gap: Gap) -> bool:
        """Log a stretch of audio that was not captioned. Never raises or blocks."""
        with self._lock:
            if not self._closed:
                self._gaps += 1
                self._duration_ms = max(self._duration_ms, gap.end_ms)
        return self._append({"type": "gap", **gap_to_dict(gap)})

    def append_translation(self, translation: Translation) -> bool:
        """Log a final live translation; call it before showing it. Never raises."""
        return self._append({"type": "translation", **translation_to_dict(translation)})

    def note_provider(self, provider: str, role: str = "") -> bool:
        """Log that ``provider`` captions from now on (``role``: "fallback", "standby", or ""
        for the user's choice); once per provider and role. Never raises or blocks.

        Returns:
            True if it was new and logged.
        """
        entry = {"provider": provider, "role": role}
        with self._lock:
            if self._closed or entry in self._providers:
                return False
            self._providers.append(entry)
        return self._append({"type": "provider", **entry, "at_ms": self._duration_ms})

    @property
    def providers(self) -> list[dict[str, str]]:
        """The providers used so far, the header's first."""
        with self._lock:
            return [dict(p) for p in self._providers]

    def sync(self) -> bool:
        """Ask for a retry of the backlog now; for the app's 1 s timer. Never blocks.

        Returns:
            :attr:`healthy`.
        """
        with self._lock:
            if self._backlog:
                self._retry_now = True
                self._changed.notify_all()
        return self.healthy

    def flush(self, timeout_s: float = CLOSE_WAIT_S) -> bool:
        """Wait until every line appended so far reached the OS (not fsync), or a write failed.

        Returns:
            True if the backlog is empty.
        """
        with self._lock:
            start = self._attempts
            self._changed.wait_for(
                lambda: not self._backlog
                or (self._error is not None and not self._retry_now and self._attempts > start),
                timeout_s,
            )
            return not self._backlog

    def close(self, timeout_s: float = CLOSE_WAIT_S) -> bool:
        """Write the ``end`` line; wait up to ``timeout_s`` for the backlog to reach the OS.

        The last fsync follows in the background (it never holds up the
        caller). If lines are still unwritten after ``timeout_s`` (a full
        disk) the writer keeps retrying. Returns whether everything appended
        was written.
        """
        with self._lock:
            if not self._closed:
                self._closed = True
                end = {
                    "type": "end",
                    "ended_at": now_iso(),
                    "duration_ms": self._duration_ms,
                    "word_count": self._word_count,
                    "finals": self._finals,
                    "gaps": self._gaps,
                }
                if len(self._providers) > 1:
                    end["providers"] = self._providers
                self._enqueue_locked(encode_record(end))
                self._retry_now = True
                self._changed.notify_all()
                log.info("journal %s closing (%d finals)", self.id, self._finals)
            if self._writer.is_alive():
                self._changed.wait_for(lambda: self._writer_done, timeout_s)
            return self.healthy and not self._backlog

    def wait_closed(self, timeout_s: float = CLOSE_WAIT_S) -> bool:
        """After :meth:`close`: wait for the last fsync and the file to be closed."""
        with self._lock:
            return self._changed.wait_for(lambda: self._finished, timeout_s)

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
            if not self._enqueue_locked(line):
                return False
            self._changed.notify_all()
            return self.healthy

    def _enqueue(self, line: bytes) -> bool:
        with self._lock:
            return self._enqueue_locked(line)

    def _enqueue_locked(self, line: bytes) -> bool:
        full = self._backlog_bytes + len(line) > self._max_backlog_bytes
        # once dropping, keep dropping until the backlog is written: a hole, not holes
        if self._backlog and (full or self._dropping):
            self._dropping = True
            self._dropped_lines += 1
            if self._dropped_lines == 1:
                log.error("journal %s: backlog full, dropping lines", self.id)
            return False
        self._backlog.append(line)
        self._backlog_bytes += len(line)
        self._appended_seq += 1
        return True

    # -- the writer thread -----------------------------------------------------

    def _writer_main(self) -> None:
        while True:
            with self._lock:
                while True:
                    if self._backlog and (self._error is None or self._retry_now):
                        break
                    if self._closed and not self._backlog:
                        if self._fd is not None:
                            _unlock(self._fd)  # no longer live; the syncer closes it
                        self._writer_done = True
                        self._changed.notify_all()
                        return
                    timeout = self._retry_interval_s if self._backlog else None
                    if not self._changed.wait(timeout) and self._backlog:
                        self._retry_now = True
                self._retry_now = False
            self._drain()
            with self._lock:
                self._attempts += 1
                self._changed.notify_all()

    def _open(self) -> bool:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | (0 if self._existed else os.O_EXCL)
        try:
            self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            self._failed(exc)
            return False
        self._existed = True
        _lock(fd)
        with self._fd_lock:
            self._fd = fd
        return True

    def _drain(self) -> bool:
        """Write the backlog in order (writer thread only); True when it is empty."""
        if self._fd is None and not self._open():
            return False
        fd = self._fd
        assert fd is not None
        while True:
            with self._lock:
                if not self._backlog:
                    break
                data = self._backlog[0]
            try:
                written = os.write(fd, data)
            except OSError as exc:
                self._failed(exc)
                return False
            if written <= 0:
                self._failed(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
                return False
            with self._lock:
                self._dirty = True
                self._backlog_bytes -= written
                if written < len(data):
                    # the rest of this line must follow before anything else
                    self._backlog[0] = memoryview(data)[written:]
                else:
                    self._backlog.popleft()
                    self._written_seq += 1
                if not self._backlog:
                    self._dropping = False
                self._changed.notify_all()
        self._recovered()
        for callback in self._written_listeners:
            callback()
        return True

    # -- the syncer thread -----------------------------------------------------

    def _syncer_main(self) -> None:
        while True:
            with self._lock:
                while True:
                    done = self._writer_done
                    if self._dirty or self._need_dir_sync and self._fd is not None:
                        wait_s = self._last_fsync_s + self._fsync_interval_s - self._clock()
                        if wait_s <= 0 or done:
                            break
                    elif done:
                        break
                    else:
                        wait_s = None
                    self._changed.wait(wait_s)
                final = done
                self._dirty = False
            self._fsync()
            if final:
                self._close_fd()
                # Logged before close() is released, so it never lands after the caller's last line.
                log.info("journal %s closed", self.id)
                with self._lock:
                    self._finished = True
                    self._changed.notify_all()
                return

    def _fsync(self) -> None:
        with self._fd_lock:
            fd = os.dup(self._fd) if self._fd is not None else None
        if fd is None:
            return
        try:
            os.fsync(fd)
            if self._need_dir_sync:
                self._need_dir_sync = False
                fsync_dir(self.dir)
        except OSError as exc:
            with self._lock:
                self._dirty = True  # try again next time
            # NB: only the writer closes and reopens the descriptor
            self._failed(exc, reopen=False)
        finally:
            os.close(fd)
            with self._lock:
                self._last_fsync_s = self._clock()

    # -- errors ------------------------------------------------------------------

    def _failed(self, exc: OSError, *, reopen: bool = True) -> None:
        message = error_message(exc, self.dir)
        if message != self._error:
            log.warning(
                "journal %s: %s; %d lines waiting in memory", self.path, exc, len(self._backlog)
            )
        self._error_short = overlay_message(exc)
        self._error = message
        if reopen and exc.errno in _REOPEN_ERRNOS:
            self._close_fd()
        for callback in self._written_listeners:
            callback()  # what waited for this write is shown now (WriteThenShow.drain)

    def _recovered(self) -> None:
        if self._error is not None:
            log.info("journal %s: writing again, backlog saved", self.path)
            self._error = None

    def _close_fd(self) -> None:
        with self._fd_lock:
            fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.close(fd)  # also releases the flock
        except OSError as exc:
            log.debug("journal close: %s", exc)


class WriteThenShow:
    """Passes events on in arrival order, each one that was journaled only once it is written.

    So what the user sees is on disk, while neither the stream's loop nor the
    GUI waits for the disk: an event waits (with those after it, to keep their
    order) until the journal's writer has written its line. When the journal
    is failing (full disk) events are passed on at once: captioning goes on and
    the lines wait in the journal's backlog.

    Use it from one thread (the stream's asyncio loop): ``submit`` and the
    deliveries run there; the writer thread only schedules a drain through
    ``call_soon_threadsafe``.

    Args:
        journal: the session's journal.
        deliver: gets each event, in order (loop thread).
        call_soon_threadsafe: the loop's ``call_soon_threadsafe``.
    """

    def __init__(
        self,
        journal: Journal,
        deliver: Callable[[Any], None],
        call_soon_threadsafe: Callable[[Callable[[], None]], object],
    ) -> None:
        self._journal = journal
        self._deliver = deliver
        self._call_soon_threadsafe = call_soon_threadsafe
        self._pending: collections.deque[tuple[int, Any]] = collections.deque()
        self._closed = False
        journal.add_written_listener(self._on_journal_written)

    @property
    def pending(self) -> int:
        """Events waiting for their line (or one before them) to be written."""
        return len(self._pending)

    def submit(self, event: Any, seq: int = 0) -> None:
        """Pass ``event`` on once journal line ``seq`` is written (0: needs no line)."""
        self._pending.append((seq, event))
        self.drain()

    def drain(self) -> None:
        """Deliver what may be delivered now (loop thread)."""
        written = self._journal.written_seq
        failing = not self._journal.healthy
        while self._pending and (self._pending[0][0] <= written or failing or self._closed):
            self._deliver(self._pending.popleft()[1])

    def close(self) -> None:
        """Deliver everything still waiting (the run is over), and no longer wait."""
        self._closed = True
        self.drain()

    def _on_journal_written(self) -> None:
        # NB: writer thread; the loop may already be closed at the end of a run
        if self._closed:
            return
        try:
            self._call_soon_threadsafe(self.drain)
        except RuntimeError:
            log.debug("journal written after the loop closed")
