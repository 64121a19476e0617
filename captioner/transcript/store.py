"""Saved sessions read back from their journals: load, list, recover, delete, prune.

The app's history window, crash recovery at start and ``captioner sessions`` /
``export`` use these. A torn last line (the process died mid-write) is
tolerated; a damaged line in the middle is skipped with a warning. Sessions a
running journal holds open ("live") are never recovered, pruned or deleted.
Anything in the folder that is not a regular file (a FIFO, a device, a folder
named ``*.jsonl``) is skipped without being opened, so it cannot hang a listing.
Deleting or pruning a session deletes its recording and improved transcript
too (:func:`.codec.companion_files`); recovering one completes its recording's
headers.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from captioner.transcript.codec import (
    ID_RE,
    SUFFIX,
    VERSION,
    audio_parts,
    companion_files,
    encode_record,
    gap_from_dict,
    improved_path,
    is_journal_name,
    now_iso,
    resolve_folder,
    segment_from_dict,
    translation_from_dict,
)
from captioner.transcript.journal import Journal, is_live
from captioner.transcript.model import Gap, Segment, Transcript, Translation

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


log = logging.getLogger(__name__)

_TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class SessionRecord:
    """A session read back from its journal.

    Attributes:
        meta: the header (``id``, ``started_at``, ``provider``, ...); ``{}``
            if it was lost.
        segments: the finals in the order they were logged.
        gaps: the gaps in the order they were logged.
        ended: an ``end`` line was found (closed normally or recovered).
        recovered: the end line was added by :func:`mark_recovered`.
        path: the file read.
        skipped_lines: damaged lines that were skipped.
        end: the end record, if any.
        translations: the final live translations (none in older journals).
        switches: ``(provider, role)`` for each ``provider`` line (another provider took
            over: role "fallback", "standby" or "").
    """

    meta: dict[str, Any]
    segments: tuple[Segment, ...]
    gaps: tuple[Gap, ...]
    ended: bool
    recovered: bool = False
    path: Path | None = None
    skipped_lines: int = 0
    end: dict[str, Any] | None = field(default=None, compare=False)
    translations: tuple[Translation, ...] = ()
    switches: tuple[tuple[str, str], ...] = ()

    @property
    def id(self) -> str:
        return str(self.meta.get("id") or (self.path.stem if self.path else ""))

    @property
    def duration_ms(self) -> int:
        return max([s.end_ms for s in self.segments] + [g.end_ms for g in self.gaps] + [0])

    @property
    def word_count(self) -> int:
        return sum(len(s.text.split()) for s in self.segments)

    @property
    def providers(self) -> tuple[tuple[str, str], ...]:
        """Every provider used, the header's first, as ``(provider, role)``."""
        return _providers(self.meta.get("provider"), self.switches)

    def transcript(self) -> Transcript:
        """The session as a :class:`Transcript` (finals in time order, gaps)."""
        t = Transcript()
        for seg in self.segments:
            t.add_final(seg)
        for gap in self.gaps:
            t.add_gap(gap)
        for tr in self.translations:
            t.add_translation(tr)
        return t


@dataclass(frozen=True)
class SessionSummary:
    """One line of the session history.

    Attributes:
        id, path: the session and its file.
        started_at: ISO 8601 with offset, as logged ("" if unknown).
        duration_ms: the end of the last segment or gap.
        provider, language: from the header.
        word_count: words in all finals.
        ended: closed normally or recovered.
        recovered: the end line was added by recovery.
        live: a running journal holds it open right now.
        recorded: its audio was recorded (files beside the journal).
        improved: it has an improved transcript.
        providers: ``(provider, role)`` for every provider used, the chosen one first
            (role "fallback" or "standby" for the offline engine taking over).
    """

    id: str
    path: Path
    started_at: str
    duration_ms: int
    provider: str | None
    word_count: int
    ended: bool
    language: str | None = None
    recovered: bool = False
    live: bool = False
    recorded: bool = False
    improved: bool = False
    providers: tuple[tuple[str, str], ...] = ()


def _providers(first: object, switches: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    out = [(str(first), "")] if first else []
    for entry in switches:
        if entry not in out:
            out.append(entry)
    return tuple(out)


def _switches(entries: object) -> tuple[tuple[str, str], ...]:
    """``(provider, role)`` pairs from an end line's ``providers`` list (tolerant)."""
    if not isinstance(entries, list):
        return ()
    return tuple((str(e.get("provider") or ""), str(e.get("role") or ""))
                 for e in entries if isinstance(e, dict) and e.get("provider"))


def _stem(journal_path: Path) -> str:
    """The session id a journal's file name carries (``<id>.jsonl``)."""
    return journal_path.name[: -len(SUFFIX)]


def _parse(data: bytes, path: Path) -> tuple[list[dict[str, Any]], int]:
    """Records from JSON Lines, skipping damaged lines (a torn last line quietly)."""
    lines = data.split(b"\n")
    complete = data.endswith(b"\n")
    if complete or not lines[-1]:
        lines.pop()
    records: list[dict[str, Any]] = []
    skipped = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not an object")
        except ValueError:
            skipped += 1
            if number == len(lines) and not complete:
                log.info("%s: ignoring a torn last line (the app stopped mid-write)", path)
            else:
                log.warning("%s: skipping damaged line %d", path, number)
            continue
        records.append(record)
    return records, skipped


def is_regular_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a regular file (following symlinks), without opening it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _open_regular(path: Path) -> int:
    """Open for reading without blocking on a FIFO; refuses anything not a regular file.

    Raises:
        OSError: can't be opened, or not a regular file (``EINVAL``).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return fd


def load_session(path: str | os.PathLike[str]) -> SessionRecord:
    """Read a journal, tolerating a torn last line and skipping damaged lines.

    Raises:
        OSError: the file can't be read (or is not a regular file).
    """
    p = Path(path)
    with open(_open_regular(p), "rb") as f:
        data = f.read()
    records, skipped = _parse(data, p)
    meta: dict[str, Any] = {}
    segments: list[Segment] = []
    gaps: list[Gap] = []
    translations: list[Translation] = []
    switches: list[tuple[str, str]] = []
    end: dict[str, Any] | None = None
    for number, rec in enumerate(records, start=1):
        kind = rec.get("type")
        try:
            if kind == "session" and not meta:
                meta = {k: v for k, v in rec.items() if k != "type"}
                if int(meta.get("version", VERSION)) > VERSION:
                    log.warning(
                        "%s: journal version %s is newer; reading what we can", p, meta["version"]
                    )
            elif kind == "final":
                segments.append(segment_from_dict(rec))
            elif kind == "gap":
                gaps.append(gap_from_dict(rec))
            elif kind == "translation":
                translations.append(translation_from_dict(rec))
            elif kind == "provider":
                switches.extend(_switches([rec]))
            elif kind == "end":
                end = rec
            else:
                log.debug("%s: ignoring record type %r", p, kind)
        except (KeyError, TypeError, ValueError) as exc:
            skipped += 1
            log.warning("%s: skipping malformed %s record %d: %s", p, kind, number, exc)
    return SessionRecord(
        meta=meta,
        segments=tuple(segments),
        gaps=tuple(gaps),
        ended=end is not None,
        recovered=bool(end and end.get("recovered")),
        path=p,
        skipped_lines=skipped,
        end=end,
        translations=tuple(translations),
        switches=tuple(switches),
    )


def _head_and_tail(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The first and last records, if each is a complete line (cheap for big files)."""
    with open(_open_regular(path), "rb") as f:
        head_raw = f.readline(_TAIL_BYTES)
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - _TAIL_BYTES))
        tail_raw = f.read()
    tail_lines = tail_raw.split(b"\n")
    tail = tail_lines[-2] if tail_raw.endswith(b"\n") and len(tail_lines) >= 2 else b""

    def parse(raw: bytes) -> dict[str, Any] | None:
        try:
            rec = json.loads(raw.decode("utf-8"))
        except ValueError:
            return None
        return rec if isinstance(rec, dict) else None

    return parse(head_raw), parse(tail)


def summarize(path: str | os.PathLike[str]) -> SessionSummary:
    """A :class:`SessionSummary` for one journal, reading only its ends when it was closed.

    Raises:
        OSError: the file can't be read.
    """
    p = Path(path)
    head, tail = _head_and_tail(p)
    if (
        head is not None
        and head.get("type") == "session"
        and tail is not None
        and tail.get("type") == "end"
        and "word_count" in tail
        and "duration_ms" in tail
    ):
        meta = head
        ended, recovered = True, bool(tail.get("recovered"))
        words, duration_ms = int(tail["word_count"]), int(tail["duration_ms"])
        providers = _providers(meta.get("provider"), _switches(tail.get("providers")))
    else:
        rec = load_session(p)
        meta = rec.meta
        ended, recovered = rec.ended, rec.recovered
        words, duration_ms = rec.word_count, rec.duration_ms
        providers = rec.providers
    return SessionSummary(
        id=str(meta.get("id") or p.stem),
        path=p,
        started_at=str(meta.get("started_at") or ""),
        duration_ms=duration_ms,
        provider=meta.get("provider"),
        word_count=words,
        ended=ended,
        language=meta.get("language"),
        recovered=recovered,
        live=is_live(p),
        recorded=bool(audio_parts(p.parent, _stem(p))),
        improved=improved_path(p.parent, _stem(p)).exists(),
        providers=providers,
    )


def _start_key(summary: SessionSummary) -> tuple[float, str]:
    try:
        started = datetime.fromisoformat(summary.started_at)
        if started.tzinfo is None:
            started = started.astimezone()
        ts = started.timestamp()
    except ValueError:
        try:
            ts = summary.path.stat().st_mtime
        except OSError:
            ts = 0.0
    return ts, summary.id


def list_sessions(folder: str | os.PathLike[str] | None = None) -> list[SessionSummary]:
    """All sessions in a folder, newest first; unreadable files are skipped with a warning."""
    root = resolve_folder(folder)
    if not root.is_dir():
        return []
    out = []
    for path in root.glob(f"*{SUFFIX}"):
        if not is_journal_name(path.name):
            continue
        if not is_regular_file(path):
            log.info("skipping %s: not a regular file", path)
            continue
        try:
            out.append(summarize(path))
        except OSError as exc:
            log.warning("can't read session %s: %s", path, exc)
    out.sort(key=_start_key, reverse=True)
    return out


def find_unfinished(
    folder: str | os.PathLike[str] | None = None,
    *,
    exclude: Iterable[str] = (),
) -> list[SessionSummary]:
    """Sessions without an end line that no running journal holds: crashed ones.

    The app offers to recover them (then calls :func:`mark_recovered`). Empty
    ones (``word_count == 0``) are included; the app may just mark them.

    Args:
        exclude: session ids to leave out (the current session).
    """
    skip = set(exclude)
    return [s for s in list_sessions(folder) if not s.ended and not s.live and s.id not in skip]


def mark_recovered(path: str | os.PathLike[str]) -> bool:
    """Close a crashed session by appending an ``end`` line with ``"recovered": true``.

    A torn last line is first ended with a newline, so it stays a skipped line
    of its own. Its ``ended_at`` is the file's last write time.

    Returns:
        True if the session is now ended (or already was); False if a running
        journal holds it.

    Raises:
        OSError: the file can't be read or written, or the disk is full (then
            nothing is written).
    """
    p = Path(path)
    if is_live(p):
        log.warning("not recovering %s: it is open in a running session", p)
        return False
    rec = load_session(p)
    if rec.ended:
        return True
    mtime = datetime.fromtimestamp(p.stat().st_mtime).astimezone()
    line = encode_record(
        {
            "type": "end",
            "recovered": True,
            "ended_at": mtime.isoformat(timespec="seconds"),
            "recovered_at": now_iso(),
            "duration_ms": rec.duration_ms,
            "word_count": rec.word_count,
            "finals": len(rec.segments),
            "gaps": len(rec.gaps),
            **({"providers": [{"provider": p, "role": r} for p, r in rec.providers]}
               if len(rec.providers) > 1 else {}),
        }
    )
    with open(_open_regular(p), "rb") as f:
        size = f.seek(0, os.SEEK_END)
        if size:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                line = b"\n" + line
    _check_room(p, len(line))
    fd = os.open(p, os.O_WRONLY | os.O_APPEND)
    try:
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    log.info("recovered session %s (%d finals)", rec.id, len(rec.segments))
    _repair_recordings(p)
    return True


def _check_room(path: Path, size_bytes: int) -> None:
    """Refuse to start a write that a full disk would tear (where the OS can tell)."""
    try:
        fs = os.statvfs(path)
    except (AttributeError, OSError):  # Windows, or a filesystem that can't say
        return
    if fs.f_bavail * fs.f_frsize < size_bytes + 4096:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def _repair_recordings(journal_path: Path) -> None:
    """Complete the headers of the recording files a crash left open (best effort)."""
    parts = audio_parts(journal_path.parent, _stem(journal_path))
    if not parts:
        return
    from captioner.audio.recorder import repair
    from captioner.transcript.files import ExportError

    for _source, _start_ms, path in parts:
        try:
            repair(path)
        except ExportError as exc:
            log.warning("can't repair the recording %s: %s", path.name, exc)


def _delete_companions(folder: Path, session_id: str) -> None:
    for path in companion_files(folder, session_id):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _session_path(folder: Path, session_id: str) -> Path:
    if not ID_RE.match(session_id):
        raise ValueError(f"not a session id: {session_id!r}")
    return folder / f"{session_id}{SUFFIX}"


def delete_session(folder: str | os.PathLike[str] | None, session_id: str) -> bool:
    """Delete a session's journal, recording and improved transcript.

    Returns:
        True if deleted; False if it didn't exist or a running journal holds it.

    Raises:
        ValueError: ``session_id`` is not a plain id (no paths).
        OSError: the file can't be deleted.
    """
    path = _session_path(resolve_folder(folder), session_id)
    if is_live(path):
        log.warning("not deleting %s: it is open in a running session", path)
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        _delete_companions(path.parent, session_id)
        return False
    _delete_companions(path.parent, session_id)
    log.info("deleted session %s", session_id)
    return True


def prune(
    folder: str | os.PathLike[str] | None,
    keep_days: float | None,
    *,
    current: str | Journal | None = None,
    now_s: float | None = None,
) -> list[str]:
    """Delete ended sessions last written more than ``keep_days`` ago.

    Never deletes an unfinished session (it may need recovery), one a running
    journal holds, or ``current``.

    Args:
        folder: the sessions folder (None: :func:`default_dir`).
        keep_days: retention; None keeps everything.
        current: the running session (id or journal), kept whatever its age.
        now_s: the time to measure from (``time.time()`` if None).

    Returns:
        The ids deleted.
    """
    if keep_days is None:
        return []
    keep_id = current.id if isinstance(current, Journal) else current
    cutoff_s = (time.time() if now_s is None else now_s) - keep_days * 86400
    deleted = []
    for summary in list_sessions(folder):
        if not summary.ended or summary.live or summary.id == keep_id:
            continue
        try:
            if summary.path.stat().st_mtime >= cutoff_s:
                continue
            summary.path.unlink()
            _delete_companions(summary.path.parent, _stem(summary.path))
        except OSError as exc:
            log.warning("can't prune %s: %s", summary.path, exc)
            continue
        deleted.append(summary.id)
    if deleted:
        log.info("pruned %d sessions older than %s days", len(deleted), keep_days)
    return deleted
