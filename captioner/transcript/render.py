"""What the export formats share: caption lines and gaps in time order (finals
coalesced into lines by :mod:`.lines`), labels where the speaker changes, clock
strings, gap markers, and the scheduled cue list that SRT and WebVTT are both
written from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from captioner.transcript import cues as cuelib
from captioner.transcript.cues import line_text
from captioner.transcript.lines import coalesce
from captioner.transcript.model import SOURCE_LABELS, Gap, Segment
from captioner.transcript.speakers import SpeakerNames

ARROWS = re.compile(r"-{2,}>")


def finals(segments: Iterable[Segment]) -> list[Segment]:
    """Segments with text, in time order (stable for equal starts)."""
    return sorted((s for s in segments if line_text(s.text)), key=lambda s: s.start_ms)


def valid_gaps(gaps: Iterable[Gap]) -> list[Gap]:
    return sorted((g for g in gaps if g.end_ms > g.start_ms), key=lambda g: g.start_ms)


def lines(segments: Iterable[Segment], gaps: Iterable[Gap] = ()) -> list[Segment | Gap]:
    """Caption lines (finals with text coalesced, :func:`.lines.coalesce`) and valid gaps,
    in time order: what TXT paragraphs and SRT/WebVTT cues are made from."""
    return coalesce(merge(finals(segments), valid_gaps(gaps)))


def merge(segments: list[Segment], gaps: list[Gap]) -> list[Segment | Gap]:
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


def multi_source(items: Sequence[Segment | Gap]) -> bool:
    return len({item.source for item in items}) > 1


def label_prefixes(
    items: Sequence[Segment | Gap], labels: dict[int, str], show: bool
) -> dict[int, str]:
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


def labelled(items: Sequence[Segment | Gap]) -> dict[int, str]:
    names = SpeakerNames()
    return {i: names.label(it) for i, it in enumerate(items) if isinstance(it, Segment)}


def clock(ms: int, sep: str) -> str:
    ms = max(0, int(ms))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def hms(ms: int) -> str:
    h, rem = divmod(max(0, int(ms)) // 1000, 3600)
    return f"{h:02d}:{rem // 60:02d}:{rem % 60:02d}"


def build_cues(
    segments: Iterable[Segment],
    gaps: Iterable[Gap] = (),
    *,
    labels: bool = True,
) -> list[cuelib.Cue]:
    """The one scheduled cue list SRT and WebVTT are both written from (same cues, same times).

    Cues are cut from caption lines (:func:`lines`), so finals of a few words
    each make cues of whole clauses and sentences, not one short cue a final.

    Args:
        segments: final segments (any order; sorted by start).
        gaps: each becomes a ``[… not captioned …]`` cue.
        labels: where the speaker changes (and there is more than one), the
            first cue starts with the label (``"Me:"``, kept in ``Cue.label``:
            SRT shows it as text, WebVTT as a voice tag).

    Returns:
        Cues in order, monotonic and non-overlapping; every speech cue has its
        speaker's name in ``voice``.
    """
    items = lines(segments, gaps)
    names = labelled(items)
    prefixes = label_prefixes(items, names, labels)
    multi = multi_source(items)
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
        raw.extend(cuelib.segment_cues(item, voice=names[i], prefix=prefix))
    return cuelib.schedule(raw)
