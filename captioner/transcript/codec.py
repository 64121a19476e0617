"""The on-disk form of a session: where journals live, how they are named, and
segments, words, gaps and translations to and from the JSON-ready dicts that
journal lines and the JSON export are made of.

A session's files share its id as their prefix, in one folder: the journal
``<id>.jsonl``, its recording (one FLAC file per source and captured stretch,
``<id>.<source>.<start_ms>.flac``, see :mod:`captioner.audio.recorder`) and an
improved transcript ``<id>.improved.jsonl`` (the journal's format, see
:mod:`.improved`). Deleting a session deletes all of them.
"""

from __future__ import annotations

import glob
import json
import os
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from captioner.providers.base import Word
from captioner.transcript.model import Gap, Segment, Translation

VERSION = 1
ENV_DATA_DIR = "CAPTIONER_DATA_DIR"
SUFFIX = ".jsonl"
IMPROVED_SUFFIX = ".improved.jsonl"
AUDIO_SUFFIX = ".flac"
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_AUDIO_RE = re.compile(r"^\.(?P<source>mic|system)\.(?P<start_ms>\d{1,12})\.flac$")


def default_dir() -> Path:
    """Where sessions are kept: ``$CAPTIONER_DATA_DIR/sessions`` if set, else
    the platform's user data folder (``~/.local/share/captioner/sessions``)."""
    base = os.environ.get(ENV_DATA_DIR)
    root = Path(base) if base else Path(platformdirs.user_data_dir("captioner", appauthor=False))
    return root / "sessions"


def new_session_id(now: datetime | None = None) -> str:
    """A session id that sorts by start time: ``"20261122-134501-ab12"`` (UTC)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def resolve_folder(folder: str | os.PathLike[str] | None) -> Path:
    return Path(folder) if folder is not None else default_dir()


def is_journal_name(name: str) -> bool:
    """Whether a file name is a session journal (not an improved transcript beside one)."""
    return name.endswith(SUFFIX) and not name.endswith(IMPROVED_SUFFIX)


def improved_path(folder: Path, session_id: str) -> Path:
    """Where a session's improved transcript is kept."""
    return folder / f"{session_id}{IMPROVED_SUFFIX}"


def audio_path(folder: Path, session_id: str, source: str, start_ms: int) -> Path:
    """The recording of ``source`` that begins at ``start_ms`` of session time."""
    return folder / f"{session_id}.{source}.{int(start_ms)}{AUDIO_SUFFIX}"


def audio_parts(folder: Path, session_id: str) -> list[tuple[str, int, Path]]:
    """A session's recordings as ``(source, start_ms, path)``, by source then time."""
    parts = []
    for path in folder.glob(f"{glob.escape(session_id)}.*{AUDIO_SUFFIX}"):
        match = _AUDIO_RE.match(path.name[len(session_id):])
        if match:
            parts.append((match["source"], int(match["start_ms"]), path))
    parts.sort(key=lambda part: (part[0], part[1]))
    return parts


def companion_files(folder: Path, session_id: str) -> list[Path]:
    """Files that belong to a session besides its journal: recordings, improved transcript."""
    files = [path for _source, _start, path in audio_parts(folder, session_id)]
    improved = improved_path(folder, session_id)
    if improved.exists():
        files.append(improved)
    return files


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def encode_record(record: Mapping[str, Any]) -> bytes:
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
    # lone surrogates become \\udcxx escapes, which json.loads reads back as they were
    return (text + "\n").encode("utf-8", errors="backslashreplace")


def word_to_dict(word: Word) -> dict[str, Any]:
    return {
        "text": word.text,
        "start_ms": word.start_ms,
        "end_ms": word.end_ms,
        "confidence": word.confidence,
        "speaker": word.speaker,
    }


def segment_to_dict(seg: Segment) -> dict[str, Any]:
    """A segment as JSON-ready data (the shape used by JSON export and the journal);
    ``language`` only when the provider said which it was."""
    data: dict[str, Any] = {
        "id": seg.id,
        "text": seg.text,
        "start_ms": seg.start_ms,
        "end_ms": seg.end_ms,
        "speaker": seg.speaker,
        "source": seg.source,
        "words": [word_to_dict(w) for w in seg.words],
    }
    if seg.language:
        data["language"] = seg.language
    return data


def segment_from_dict(data: Mapping[str, Any]) -> Segment:
    """Inverse of :func:`segment_to_dict`; the result is final.

    Raises:
        KeyError, TypeError, ValueError: malformed data.
    """
    words = tuple(
        Word(
            text=str(w["text"]),
            start_ms=int(w["start_ms"]),
            end_ms=int(w["end_ms"]),
            confidence=None if w.get("confidence") is None else float(w["confidence"]),
            speaker=w.get("speaker"),
        )
        for w in data.get("words") or ()
    )
    return Segment(
        id=str(data["id"]),
        text=str(data["text"]),
        start_ms=int(data["start_ms"]),
        end_ms=int(data["end_ms"]),
        speaker=data.get("speaker"),
        source=str(data.get("source") or "mic"),
        words=words,
        is_final=True,
        language=str(data["language"]) if data.get("language") else None,
    )


def gap_to_dict(gap: Gap) -> dict[str, Any]:
    return {
        "start_ms": gap.start_ms,
        "end_ms": gap.end_ms,
        "source": gap.source,
        "reason": gap.reason,
    }


def gap_from_dict(data: Mapping[str, Any]) -> Gap:
    return Gap(
        start_ms=int(data["start_ms"]),
        end_ms=int(data["end_ms"]),
        source=str(data.get("source") or "mic"),
        reason=str(data.get("reason") or ""),
    )


def translation_to_dict(tr: Translation) -> dict[str, Any]:
    """A final translation as JSON-ready data (journal ``translation`` lines, JSON export)."""
    return {
        "language": tr.language,
        "text": tr.text,
        "start_ms": tr.start_ms,
        "end_ms": tr.end_ms,
        "source": tr.source,
        "speaker": tr.speaker,
    }


def translation_from_dict(data: Mapping[str, Any]) -> Translation:
    """Inverse of :func:`translation_to_dict`; the result is final.

    Raises:
        KeyError, TypeError, ValueError: malformed data.
    """
    speaker = data.get("speaker")
    return Translation(
        language=str(data["language"]),
        text=str(data["text"]),
        start_ms=int(data["start_ms"]),
        end_ms=int(data["end_ms"]),
        source=str(data.get("source") or "mic"),
        speaker=None if speaker is None else str(speaker),
    )
