"""Export a transcript in a format chosen by name, to a string or a file.

The per-format writers are pure (:mod:`.txt`, :mod:`.srt`, :mod:`.vtt`,
:mod:`.jsonfile`); :func:`export` dispatches on a format name;
:func:`export_file` picks the format from a file's extension and writes it with
:func:`captioner.transcript.files.write_atomic`, so an existing file is either
fully replaced or left as it was.

Live translations: TXT and JSON carry them inline; caption files (SRT, WebVTT)
hold one language each, so :func:`export_files` writes ``talk.srt`` and one
``talk.<language>.srt`` per translated language; ``export(..., language="es")``
renders the Spanish track alone in any format.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from captioner.transcript.files import ExportError, describe_os_error, write_atomic
from captioner.transcript.jsonfile import to_json
from captioner.transcript.model import Gap, Segment, Transcript, Translation, translation_segments
from captioner.transcript.srt import to_srt
from captioner.transcript.txt import to_txt
from captioner.transcript.vtt import to_vtt

FORMATS = ("txt", "srt", "vtt", "json")
CAPTION_FORMATS = ("srt", "vtt")  # one language per file

__all__ = [
    "FORMATS",
    "ExportError",
    "describe_os_error",
    "export",
    "export_file",
    "export_files",
    "languages",
    "normalize_format",
    "translated_path",
    "write_atomic",
]


def _unpack(source: Any) -> tuple[list[Segment], list[Gap], dict[str, Any], list[Translation]]:
    """Segments, gaps, meta and translations from a Transcript, a session record or segments."""
    if isinstance(source, Transcript):
        return list(source.finals), list(source.gaps), {}, list(source.translations)
    if hasattr(source, "segments"):
        meta = dict(getattr(source, "meta", {}) or {})
        meta.pop("version", None)  # the journal's format version, not the export's
        return (list(source.segments), list(getattr(source, "gaps", ())), meta,
                list(getattr(source, "translations", ())))
    return [s for s in source if s.is_final], [], {}, []


def languages(transcript_or_record: Any) -> list[str]:
    """The languages it has live translations in, in order of first appearance."""
    return list(dict.fromkeys(t.language for t in _unpack(transcript_or_record)[3]))


def translated_path(path: str | os.PathLike[str], language: str) -> Path:
    """``talk.srt`` → ``talk.es.srt``."""
    target = Path(path)
    return target.with_name(f"{target.stem}.{language}{target.suffix}")


def normalize_format(fmt: str) -> str:
    """``"SRT"``, ``".srt"`` → ``"srt"``.

    Raises:
        ValueError: not one of :data:`FORMATS`.
    """
    name = fmt.strip().lower().lstrip(".")
    if name not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return name


def export(
    transcript_or_segments: Any,
    fmt: str,
    *,
    gaps: Iterable[Gap] | None = None,
    meta: Mapping[str, Any] | None = None,
    timestamps: bool = False,
    labels: bool = True,
    language: str | None = None,
) -> str:
    """Render a transcript in a format.

    Args:
        transcript_or_segments: a :class:`Transcript` (its finals and gaps), a
            :class:`captioner.transcript.store.SessionRecord` (segments, gaps, meta) or
            an iterable of segments (finals only are used).
        fmt: one of :data:`FORMATS` (case and a leading dot ignored).
        gaps: overrides the gaps taken from the transcript.
        meta: for JSON; merged over the record's meta.
        timestamps: for TXT.
        labels: for TXT, SRT and WebVTT.
        language: render this language's live translations instead of the
            speech (``"es"``); None for the speech with translations inline
            (TXT, JSON).

    Raises:
        ValueError: unknown format.
    """
    name = normalize_format(fmt)
    segs, gap_list, meta_in, trs = _unpack(transcript_or_segments)
    if gaps is not None:
        gap_list = list(gaps)
    if language is not None:
        segs = list(translation_segments(trs, language))
        trs = []
        meta_in = {**meta_in, "translated_from": meta_in.get("language"), "language": language}
    if name == "txt":
        return to_txt(segs, gap_list, timestamps=timestamps, labels=labels, translations=trs)
    if name == "srt":
        return to_srt(segs, gap_list, labels=labels)
    if name == "vtt":
        return to_vtt(segs, gap_list, labels=labels)
    merged = {**meta_in, **(meta or {})}
    if language is not None:
        merged["language"] = language
    return to_json(segs, gap_list, merged, translations=trs)


def export_file(
    transcript_or_segments: Any, path: str | os.PathLike[str], fmt: str | None = None, **kwargs: Any
) -> Path:
    """Render and write atomically; the format defaults to the file's extension.

    Raises:
        ValueError: unknown format.
        ExportError: the file could not be written (message for the user).
    """
    target = Path(path)
    text = export(transcript_or_segments, fmt or target.suffix, **kwargs)
    write_atomic(target, text)
    return target


def export_files(transcript_or_segments: Any, path: str | os.PathLike[str],
                 fmt: str | None = None, **kwargs: Any) -> list[Path]:
    """:func:`export_file`, plus for SRT/WebVTT one file per translated language.

    Returns:
        The files written: the speech's first, then ``talk.<language>.srt`` ones.

    Raises:
        ValueError: unknown format.
        ExportError: a file could not be written (message for the user).
    """
    target = Path(path)
    name = normalize_format(fmt or target.suffix)
    written = [export_file(transcript_or_segments, target, name, **kwargs)]
    if name in CAPTION_FORMATS:
        for language in languages(transcript_or_segments):
            written.append(export_file(transcript_or_segments, translated_path(target, language),
                                       name, language=language, **kwargs))
    return written
