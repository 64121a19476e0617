"""The session-cap rollover overlaps two vendor sessions: no gap, no catch-up, no word twice.

Each vendor's fake hears timecoded continuous speech; the stream's cap is
short (a few seconds) and the fake enforces its own cap a little later, so a
stream that failed to roll over in time would run into it (a violation). With
the overlap, each next session opens before the current one ends and hears
the live audio from where it joins: the fake's logs show that some audio was
heard by both sessions and none by neither, the stream never reconnected
or caught up, and every scripted word is in the finals exactly once. A vendor
that refuses the second session (Speechmatics' free tier allows two at once,
here one) gets today's sequential rollover, still without loss.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from captioner.providers.base import Final, Partial, Word
from captioner.rollover import keep_from, overlap_window_s
from captioner.testing import Utterance
from captioner.testing.drill import FAKES, run_drill

DURATION_S = 16.0
CAP_S = 5.0


def drills(**kwargs: Any) -> dict[str, dict[str, Any]]:
    async def all_vendors() -> list[dict[str, Any]]:
        jobs = [run_drill(vendor, "live", DURATION_S, 0.0, cap_s=CAP_S, **kwargs)
                for vendor in FAKES]
        return list(await asyncio.wait_for(asyncio.gather(*jobs), 90))

    return {r["vendor"]: r for r in asyncio.run(all_vendors())}


@pytest.fixture(scope="module")
def overlapped() -> dict[str, dict[str, Any]]:
    # a session takes a while to start, as a real one does: the next one must be
    # opened early enough for that
    return drills(fake_options={"start_delay_s": 0.5})


def check_nothing_lost_or_twice(result: dict[str, Any]) -> None:
    assert result["final_state"] == "stopped", result
    assert result["violations"] == [], result["violations"]  # no cap hit, pacing held
    assert (result["words_lost"], result["words_duplicated"]) == (0, 0), result
    assert (result["finals_lost"], result["finals_duplicated"]) == (0, 0), result
    assert result["gap_ms"] == 0, result


@pytest.mark.parametrize("vendor", list(FAKES))
def test_an_overlapping_rollover_has_no_gap_and_says_nothing_twice(overlapped, vendor) -> None:
    result = overlapped[vendor]
    check_nothing_lost_or_twice(result)
    assert result["sessions"] >= 3, result  # it did roll over, more than once
    assert result["peak_concurrent_sessions"] == 2
    for switch in result["switches"]:
        assert switch["neither_heard_ms"] == 0, result  # zero gap
        assert switch["both_heard_ms"] > 0, result  # the next one was open before the end


@pytest.mark.parametrize("vendor", list(FAKES))
def test_an_overlapping_rollover_never_reconnects_or_catches_up(overlapped, vendor) -> None:
    result = overlapped[vendor]
    assert result["reconnects"] == 0, result
    assert result["states"] == ["connecting", "live", "stopped"], result  # never "behind"
    assert result["notices"] == [], result


def test_a_vendor_refusing_a_second_session_gets_the_sequential_rollover() -> None:
    async def drill() -> dict[str, Any]:
        return await asyncio.wait_for(run_drill(
            "speechmatics", "live", DURATION_S, 0.0, cap_s=CAP_S,
            fake_options={"max_concurrent": 1}), 60)

    result = asyncio.run(drill())
    check_nothing_lost_or_twice(result)
    assert result["refused_busy"] >= 1  # the early next session was refused (4005) …
    assert result["peak_concurrent_sessions"] == 1
    assert result["sessions"] >= 3 and result["reconnects"] >= 2  # … so it rolled over after
    assert result["notices"] == [], result  # the refusal is not the user's business


@pytest.mark.parametrize("vendor", list(FAKES))
def test_without_a_pause_before_the_cap_the_old_session_finalizes_and_sets_the_boundary(
        vendor) -> None:
    """One 12 s utterance: no final of the old session ends in the overlap, so at the cap
    it is told to finalize; its last final is the boundary, nothing said twice or lost."""
    long_talk = [Utterance(" ".join(f"long{i}" for i in range(30)) + ".", 100, 12_100)]

    async def drill() -> dict[str, Any]:
        return await asyncio.wait_for(run_drill(
            vendor, "live", 13.0, 0.0, cap_s=4.0, speech=long_talk), 60)

    result = asyncio.run(drill())
    check_nothing_lost_or_twice(result)
    assert result["sessions"] >= 3 and result["reconnects"] == 0, result
    assert all(s["neither_heard_ms"] == 0 for s in result["switches"]), result


def w(text: str, start_ms: int, end_ms: int) -> Word:
    return Word(text, start_ms, end_ms)


def test_the_next_session_keeps_only_words_starting_at_the_boundary() -> None:
    final = Final("cut one two.", 100, 1000, (w("cut", 100, 300), w("one", 400, 600),
                                              w("two.", 700, 1000)))
    # offset 5000 ms: the boundary at 5400 ms is 400 ms into this session
    kept = keep_from(final, 5000, 5400)
    assert kept is not None
    assert (kept.text, kept.start_ms, kept.end_ms) == ("one two.", 400, 1000)
    assert [x.text for x in kept.words] == ["one", "two."]
    assert keep_from(final, 5000, 5000) is final  # wholly after the boundary
    assert keep_from(final, 5000, 6500) is None  # wholly before


def test_hypotheses_without_word_timings_are_kept_by_their_span() -> None:
    assert keep_from(Partial("some words", 0, 800), 0, 500) is not None  # reaches past it
    assert keep_from(Partial("some words", 0, 400), 0, 500) is None
    assert keep_from(Final("mostly after", 400, 1000), 0, 500) is not None
    assert keep_from(Final("mostly before", 0, 600), 0, 500) is None


def test_the_next_session_opens_at_most_half_a_session_before_the_cap() -> None:
    assert overlap_window_s(3 * 3600 - 300, 30.0) == 30.0
    assert overlap_window_s(5.0, 30.0) == 2.5
