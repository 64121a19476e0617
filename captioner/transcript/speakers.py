"""Display labels for transcript segments: "Me", "Others", "Speaker 2".

A segment with a vendor speaker id is labelled ``"Speaker N"``, numbered by
first appearance per source (``"S1"``, ``"1"``, ``"A"`` and ``"spk_0"`` are all
anonymous ids; Speechmatics' unknown ``"UU"`` counts as no speaker); a name
that is not an anonymous id is kept as it is. A segment without a speaker is
labelled by its source.
"""

from __future__ import annotations

import re

from captioner.transcript.cues import line_text
from captioner.transcript.model import SOURCE_LABELS, Segment

# "S1", "1", "spk_0", "speaker 2", "A", "AB"; Speechmatics' "UU" means unknown
_ANONYMOUS_SPEAKER = re.compile(r"^(?:(?i:s|spk|speaker)[ _-]?)?\d+$|^[A-Z]{1,2}$")
_NO_SPEAKER = {"", "UU", "unknown"}


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
        speaker = line_text("" if speaker is None else str(speaker))
        if speaker in _NO_SPEAKER:
            return line_text(SOURCE_LABELS.get(seg.source, seg.source)) or "Unknown"
        if not _ANONYMOUS_SPEAKER.match(speaker):
            return speaker
        key = (seg.source, speaker)
        number = self._numbers.setdefault(key, len(self._numbers) + 1)
        return f"Speaker {number}"
