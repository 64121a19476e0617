"""A session's improved transcript: a second version kept beside the live one.

``<id>.improved.jsonl`` (:func:`.codec.improved_path`) is in the journal's own
format (:mod:`.codec`): a ``session`` header (the live session's meta, with
``provider`` now the one that improved it and ``improved`` saying how and
when), one ``final`` line per segment and an ``end`` line. It is written
atomically (a half-written improvement is never seen) and private (0600), and
read back with :func:`.store.load_session`, so both versions export alike.
The live journal is never changed.

:func:`load_version` picks the version a user gets: the improved one when
there is one, unless the live one is asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from captioner.errors import UserFacingError
from captioner.transcript.codec import (
    SUFFIX,
    VERSION,
    encode_record,
    improved_path,
    now_iso,
    segment_to_dict,
)
from captioner.transcript.files import write_atomic
from captioner.transcript.model import Segment
from captioner.transcript.store import SessionRecord, load_session

log = logging.getLogger(__name__)

VERSIONS = ("improved", "live")


def save_improved(journal_path: Path, segments: Iterable[Segment], live_meta: Mapping[str, Any],
                  improved: Mapping[str, Any]) -> Path:
    """Write (or replace) a session's improved transcript.

    Args:
        journal_path: the session's journal (the file goes beside it).
        segments: the improved finals, in time order.
        live_meta: the live session's header (id, started_at, language, sources, ...).
        improved: how it was made: ``provider`` and any settings; ``created_at``
            is added.

    Raises:
        ExportError: the file can't be written (message for the user).
    """
    session_id = journal_path.name[: -len(SUFFIX)]
    segs = sorted(segments, key=lambda s: (s.start_ms, s.source))
    how = {"created_at": now_iso(), **improved}
    header = {**live_meta, "type": "session", "version": VERSION, "id": session_id,
              "provider": how.get("provider"), "improved": how}
    lines = [encode_record(header)]
    lines += [encode_record({"type": "final", **segment_to_dict(s)}) for s in segs]
    lines.append(encode_record({
        "type": "end", "ended_at": how["created_at"],
        "duration_ms": max([s.end_ms for s in segs] + [0]),
        "word_count": sum(len(s.text.split()) for s in segs),
        "finals": len(segs), "gaps": 0}))
    path = improved_path(journal_path.parent, session_id)
    write_atomic(path, b"".join(lines), new_mode=0o600)
    log.info("saved the improved transcript of %s (%d finals)", session_id, len(segs))
    return path


def has_improved(journal_path: Path) -> bool:
    return improved_path(journal_path.parent, journal_path.name[: -len(SUFFIX)]).exists()


def load_version(journal_path: Path, version: str | None = None) -> SessionRecord:
    """The version of a session to show or export.

    Args:
        journal_path: the session's journal.
        version: ``"improved"``, ``"live"``, or None for the improved one when
            there is one, else the live one.

    Raises:
        UserFacingError: ``"improved"`` was asked for and there is none.
        ValueError: an unknown version.
        OSError: a file can't be read.
    """
    if version not in (None, *VERSIONS):
        raise ValueError(f"version must be one of {', '.join(VERSIONS)}, not {version!r}")
    session_id = journal_path.name[: -len(SUFFIX)]
    path = improved_path(journal_path.parent, session_id)
    if version != "live" and path.exists():
        return load_session(path)
    if version == "improved":
        raise UserFacingError(f"Session {session_id} has no improved transcript yet. "
                              f"Make one with `captioner improve {session_id}`.")
    return load_session(journal_path)


def describe(record: SessionRecord) -> str:
    """Which version a record is, in words: "Improved (Offline engine)" or "Live captions"."""
    from captioner.config import PROVIDER_TITLES

    how = record.meta.get("improved")
    if not isinstance(how, dict):
        return "Live captions"
    provider = str(how.get("provider") or "")
    return f"Improved ({PROVIDER_TITLES.get(provider, provider or '?')})"
