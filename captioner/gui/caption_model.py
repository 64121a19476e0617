"""What the caption overlay shows: entries in arrival order, labels, and the scroll position.

Qt-free, so it is tested and benchmarked without a display. The overlay lays
each entry out into visual lines (that needs fonts, so it is done in
``caption_view.py``) and asks :func:`visible_slices` which lines of which
entries fill its ``n_lines`` rows, bottom-aligned:

* live (``anchor is None``): the newest lines, partials at the bottom (in at
  most :data:`PARTIAL_SHARE` of the rows, so they never push finals out);
* scrolled back: the lines ending at ``anchor`` (a line of a final); new
  finals arriving below do not move the view, partials are hidden.

Finals are shown in the order they arrived, not re-sorted by start time:
moving a line that is already on screen is exactly the jitter the overlay
must avoid.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from captioner.transcript import SOURCE_LABELS, SOURCES, Change, Segment
from captioner.transcript.speakers import SpeakerNames

log = logging.getLogger(__name__)

#: the share of the rows live partials may take while finished lines are shown
PARTIAL_SHARE = 0.4


@dataclass(frozen=True)
class CaptionEntry:
    """One segment as the overlay shows it.

    Attributes:
        key: the segment id for a final, ``"partial:<source>"`` for a partial.
        text: the words.
        label: "Me", "Others", "Speaker 2", or None when labels are off or unknown.
        show_label: draw the label (it differs from the entry above).
        is_final: False for a live partial.
        source: ``"mic"`` or ``"system"``.
    """

    key: str
    text: str
    label: str | None
    show_label: bool
    is_final: bool
    source: str


@dataclass(frozen=True)
class LinePos:
    """A visual line of a final: ``finals[index]``'s line ``line``."""

    index: int
    line: int


@dataclass(frozen=True)
class Slice:
    """Lines ``first``..``end - 1`` of an entry, drawn top to bottom.

    Attributes:
        entry: what is drawn.
        first, end: the entry's visual lines shown.
        final_index: the entry's index among the finals, or None for a partial.
    """

    entry: CaptionEntry
    first: int
    end: int
    final_index: int | None


class CaptionModel:
    """Finals (arrival order) and live partials, turned into :class:`CaptionEntry` s.

    Attributes:
        finals: every final of the run, oldest first.
        show_source_labels: label segments by source ("Me", "Others") — for
            runs capturing both. Speaker labels are shown whenever known.
    """

    def __init__(self, show_source_labels: bool = False) -> None:
        self.finals: list[CaptionEntry] = []
        self._partials: dict[str, CaptionEntry] = {}
        self.show_source_labels = show_source_labels
        self._speakers = SpeakerNames()

    # -- changes ------------------------------------------------------------------

    def clear(self) -> None:
        self.finals.clear()
        self._partials.clear()
        self._speakers = SpeakerNames()

    def apply(self, change: Change) -> CaptionEntry | None:
        """Apply a transcript change; returns the new final, if the change added one."""
        seg = change.segment
        if change.cleared_partial is not None:
            self._partials.pop(change.cleared_partial, None)
        if seg is None:
            return None
        if seg.is_final:
            return self.add_final(seg)
        self.set_partial(seg)
        return None

    def add_final(self, seg: Segment) -> CaptionEntry:
        label = self.label_for(seg)
        above = self.finals[-1].label if self.finals else None
        entry = CaptionEntry(seg.id, seg.text, label, label is not None and label != above,
                             True, seg.source)
        self.finals.append(entry)
        self._partials.pop(seg.source, None)
        return entry

    def set_partial(self, seg: Segment) -> None:
        self._partials[seg.source] = CaptionEntry(
            f"partial:{seg.source}", seg.text, self.label_for(seg), False, False, seg.source)

    def clear_partial(self, source: str) -> None:
        self._partials.pop(source, None)

    def label_for(self, seg: Segment) -> str | None:
        has_speaker = bool((seg.speaker or "").strip()) or any(w.speaker for w in seg.words)
        if has_speaker:
            name = self._speakers.label(seg)
            if name not in SOURCE_LABELS.values():
                return name
        if self.show_source_labels:
            return SOURCE_LABELS.get(seg.source, seg.source)
        return None

    # -- reading ------------------------------------------------------------------

    @property
    def partials(self) -> list[CaptionEntry]:
        """Live partials in a stable order (microphone first), each labelled if it
        differs from the entry above it."""
        ordered = sorted(self._partials.values(),
                         key=lambda e: SOURCES.index(e.source) if e.source in SOURCES else 99)
        above = self.finals[-1].label if self.finals else None
        out = []
        for entry in ordered:
            show = entry.label is not None and entry.label != above
            out.append(CaptionEntry(entry.key, entry.text, entry.label, show, False,
                                    entry.source))
            above = entry.label
        return out


# -- which lines are visible -----------------------------------------------------------


def last_line(finals_count: int, line_count: Callable[[int], int]) -> LinePos | None:
    """The bottom line of the newest final, or None when there are none."""
    if finals_count == 0:
        return None
    index = finals_count - 1
    return LinePos(index, max(1, line_count(index)) - 1)


def move(pos: LinePos, lines: int, finals_count: int,
         line_count: Callable[[int], int]) -> LinePos | None:
    """``pos`` moved by ``lines`` (negative: up), clamped to the first line.

    Returns None when moved below the last final's last line (back to live).
    Costs O(|lines|) calls of ``line_count``.
    """
    index, line = pos.index, pos.line
    step = lines
    while step < 0:
        if line > 0:
            line -= 1
        elif index > 0:
            index -= 1
            line = max(1, line_count(index)) - 1
        else:
            break
        step += 1
    while step > 0:
        if line < max(1, line_count(index)) - 1:
            line += 1
        elif index < finals_count - 1:
            index += 1
            line = 0
        else:
            return None
        step -= 1
    return LinePos(index, line)


def partial_rows(n_lines: int) -> int:
    """How many of ``n_lines`` rows the live partials may take when finals are shown:
    :data:`PARTIAL_SHARE` of them, at least one, and never the last row a final has."""
    if n_lines <= 1:
        return n_lines
    return max(1, min(n_lines - 1, int(n_lines * PARTIAL_SHARE)))


def visible_slices(finals: Sequence[CaptionEntry], partials: Sequence[CaptionEntry],
                   line_count: Callable[[int], int], partial_line_count: Callable[[int], int],
                   n_lines: int, anchor: LinePos | None = None) -> list[Slice]:
    """The slices that fill ``n_lines`` rows, top to bottom.

    Only the entries that end up on screen are measured, so the cost does not
    grow with the length of the transcript. Partials take at most
    :func:`partial_rows` rows while there are finals (their newest lines), so a
    long partial never pushes the finished lines out.

    Args:
        finals: all finals, oldest first.
        partials: the live partials (ignored when scrolled back).
        line_count: visual lines of ``finals[i]``.
        partial_line_count: visual lines of ``partials[i]``.
        n_lines: rows to fill (from the bottom).
        anchor: the bottom line when scrolled back; None = live.
    """
    out: list[Slice] = []
    remaining = max(0, n_lines)
    if anchor is None:
        share = partial_rows(remaining) if finals else remaining
        for i in range(len(partials) - 1, -1, -1):
            if share <= 0:
                break
            count = max(1, partial_line_count(i))
            take = min(count, share)
            out.append(Slice(partials[i], count - take, count, None))
            remaining -= take
            share -= take
        index = len(finals) - 1
        end = None
    else:
        index = min(anchor.index, len(finals) - 1)
        end = anchor.line + 1 if index == anchor.index else None
    while remaining > 0 and index >= 0:
        count = max(1, line_count(index))
        stop = count if end is None else min(end, count)
        take = min(stop, remaining)
        out.append(Slice(finals[index], stop - take, stop, index))
        remaining -= take
        index -= 1
        end = None
    out.reverse()
    return out
