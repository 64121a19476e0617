"""WebVTT export: voice tags for speakers, gap cues with a ``NOTE`` of details; escapes
``&``, ``<``, ``>``. Written from the same cue list as SRT, so both have the same times."""

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
        gaps: a ``[… not captioned …]`` cue each (as in SRT, at the same
            times), after a ``NOTE`` with the details.
        labels: start each cue with a voice tag (``<v Me>``, ``<v Speaker 2>``).

    Returns:
        The WebVTT text.
    """
    gap_list = valid_gaps(gaps)
    blocks = ["WEBVTT\n"]
    gi = 0
    for cue in build_cues(segments, gap_list, labels=labels):
        lines = list(cue.lines)
        if cue.is_gap:
            if gi < len(gap_list):
                blocks.append(f"NOTE {_note_text(gap_list[gi])}\n")
                gi += 1
        elif cue.label and lines[0].startswith(cue.label):
            lines[0] = lines[0][len(cue.label):].lstrip()  # said by the voice tag instead
            lines = [line for line in lines if line] or [""]
        lines = [_vtt_escape(line) for line in lines]
        if cue.voice and labels and not cue.is_gap:
            lines[0] = f"<v {_vtt_escape(cue.voice)}>{lines[0]}"
        blocks.append(
            f"{clock(cue.start_ms, '.')} --> {clock(cue.end_ms, '.')}\n" + "\n".join(lines) + "\n"
        )
    return "\n".join(blocks)
