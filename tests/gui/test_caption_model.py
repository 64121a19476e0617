"""Which caption lines are visible: pure logic, no fonts (line counts are given)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from captioner.gui.caption_model import (
    CaptionEntry,
    CaptionModel,
    LinePos,
    last_line,
    move,
    visible_slices,
)
from captioner.providers.base import Final, Partial
from captioner.transcript import Transcript


def entries(n: int) -> list[CaptionEntry]:
    return [CaptionEntry(f"mic-{i}", f"text {i}", None, False, True, "mic") for i in range(n)]


def flatten(slices, counts):
    """The (key, line) pairs drawn, top to bottom."""
    return [(s.entry.key, line) for s in slices for line in range(s.first, s.end)]


def test_live_view_shows_the_newest_lines_with_partials_at_the_bottom():
    finals = entries(3)
    counts = [2, 1, 2]
    partial = [CaptionEntry("partial:mic", "p", None, False, False, "mic")]
    slices = visible_slices(finals, partial, lambda i: counts[i], lambda i: 1, 4)
    assert flatten(slices, counts) == [("mic-1", 0), ("mic-2", 0), ("mic-2", 1),
                                       ("partial:mic", 0)]


def test_a_long_partial_shows_its_last_lines():
    partial = [CaptionEntry("partial:mic", "p", None, False, False, "mic")]
    slices = visible_slices([], partial, lambda i: 1, lambda i: 5, 3)
    assert flatten(slices, []) == [("partial:mic", 2), ("partial:mic", 3), ("partial:mic", 4)]


def test_a_long_partial_never_pushes_the_finals_out():
    """Regression: a 5-line partial filled all 3 rows, so no finished line was left."""
    partial = [CaptionEntry("partial:mic", "p", None, False, False, "mic")]
    slices = visible_slices(entries(2), partial, lambda i: 1, lambda i: 5, 3)
    assert flatten(slices, []) == [("mic-0", 0), ("mic-1", 0), ("partial:mic", 4)]
    slices = visible_slices(entries(20), partial, lambda i: 1, lambda i: 9, 10)
    drawn = flatten(slices, [])
    assert drawn[-4:] == [("partial:mic", 5), ("partial:mic", 6), ("partial:mic", 7),
                          ("partial:mic", 8)]  # 40 % of the rows
    assert drawn[:6] == [(f"mic-{i}", 0) for i in range(14, 20)]


@given(st.integers(1, 10), st.integers(1, 12), st.integers(1, 3))
def test_partials_take_at_most_their_share(rows, partial_lines, partial_count):
    partials = [CaptionEntry(f"partial:{i}", "p", None, False, False, "mic")
                for i in range(partial_count)]
    slices = visible_slices(entries(30), partials, lambda i: 1, lambda i: partial_lines, rows)
    shown = sum(s.end - s.first for s in slices if s.final_index is None)
    assert shown <= max(1, int(rows * 0.4)) if rows > 1 else shown <= 1
    assert sum(s.end - s.first for s in slices) == rows
    if rows > 1:
        assert any(s.final_index is not None for s in slices)


def test_scrolled_view_ends_at_the_anchor_and_ignores_partials():
    finals = entries(4)
    partial = [CaptionEntry("partial:mic", "p", None, False, False, "mic")]
    slices = visible_slices(finals, partial, lambda i: 2, lambda i: 1, 3, LinePos(2, 0))
    assert flatten(slices, []) == [("mic-1", 0), ("mic-1", 1), ("mic-2", 0)]


def test_only_visible_entries_are_measured():
    measured = []

    def count(i: int) -> int:
        measured.append(i)
        return 1

    visible_slices(entries(10_000), [], count, lambda i: 1, 3)
    assert sorted(measured) == [9997, 9998, 9999]


@given(st.lists(st.integers(1, 4), min_size=1, max_size=30), st.integers(-40, 40))
def test_move_walks_lines_in_order_and_clamps_at_the_top(counts, steps):
    flat = [(i, line) for i, c in enumerate(counts) for line in range(c)]
    start = last_line(len(counts), lambda i: counts[i])
    assert start is not None
    new = move(start, steps, len(counts), lambda i: counts[i])
    target = len(flat) - 1 + steps
    if target > len(flat) - 1:
        assert new is None  # back to live
    else:
        assert new is not None
        assert (new.index, new.line) == flat[max(0, target)]


def test_labels_show_when_the_speaker_changes():
    model = CaptionModel(show_source_labels=True)
    t = Transcript()
    model.apply(t.apply(Final("Hello.", 0, 100), "mic"))
    model.apply(t.apply(Final("Again.", 200, 300), "mic"))
    model.apply(t.apply(Final("hi there", 400, 500), "system"))
    model.apply(t.apply(Partial("and you", 600, 700), "system"))
    shown = [(e.label, e.show_label) for e in model.finals]
    assert shown == [("Me", True), ("Me", False), ("Others", True)]
    assert [(p.label, p.show_label) for p in model.partials] == [("Others", False)]


def test_vendor_speakers_are_numbered():
    model = CaptionModel()
    t = Transcript()
    model.apply(t.apply(Final("one", 0, 100, speaker="S1"), "system"))
    model.apply(t.apply(Final("two", 200, 300, speaker="S2"), "system"))
    model.apply(t.apply(Final("three", 400, 500), "system"))
    assert [e.label for e in model.finals] == ["Speaker 1", "Speaker 2", None]


def test_a_final_replaces_its_sources_partial_but_not_the_others():
    model = CaptionModel()
    t = Transcript()
    model.apply(t.apply(Partial("me talking", 0, 100), "mic"))
    model.apply(t.apply(Partial("them talking", 0, 100), "system"))
    model.apply(t.apply(Final("Me talking.", 0, 200), "mic"))
    assert [p.key for p in model.partials] == ["partial:system"]
