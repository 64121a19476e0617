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

Finals are shown as caption lines (:mod:`captioner.transcript.lines`): a final
that continues the newest line (same source, speaker and language, no sentence
end, no long pause) is joined to it, so words committed a few at a time read as
one sentence, and the newest line grows to the right (the words already shown
stay where they are). A live partial that continues the newest line is drawn
on it (:attr:`CaptionEntry.continues`), in the partial's style.

Live translations go under the entry whose speech they translate (the one of
their source that started last at or before them): a final translation under
a final, a partial translation under the live partial when it starts there.
:attr:`CaptionModel.stale` names the finals whose translations changed, so
the view lays them out again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from captioner.transcript import SOURCE_LABELS, SOURCES, Change, Segment, Translation
from captioner.transcript.lines import continue_line, split_continuation, start_lines
from captioner.transcript.model import owner_index
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
        start_ms: when its speech started (ties translations to it).
        end_ms: when its speech (so far) ended.
        translations: ``(language, text, is_final)`` shown under it, in the
            order the languages first arrived.
        continues: for a partial, the key of the final line it continues (it is
            drawn at that line's end), else None.
    """

    key: str
    text: str
    label: str | None
    show_label: bool
    is_final: bool
    source: str
    start_ms: int = 0
    translations: tuple[tuple[str, str, bool], ...] = ()
    continues: str | None = None
    end_ms: int = 0


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
        languages: translation languages in the order they first arrived.
        stale: keys of finals whose translations changed since the view
            last took them (:meth:`take_stale`).
    """

    def __init__(self, show_source_labels: bool = False) -> None:
        self.finals: list[CaptionEntry] = []
        self._partials: dict[str, CaptionEntry] = {}
        self._partial_segs: dict[str, Segment] = {}
        self._lines: dict[str, Segment] = {}  # final key -> the caption line it shows
        self.show_source_labels = show_source_labels
        self._speakers = SpeakerNames()
        self.languages: list[str] = []
        self.stale: set[str] = set()
        self._index: dict[str, int] = {}  # final key -> position in finals
        self._final_tr: dict[str, dict[str, str]] = {}  # final key -> language -> text
        self._partial_tr: dict[tuple[str, str], Translation] = {}
        self._partial_owner: dict[tuple[str, str], str | None] = {}  # None: the partial
        self._waiting: list[Translation] = []  # final translations before any final

    # -- changes ------------------------------------------------------------------

    def clear(self) -> None:
        self.finals.clear()
        self._partials.clear()
        self._partial_segs.clear()
        self._lines.clear()
        self._speakers = SpeakerNames()
        self.languages.clear()
        self.stale.clear()
        for table in (self._index, self._final_tr, self._partial_tr, self._partial_owner):
            table.clear()
        self._waiting.clear()

    def apply(self, change: Change) -> CaptionEntry | None:
        """Apply a transcript change; returns the new final, if the change added one."""
        seg = change.segment
        if change.cleared_partial is not None:
            self.clear_partial(change.cleared_partial)
        if change.translation is not None:
            self.add_translation(change.translation)
        if seg is None:
            return None
        if seg.is_final:
            return self.add_final(seg)
        self.set_partial(seg)
        return None

    def add_final(self, seg: Segment) -> CaptionEntry:
        """Show a final: joined to the newest line when it continues it, else a new line."""
        label = self.label_for(seg)
        last = self.finals[-1] if self.finals else None
        line = self._lines.get(last.key) if last is not None else None
        joined = (continue_line(line, seg)
                  if last is not None and line is not None and last.label == label else None)
        if last is not None and joined is not None:
            line, more = joined
            self._lines[last.key] = line
            self.finals[-1] = replace(last, text=line.text, end_ms=line.end_ms)
            self.stale.add(last.key)
        else:
            more = start_lines(seg)
        for piece in more:
            self._new_line(piece, label)
        self._partials.pop(seg.source, None)
        self._partial_segs.pop(seg.source, None)
        waiting = [t for t in self._waiting if t.source == seg.source]
        self._waiting = [t for t in self._waiting if t.source != seg.source]
        for tr in waiting:
            self.add_translation(tr)
        self._place_partial_translations(seg.source)
        return self.finals[-1]

    def _new_line(self, seg: Segment, label: str | None) -> None:
        above = self.finals[-1].label if self.finals else None
        entry = CaptionEntry(seg.id, seg.text, label, label is not None and label != above,
                             True, seg.source, seg.start_ms, end_ms=seg.end_ms)
        self._index[entry.key] = len(self.finals)
        self._lines[entry.key] = seg
        self.finals.append(entry)

    def set_partial(self, seg: Segment) -> None:
        self._partial_segs[seg.source] = seg
        self._partials[seg.source] = CaptionEntry(
            f"partial:{seg.source}", seg.text, self.label_for(seg), False, False, seg.source,
            seg.start_ms, end_ms=seg.end_ms)
        self._place_partial_translations(seg.source)

    # -- translations -------------------------------------------------------------

    def add_translation(self, tr: Translation) -> None:
        """A final translation joins its final; a partial one replaces its language's."""
        if tr.language not in self.languages and tr.text:
            self.languages.append(tr.language)
        key = (tr.source, tr.language)
        if not tr.is_final:
            if tr.text:
                self._partial_tr[key] = tr
            else:
                self._partial_tr.pop(key, None)
            self._place_partial_translations(tr.source)
            return
        owner = self._final_owner(tr.source, tr.start_ms)
        if owner is None:
            self._waiting.append(tr)
            return
        texts = self._final_tr.setdefault(owner, {})
        texts[tr.language] = f"{texts[tr.language]} {tr.text}" if tr.language in texts \
            else tr.text
        partial = self._partial_tr.get(key)
        if partial is not None and partial.end_ms <= tr.end_ms:
            del self._partial_tr[key]  # the final covers it (as the transcript does)
        self._refresh(owner)
        self._place_partial_translations(tr.source)

    def take_stale(self) -> set[str]:
        stale, self.stale = self.stale, set()
        return stale

    def _final_owner(self, source: str, start_ms: int) -> str | None:
        mine = [e for e in self.finals if e.source == source]
        return mine[owner_index(mine, start_ms)].key if mine else None

    def _place_partial_translations(self, source: str) -> None:
        """Put each partial translation of ``source`` under the live partial if it starts
        there (or there is no final yet), else under its final; refresh what moved."""
        partial = self._partials.get(source)
        keys = {k for k in (*self._partial_tr, *self._partial_owner) if k[0] == source}
        for key in keys:
            tr = self._partial_tr.get(key)
            old = self._partial_owner.pop(key, "")
            new: str | None = ""  # "": shown nowhere; None: under the live partial
            if tr is not None:
                final = self._final_owner(source, tr.start_ms)
                if partial is not None and (final is None or partial.start_ms <= tr.start_ms):
                    new = None
                else:
                    new = final or ""
                self._partial_owner[key] = new
            for owner in (old, new):
                if owner:
                    self._refresh(owner)

    def _refresh(self, key: str) -> None:
        index = self._index.get(key)
        if index is None:
            return
        entry = self.finals[index]
        texts = self._final_tr.get(key, {})
        shown = []
        for language in self.languages:
            partial = self._partial_tr.get((entry.source, language))
            if self._partial_owner.get((entry.source, language), "") != key:
                partial = None
            text = " ".join(t for t in (texts.get(language), partial and partial.text) if t)
            if text:
                shown.append((language, text, partial is None))
        translations = tuple(shown)
        if translations != entry.translations:
            self.finals[index] = replace(entry, translations=translations)
            self.stale.add(key)

    def clear_partial(self, source: str) -> None:
        self._partial_segs.pop(source, None)
        if self._partials.pop(source, None) is not None:
            self._place_partial_translations(source)

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

    def _continuation(self, entry: CaptionEntry) -> list[CaptionEntry]:
        """The partial ``entry`` as shown: continuing the newest final line when it belongs
        to it (its words through a sentence end on that line, the rest on a line of its
        own, as they will be once final), else as it is."""
        last = self.finals[-1] if self.finals else None
        seg = self._partial_segs.get(entry.source)
        line = self._lines.get(last.key) if last is not None else None
        if last is None or seg is None or line is None or last.label != entry.label:
            return [entry]
        parts = split_continuation(line, seg)
        if parts is None:
            return [entry]
        head, rest = parts
        out = [replace(entry, text=head.text, show_label=False, continues=last.key)]
        if rest is not None:
            out.append(replace(entry, key=f"{entry.key}:next", text=rest.text,
                               show_label=False, start_ms=rest.start_ms, translations=()))
        return out

    @property
    def partials(self) -> list[CaptionEntry]:
        """Live partials in a stable order (microphone first), each labelled if it
        differs from the entry above it; one that continues the newest line says so
        (:attr:`CaptionEntry.continues`, no label), followed by the words it has after
        a sentence end, if any (key ``"partial:<source>:next"``)."""
        ordered = sorted(self._partials.values(),
                         key=lambda e: SOURCES.index(e.source) if e.source in SOURCES else 99)
        above = self.finals[-1].label if self.finals else None
        out = []
        for entry in ordered:
            show = entry.label is not None and entry.label != above
            translations = tuple(
                (language, tr.text, False) for language in self.languages
                if (tr := self._partial_tr.get((entry.source, language))) is not None
                and self._partial_owner.get((entry.source, language), "") is None)
            out += self._continuation(replace(entry, show_label=show, translations=translations))
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
                   n_lines: int, anchor: LinePos | None = None,
                   partial_rows_used: int = 0) -> list[Slice]:
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
        partial_rows_used: rows of the partials' share already taken by a partial
            drawn as part of the newest final line (it continues that line).
    """
    out: list[Slice] = []
    remaining = max(0, n_lines)
    if anchor is None:
        share = (partial_rows(remaining) if finals else remaining) - partial_rows_used
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
