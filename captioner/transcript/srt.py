"""SubRip (SRT) export.

SRT has no escaping: ``-->`` in the text becomes ``->`` so no parser mistakes it
for a timing line; ``<`` and ``&`` are written as they are. Gaps are a bracketed
cue (SRT has no comments; broadcast captions show such a cue).
"""

from __future__ import annotations

from collections.abc import Iterable

from captioner.transcript.model import Gap, Segment
from captioner.transcript.render import ARROWS, build_cues, clock


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
    for n, cue in enumerate(build_cues(segments, gaps, labels=labels), start=1):
        text = "\n".join(ARROWS.sub("->", line) for line in cue.lines)
        blocks.append(f"{n}\n{clock(cue.start_ms, ',')} --> {clock(cue.end_ms, ',')}\n{text}\n")
    return "\n".join(blocks)
