"""Transcript core: partials replaced, finals appended in time order, nothing lost or doubled."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from captioner.providers.base import Ended, Final, Partial, Started, Word
from captioner.transcript import Gap, Transcript

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=30)


@st.composite
def events(draw):
    kind = draw(st.sampled_from(["partial", "final", "other"]))
    start = draw(st.integers(0, 100_000))
    end = start + draw(st.integers(0, 10_000))
    text = draw(texts)
    if kind == "partial":
        return Partial(text, start, end)
    if kind == "final":
        return Final(text, start, end)
    return draw(st.sampled_from([Started("x"), Ended()]))


@given(st.lists(st.tuples(events(), st.sampled_from(["mic", "system"]),
                          st.integers(0, 50_000)), max_size=60))
def test_any_event_sequence_keeps_every_final_once_in_time_order(sequence):
    transcript = Transcript()
    expected = []
    for event, source, offset in sequence:
        transcript.apply(event, source, offset)
        if isinstance(event, Final) and event.text.strip():
            expected.append((event.text.strip(), source, event.start_ms + offset))
    finals = transcript.finals
    starts = [s.start_ms for s in finals]
    assert starts == sorted(starts)
    # same multiset of final texts: none lost, none duplicated
    assert sorted((s.text, s.source, s.start_ms) for s in finals) == sorted(expected)
    assert len({s.id for s in finals}) == len(finals)
    assert all(s.is_final for s in finals)


@given(st.lists(st.tuples(texts, st.integers(0, 1000)), min_size=1, max_size=20))
def test_a_partial_replaces_the_previous_one(partials):
    transcript = Transcript()
    for text, start in partials:
        transcript.apply(Partial(text, start, start + 10), "mic")
    last_text = partials[-1][0].strip()
    shown = transcript.partials.get("mic")
    assert (shown.text if shown else "") == last_text
    assert transcript.finals == ()


def test_a_final_clears_its_sources_partial_only():
    transcript = Transcript()
    transcript.apply(Partial("hello wor", 0, 500), "mic")
    transcript.apply(Partial("good morn", 0, 500), "system")
    change = transcript.apply(Final("Hello world.", 0, 900), "mic")
    assert change.cleared_partial == "mic"
    assert change.index == 0
    assert "mic" not in transcript.partials
    assert transcript.partials["system"].text == "good morn"


def test_offsets_shift_segment_and_word_times():
    transcript = Transcript()
    words = (Word("hi", 100, 300), Word("there", 350, 700))
    transcript.apply(Final("hi there", 100, 700, words=words, speaker="S1"), "mic", 5_000)
    seg = transcript.finals[0]
    assert (seg.start_ms, seg.end_ms, seg.speaker) == (5_100, 5_700, "S1")
    assert [(w.start_ms, w.end_ms) for w in seg.words] == [(5_100, 5_300), (5_350, 5_700)]


def test_finals_from_two_sources_interleave_by_start_time():
    transcript = Transcript()
    transcript.apply(Final("first mic", 0, 1000), "mic")
    transcript.apply(Final("second mic", 3000, 4000), "mic")
    change = transcript.apply(Final("system in between", 1500, 2500), "system")
    assert change.index == 1
    assert [s.text for s in transcript.finals] == ["first mic", "system in between", "second mic"]


def test_empty_final_only_clears_the_partial():
    transcript = Transcript()
    transcript.apply(Partial("uh", 0, 100), "mic")
    transcript.apply(Final("  ", 0, 100), "mic")
    assert transcript.finals == () and transcript.partials == {}


def test_gaps_are_kept_in_time_order():
    transcript = Transcript()
    transcript.add_gap(Gap(5000, 6000, "mic", "x"))
    transcript.add_gap(Gap(1000, 2000, "system", "y"))
    assert [g.start_ms for g in transcript.gaps] == [1000, 5000]


def test_word_count_and_text():
    transcript = Transcript()
    transcript.apply(Final("one two", 0, 10), "mic")
    transcript.apply(Final("three", 20, 30), "mic")
    assert transcript.word_count() == 3
    assert transcript.text() == "one two\nthree"
