"""What the history says of a session: the providers it ran on (from the journal's provider
lines, kept in the end line so listing stays cheap, and through crash recovery), its status,
whether it is listed at all, and search."""

from __future__ import annotations

import json
from pathlib import Path

from captioner.transcript import Segment, listing
from captioner.transcript.journal import Journal
from captioner.transcript.store import list_sessions, load_session, mark_recovered, summarize


def _journal(folder: Path, provider: str = "deepgram") -> Journal:
    return Journal.create(folder, {"provider": provider, "language": "en", "sources": ["mic"]})


def test_a_fallback_is_journaled_once_and_summarized_from_the_end_line(tmp_path):
    j = _journal(tmp_path)
    j.append_final(Segment("mic-1", "Cloud words here.", 0, 1000))
    assert j.note_provider("deepgram") is False  # the header's: nothing new
    assert j.note_provider("local", "fallback")
    assert not j.note_provider("local", "fallback")  # once
    j.append_final(Segment("mic-2", "Offline words.", 1000, 2000))
    j.close()
    lines = [json.loads(x) for x in j.path.read_text().splitlines()]
    assert [x["type"] for x in lines] == ["session", "final", "provider", "final", "end"]
    assert lines[2] == {"type": "provider", "provider": "local", "role": "fallback",
                        "at_ms": 1000}
    assert lines[-1]["providers"] == [{"provider": "deepgram", "role": ""},
                                      {"provider": "local", "role": "fallback"}]
    summary = summarize(j.path)
    assert summary.providers == (("deepgram", ""), ("local", "fallback"))
    assert listing.providers_text(summary.providers) == "Deepgram → Offline engine (fallback)"
    assert load_session(j.path).providers == summary.providers


def test_providers_survive_a_crash_and_recovery(tmp_path):
    j = _journal(tmp_path, "revai")
    j.append_final(Segment("mic-1", "Before.", 0, 1000))
    j.note_provider("local", "standby")
    j.flush(timeout_s=30)
    j._close_fd()  # killed: no end line
    summary = summarize(j.path)
    assert summary.providers == (("revai", ""), ("local", "standby"))
    assert listing.status_text(summary).startswith("Unfinished")
    assert mark_recovered(j.path)
    summary = summarize(j.path)
    assert json.loads(j.path.read_text().splitlines()[-1])["providers"][1]["role"] == "standby"
    assert listing.providers_text(summary.providers) == \
        "Rev AI → Offline engine (while reconnecting)"
    assert listing.status_text(summary) == "Recovered after a crash"


def test_a_session_on_one_provider_names_only_it(tmp_path):
    j = _journal(tmp_path, "local")
    j.append_final(Segment("mic-1", "Hello.", 0, 1000))
    j.close()
    assert "providers" not in json.loads(j.path.read_text().splitlines()[-1])
    summary = summarize(j.path)
    assert listing.providers_text(summary.providers) == "Offline engine"
    assert listing.status_text(summary) == "Complete"
    assert listing.providers_text(()) == "?"


def test_empty_sessions_are_left_out_but_one_in_progress_is_not(tmp_path):
    done = _journal(tmp_path, "local")
    done.append_final(Segment("mic-1", "Words.", 0, 1000))
    done.close()
    _journal(tmp_path, "local").close()  # started and stopped before anyone spoke
    live = _journal(tmp_path, "local")  # just started: no words yet, but running
    try:
        shown, hidden = listing.listed(list_sessions(tmp_path))
        assert hidden == 1 and len(shown) == 2
        assert {listing.status_text(s) for s in shown} == {"Complete", "In progress"}
    finally:
        live.close()


def test_search_matches_every_word_anywhere():
    assert listing.matches("photo deep", "Deepgram", "photosynthesis today")
    assert not listing.matches("photo zebra", "Deepgram", "photosynthesis today")
    assert listing.matches("", "anything")


def test_the_command_line_journals_the_offline_engine_standing_in(tmp_path):
    """``captioner transcribe --source …``: a hot standby (DEGRADED) is in its journal too."""
    import asyncio
    import io

    from captioner.stream import State, StateChanged
    from captioner.transcribe import CaptionPrinter, Journaled

    journal = _journal(tmp_path, "speechmatics")

    async def run() -> None:
        journaled = Journaled(journal, CaptionPrinter(io.StringIO(), io.StringIO()),
                              asyncio.get_running_loop())
        journaled(StateChanged("mic", State.DEGRADED, "Speechmatics unreachable",
                               replaced_provider="speechmatics"))
        journaled(StateChanged("mic", State.LIVE))
        await journaled.aclose()

    asyncio.run(run())
    journal.close()
    assert summarize(journal.path).providers == (("speechmatics", ""), ("local", "standby"))
