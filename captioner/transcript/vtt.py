"""WebVTT export: voice tags for speakers, ``NOTE`` blocks for gaps; escapes ``&``, ``<``, ``>``."""

from __future__ import annotations

from collections.abc import Iterable

from captioner.transcript.cues import line_text
from captioner.transcript.model import SOURCE_LABELS, Gap, Segment
from captioner.transcript.render import ARROWS, build_cues, clock, format_duration, valid_gaps


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _note_text(gap: Gap) -> str:
    where = f"{clock(gap.start_ms, '.')} to {clock(gap.end_ms, '.')}"
    who = SOURCE_LABELS.get(gap.source, gap.source)
    reason = ARROWS.sub("->", line_text(gap.reason))
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
    gap_list = valid_gaps(gaps)
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
            f"{clock(cue.start_ms, '.')} --> {clock(cue.end_ms, '.')}\n" + "\n".join(lines) + "\n"
        )
    blocks.extend(f"NOTE {_note_text(g)}\n" for g in gap_list[gi:])
    return "\n".join(blocks)
