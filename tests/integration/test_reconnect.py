"""Back to live after a network outage, for every vendor fake, in both catch-up modes.

Each vendor's fake hears timecoded continuous speech through an outage proxy
that takes the network away for 3 s; the drill counts every scripted word in
the finals. Nothing may be lost or said twice, the fakes' pacing rules must
hold (AssemblyAI closes 3007 on audio faster than real time), and the only
gaps allowed are the marked "skipped to stay live" ones.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from captioner.pacing import COMPLETE, STAY_LIVE
from captioner.stream import SKIPPED_REASON
from captioner.testing.drill import FAKES, run_drill

DURATION_S = 20.0
CUT_S = 5.0
OUTAGE_S = 3.0


def drills(mode: str) -> dict[str, dict[str, Any]]:
    async def all_vendors() -> list[dict[str, Any]]:
        jobs = [run_drill(vendor, mode, DURATION_S, OUTAGE_S, cut_s=CUT_S) for vendor in FAKES]
        return list(await asyncio.wait_for(asyncio.gather(*jobs), 90))

    return {r["vendor"]: r for r in asyncio.run(all_vendors())}


def check_common(result: dict[str, Any]) -> None:
    assert result["final_state"] == "stopped", result
    assert result["reconnects"] >= 1
    assert result["violations"] == [], result["violations"]
    assert result["words_lost"] == 0, result
    assert result["words_duplicated"] == 0, result
    assert result["reconnected_after_s"] is not None


@pytest.fixture(scope="module")
def stay_live() -> dict[str, dict[str, Any]]:
    return drills(STAY_LIVE)


@pytest.fixture(scope="module")
def complete() -> dict[str, dict[str, Any]]:
    return drills(COMPLETE)


@pytest.mark.parametrize("vendor", list(FAKES))
def test_stay_live_is_back_within_10_s_with_nothing_lost(stay_live, vendor) -> None:
    result = stay_live[vendor]
    check_common(result)
    assert result["back_to_live_s"] is not None and result["back_to_live_s"] < 10.0, result
    assert all(g["reason"] == SKIPPED_REASON for g in result["gaps"])


def test_assemblyai_skips_the_backlog_it_may_not_send_faster(stay_live) -> None:
    result = stay_live["assemblyai"]
    assert result["words_skipped"] > 0 and result["gap_ms"] > 0


def test_ack_paced_and_faster_vendors_skip_nothing_after_a_short_outage(stay_live) -> None:
    assert stay_live["speechmatics"]["gap_ms"] == 0
    assert stay_live["revai"]["gap_ms"] == 0


@pytest.mark.parametrize("vendor", list(FAKES))
def test_complete_mode_keeps_every_word(complete, vendor) -> None:
    result = complete[vendor]
    check_common(result)
    assert result["gap_ms"] == 0 and result["words_skipped"] == 0


def test_complete_mode_catches_up_where_the_vendor_allows(complete) -> None:
    for vendor in ("revai", "deepgram", "speechmatics"):
        assert complete[vendor]["back_to_live_s"] is not None, complete[vendor]
    # real time only: the backlog stays as lag
    assert complete["assemblyai"]["back_to_live_s"] is None
