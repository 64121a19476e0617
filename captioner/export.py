"""Export final segments as plain text, SRT, WebVTT or JSON, and write files atomically.

The ``to_*`` functions are pure: they take segments (and gaps) and return a
string. :func:`export` dispatches on a format name; :func:`export_file` picks
the format from a file's extension and writes it with :func:`write_atomic`, so
an existing file is either fully replaced or left as it was.

Labels: a segment with a vendor speaker id is labelled ``"Speaker N"``,
numbered by first appearance per source (``"S1"``, ``"1"``, ``"A"`` and
``"spk_0"`` are all anonymous ids; Speechmatics' unknown ``"UU"`` counts as no
speaker); a name that is not an anonymous id is kept as it is. A segment
without a speaker is labelled by its source (``"Me"``, ``"Others"``).

Gaps (audio that was never captioned) are a marker line in TXT, a bracketed
cue in SRT (SRT has no comments; broadcast captions show such a cue), a
``NOTE`` block in WebVTT, and a list in JSON. Cue splitting and timing are in
:mod:`captioner.transcript.cues`.

SRT has no escaping: ``-->`` in the text becomes ``->`` so no parser mistakes it
for a timing line; ``<`` and ``&`` are written as they are. WebVTT escapes
``&``, ``<`` and ``>``.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from captioner.transcript import cues as cuelib
from captioner.errors import UserFacingError
from captioner.providers.base import Word
from captioner.transcript import SOURCE_LABELS, Gap, Segment, Transcript

log = logging.getLogger(__name__)

FORMATS = ("txt", "srt", "vtt", "json")
JSON_VERSION = 1

# "S1", "1", "spk_0", "speaker 2", "A", "AB"; Speechmatics' "UU" means unknown
_ANONYMOUS_SPEAKER = re.compile(r"^(?:(?i:s|spk|speaker)[ _-]?)?\d+$|^[A-Z]{1,2}$")
_NO_SPEAKER = {"", "UU", "unknown"}
_ARROWS = re.compile(r"-{2,}>")


class ExportError(UserFacingError):
    """Writing an export failed; ``str()`` is a message for the user.

    Attributes:
        errno: the OS error number, if any.
    """

    def __init__(self, message: str, errno_: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno_


def describe_os_error(exc: OSError) -> str:
    """A short, plain-language reason for an OS error ("the disk is full")."""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return "the disk is full"
    if code == errno.EROFS:
        return "the disk is read-only"
    if code in (errno.EACCES, errno.EPERM):
        return "permission was denied"
    if code in (errno.ENOENT, errno.ENOTDIR):
        return "the folder does not exist"
    if code == errno.EIO:
        return "the disk reported an error"
    if code in (errno.ENODEV, errno.ENXIO, getattr(errno, "ESTALE", -1)):
        return "the disk is no longer available"
    return exc.strerror or str(exc)


# -- labels -------------------------------------------------------------------


class SpeakerNames:
    """Display labels for segments, numbering anonymous speakers by first appearance.

    Speakers are numbered per source: "S1" on the microphone and "S1" on
    system audio come from separate vendor sessions and are different people.
    """

    def __init__(self) -> None:
        self._numbers: dict[tuple[str, str], int] = {}

    def label(self, seg: Segment) -> str:
        speaker = seg.speaker
        if speaker is None:
            speaker = next((w.speaker for w in seg.words if w.speaker), None)
        speaker = _line_text("" if speaker is None else str(speaker))
        if speaker in _NO_SPEAKER:
            return _line_text(SOURCE_LABELS.get(seg.source, seg.source)) or "Unknown"
        if not _ANONYMOUS_SPEAKER.match(speaker):
            return speaker
        key = (seg.source, speaker)
        number = self._numbers.setdefault(key, len(self._numbers) + 1)
        return f"Speaker {number}"


# -- shared helpers -----------------------------------------------------------


def _finals(segments: Iterable[Segment]) -> list[Segment]:
    """Segments with text, in time order (stable for equal starts)."""
    return sorted((s for s in segments if _line_text(s.text)), key=lambda s: s.start_ms)


def _valid_gaps(gaps: Iterable[Gap]) -> list[Gap]:
    return sorted((g for g in gaps if g.end_ms > g.start_ms), key=lambda g: g.start_ms)


def _merge(segments: list[Segment], gaps: list[Gap]) -> list[Segment | Gap]:
    """Segments and gaps in time order; a gap comes before a segment starting with it."""
    items: list[Segment | Gap] = []
    gi = 0
    for seg in segments:
        while gi < len(gaps) and gaps[gi].start_ms <= seg.start_ms:
            items.append(gaps[gi])
            gi += 1
        items.append(seg)
    items.extend(gaps[gi:])
    return items


def _line_text(text: str) -> str:
    return " ".join(cuelib.clean_text(text).split())


def format_duration(ms: int) -> str:
    """Human duration: ``"<1 s"``, ``"12 s"``, ``"3 min 5 s"``, ``"1 h 2 min"``."""
    s = round(ms / 1000)
    if s < 1:
        return "<1 s"
    if s < 60:
        return f"{s} s"
    if s < 3600:
        m, s = divmod(s, 60)
        return f"{m} min {s} s" if s else f"{m} min"
    h, rem = divmod(s, 3600)
    m = rem // 60
    return f"{h} h {m} min" if m else f"{h} h"


def gap_text(gap: Gap, *, with_source: bool = False) -> str:
    """The marker shown for a gap: ``"[… 12 s of audio not captioned …]"``."""
    who = f" ({SOURCE_LABELS.get(gap.source, gap.source)})" if with_source else ""
    return f"[… {format_duration(gap.end_ms - gap.start_ms)} of audio not captioned{who} …]"


def _multi_source(segments: Sequence[Segment], gaps: Sequence[Gap]) -> bool:
    return len({s.source for s in segments} | {g.source for g in gaps}) > 1


def _prefixes(items: Sequence[Segment | Gap], labels: dict[int, str], show: bool) -> dict[int, str]:
    """Which segments (by position) show their label: at each change, and after a gap."""
    out: dict[int, str] = {}
    if not show or len(set(labels.values())) < 2:
        return out
    prev = None
    for i, item in enumerate(items):
        if isinstance(item, Gap):
            prev = None
            continue
        if labels[i] != prev:
            out[i] = labels[i]
        prev = labels[i]
    return out


def _labelled(items: Sequence[Segment | Gap]) -> dict[int, str]:
    names = SpeakerNames()
    return {i: names.label(it) for i, it in enumerate(items) if isinstance(it, Segment)}


def _clock(ms: int, sep: str) -> str:
    ms = max(0, int(ms))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _hms(ms: int) -> str:
    h, rem = divmod(max(0, int(ms)) // 1000, 3600)
    return f"{h:02d}:{rem // 60:02d}:{rem % 60:02d}"


# -- TXT ----------------------------------------------------------------------


def to_txt(
    segments: Iterable[Segment],
    gaps: Iterable[Gap] = (),
    *,
    timestamps: bool = False,
    labels: bool = True,
) -> str:
    """Plain text, one line per final segment.

    Args:
        segments: final segments (any order; sorted by start).
        gaps: gaps, shown as ``[… 12 s of audio not captioned …]`` lines.
        timestamps: prefix each line with ``[hh:mm:ss]`` (the start time).
        labels: when the transcript has more than one label (sources or
            speakers), prefix ``"Me: "`` etc. where the label changes (and
            after a gap), with a blank line before each change.

    Returns:
        The text, ending with a newline (empty if there is nothing).
    """
    segs = _finals(segments)
    gap_list = _valid_gaps(gaps)
    items = _merge(segs, gap_list)
    names = _labelled(items)
    prefixes = _prefixes(items, names, labels)
    multi = _multi_source(segs, gap_list)
    lines: list[str] = []
    for i, item in enumerate(items):
        stamp = f"[{_hms(item.start_ms)}] " if timestamps else ""
        if isinstance(item, Gap):
            if prefixes and lines and lines[-1]:
                lines.append("")  # a paragraph of its own, like a change of speaker
            lines.append(stamp + gap_text(item, with_source=multi))
            continue
        text = _line_text(item.text)
        if i in prefixes:
            if lines and lines[-1]:
                lines.append("")
            text = f"{prefixes[i]}: {text}"
        lines.append(stamp + text)
    return "\n".join(lines) + "\n" if lines else ""


# -- SRT / WebVTT -------------------------------------------------------------


def build_cues(
    segments: Iterable[Segment],
    gaps: Iterable[Gap] = (),
    *,
    text_labels: bool = False,
    voices: bool = False,
    gap_cues: bool = False,
) -> list[cuelib.Cue]:
    """Scheduled cues for the segments (and gap markers).

    Args:
        segments: final segments (any order; sorted by start).
        gaps: gaps; used only with ``gap_cues``.
        text_labels: prefix the text with ``"Me:"`` etc. where the label
            changes (as in :func:`to_txt`).
        voices: set each cue's ``voice`` to its label.
        gap_cues: add a ``[… not captioned …]`` cue for each gap.

    Returns:
        Cues in order, monotonic and non-overlapping.
    """
    segs = _finals(segments)
    gap_list = _valid_gaps(gaps) if gap_cues else []
    items = _merge(segs, gap_list)
    names = _labelled(items)
    prefixes = _prefixes(items, names, text_labels)
    multi = _multi_source(segs, gap_list)
    raw: list[cuelib.Cue] = []
    for i, item in enumerate(items):
        if isinstance(item, Gap):
            raw.append(
                cuelib.text_cue(
                    gap_text(item, with_source=multi), item.start_ms, item.end_ms, is_gap=True
                )
            )
            continue
        prefix = f"{prefixes[i]}:" if i in prefixes else None
        raw.extend(cuelib.segment_cues(item, voice=names[i] if voices else None, prefix=prefix))
    return cuelib.schedule(raw)


def to_srt(
    segments: Iterable[Segment],
    gaps: Iterable[Gap] = (),
    *,
    labels: bool = True,
) -> str:
    """SubRip captions.

    Args:
        segments: final segments.
        gaps: shown as ``[… 12 s of audio not captioned …]`` cues.
        labels: prefix ``"Me:"``/``"Speaker 2:"`` where the speaker changes,
            when there is more than one.

    Returns:
        The SRT text (LF line ends, no BOM).
    """
    blocks = []
    for n, cue in enumerate(build_cues(segments, gaps, text_labels=labels, gap_cues=True), start=1):
        text = "\n".join(_ARROWS.sub("->", line) for line in cue.lines)
        blocks.append(f"{n}\n{_clock(cue.start_ms, ',')} --> {_clock(cue.end_ms, ',')}\n{text}\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _note_text(gap: Gap) -> str:
    where = f"{_clock(gap.start_ms, '.')} to {_clock(gap.end_ms, '.')}"
    who = SOURCE_LABELS.get(gap.source, gap.source)
    reason = _ARROWS.sub("->", _line_text(gap.reason))
    text = f"{format_duration(gap.end_ms - gap.start_ms)} of audio not captioned ({who}, {where})"
    return f"{text}: {reason}" if reason else text


def to_vtt(
    segments: Iterable[Segment],
    gaps: Iterable[Gap] = (),
    *,
    labels: bool = True,
) -> str:
    """WebVTT captions.

    Args:
        segments: final segments.
        gaps: written as ``NOTE`` blocks where they occur.
        labels: start each cue with a voice tag (``<v Me>``, ``<v Speaker 2>``).

    Returns:
        The WebVTT text.
    """
    segs = list(segments)
    gap_list = _valid_gaps(gaps)
    blocks = ["WEBVTT\n"]
    gi = 0
    for cue in build_cues(segs, voices=labels):
        while gi < len(gap_list) and gap_list[gi].start_ms <= cue.start_ms:
            blocks.append(f"NOTE {_note_text(gap_list[gi])}\n")
            gi += 1
        lines = [_vtt_escape(line) for line in cue.lines]
        if cue.voice:
            lines[0] = f"<v {_vtt_escape(cue.voice)}>{lines[0]}"
        blocks.append(
            f"{_clock(cue.start_ms, '.')} --> {_clock(cue.end_ms, '.')}\n" + "\n".join(lines) + "\n"
        )
    blocks.extend(f"NOTE {_note_text(g)}\n" for g in gap_list[gi:])
    return "\n".join(blocks)


# -- JSON ---------------------------------------------------------------------


def word_to_dict(word: Word) -> dict[str, Any]:
    return {
        "text": word.text,
        "start_ms": word.start_ms,
        "end_ms": word.end_ms,
        "confidence": word.confidence,
        "speaker": word.speaker,
    }


def segment_to_dict(seg: Segment) -> dict[str, Any]:
    """A segment as JSON-ready data (the shape used by JSON export and the journal)."""
    return {
        "id": seg.id,
        "text": seg.text,
        "start_ms": seg.start_ms,
        "end_ms": seg.end_ms,
        "speaker": seg.speaker,
        "source": seg.source,
        "words": [word_to_dict(w) for w in seg.words],
    }


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


def to_json(
    segments: Iterable[Segment],
    gaps: Iterable[Gap] = (),
    meta: Mapping[str, Any] | None = None,
) -> str:
    """The whole transcript as versioned JSON (pretty, UTF-8 text, not ASCII-escaped).

    Segments are in time order; each also carries its display ``label``.
    ``meta`` (provider, language, started_at, sources, ...) is copied; if it
    has no ``sources``, they are taken from the segments.
    """
    segs = sorted(segments, key=lambda s: s.start_ms)
    gap_list = sorted(gaps, key=lambda g: g.start_ms)
    names = SpeakerNames()
    meta_out = dict(meta or {})
    meta_out.setdefault("sources", sorted({s.source for s in segs}))
    doc = {
        "version": JSON_VERSION,
        "meta": meta_out,
        "segments": [{**segment_to_dict(s), "label": names.label(s)} for s in segs],
        "gaps": [gap_to_dict(g) for g in gap_list],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def from_json(text: str) -> tuple[list[Segment], list[Gap], dict[str, Any]]:
    """Read :func:`to_json` output back.

    Returns:
        (segments, gaps, meta).

    Raises:
        ValueError: not valid JSON, a newer version, or malformed entries.
    """
    try:
        doc = json.loads(text)
        version = int(doc.get("version", 0))
        if version > JSON_VERSION:
            raise ValueError(
                f"transcript JSON version {version} is newer than this app ({JSON_VERSION})"
            )
        segs = [segment_from_dict(s) for s in doc.get("segments") or ()]
        gap_list = [gap_from_dict(g) for g in doc.get("gaps") or ()]
        return segs, gap_list, dict(doc.get("meta") or {})
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a transcript JSON file: {exc}") from exc


# -- dispatch and files -------------------------------------------------------


def _unpack(source: Any) -> tuple[list[Segment], list[Gap], dict[str, Any]]:
    """Segments, gaps and meta from a Transcript, a session record or segments."""
    if isinstance(source, Transcript):
        return list(source.finals), list(source.gaps), {}
    if hasattr(source, "segments"):
        meta = dict(getattr(source, "meta", {}) or {})
        meta.pop("version", None)  # the journal's format version, not the export's
        return list(source.segments), list(getattr(source, "gaps", ())), meta
    return [s for s in source if s.is_final], [], {}


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
) -> str:
    """Render a transcript in a format.

    Args:
        transcript_or_segments: a :class:`Transcript` (its finals and gaps), a
            :class:`captioner.sessions.SessionRecord` (segments, gaps, meta) or
            an iterable of segments (finals only are used).
        fmt: one of :data:`FORMATS` (case and a leading dot ignored).
        gaps: overrides the gaps taken from the transcript.
        meta: for JSON; merged over the record's meta.
        timestamps: for TXT.
        labels: for TXT, SRT and WebVTT.

    Raises:
        ValueError: unknown format.
    """
    name = normalize_format(fmt)
    segs, gap_list, meta_in = _unpack(transcript_or_segments)
    if gaps is not None:
        gap_list = list(gaps)
    if name == "txt":
        return to_txt(segs, gap_list, timestamps=timestamps, labels=labels)
    if name == "srt":
        return to_srt(segs, gap_list, labels=labels)
    if name == "vtt":
        return to_vtt(segs, gap_list, labels=labels)
    return to_json(segs, gap_list, {**meta_in, **(meta or {})})


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


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) so it is never seen half-written.

    Writes a temporary file in the same folder, fsyncs it, renames it over
    ``path`` and fsyncs the folder. A new file gets the usual permissions
    (0666 less the umask); an existing file keeps its mode.

    Raises:
        ExportError: with a message such as "Can't save notes.srt: the disk is
            full." (the OSError is chained); the temporary file is removed.
    """
    target = Path(path)
    data = text.encode("utf-8", errors="replace")
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = -1
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        except FileNotFoundError:
            pass
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            if written <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[written:]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
    except OSError as exc:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        log.warning("export to %s failed: %s", target, exc)
        raise ExportError(
            f"Can't save {target.name}: {describe_os_error(exc)}.", exc.errno
        ) from exc
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); best effort elsewhere."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
