"""Past sessions: listed with date, duration, provider and words; opened, searched, exported,
deleted; a crashed session is recovered at start and then listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from captioner.app import offer_recovery
from captioner.gui.history import HistoryDialog
from captioner.transcript import Segment
from captioner.transcript.journal import Journal
from captioner.transcript.store import list_sessions


def make_session(folder: Path, texts: list[str], *, close: bool = True,
                 provider: str = "local") -> Journal:
    journal = Journal.create(folder, {"provider": provider, "language": "en",
                                      "sources": ["mic"]})
    for i, text in enumerate(texts):
        journal.append_final(Segment(f"mic-{i}", text, i * 2000, i * 2000 + 1500))
    if close:
        journal.close()
    return journal


@pytest.fixture
def sessions(journal_dir):
    make_session(journal_dir, ["Welcome to the lecture.", "Today: photosynthesis."])
    make_session(journal_dir, ["Short call.", "Photosynthesis again."], provider="deepgram")
    return journal_dir


def test_lists_sessions_with_their_details(qtbot, sessions):
    d = HistoryDialog(sessions)
    qtbot.addWidget(d)
    assert d.table.rowCount() == 2
    providers = {d.table.item(r, 2).text() for r in range(2)}
    assert providers == {"Offline engine", "Deepgram"}
    assert {d.table.item(r, 3).text() for r in range(2)} == {"6", "4"}
    assert {d.table.item(r, 1).text() for r in range(2)} == {"4 s"}


def test_open_and_search_a_session(qtbot, sessions):
    d = HistoryDialog(sessions)
    qtbot.addWidget(d)
    row = next(r for r in range(2) if d.table.item(r, 2).text() == "Offline engine")
    d.table.selectRow(row)
    viewer = d.open_selected()
    assert viewer is not None
    qtbot.addWidget(viewer)
    assert viewer.pane.text() == "Welcome to the lecture.\nToday: photosynthesis."
    viewer.pane.search.setText("photo")
    assert viewer.pane.count_label.text() == "1 of 1"
    viewer.pane.search.setText("zebra")
    assert viewer.pane.count_label.text() == "No matches"


def test_export_a_past_session(qtbot, sessions, tmp_path):
    d = HistoryDialog(sessions)
    qtbot.addWidget(d)
    target = tmp_path / "lecture"
    d.ask_save_path = lambda suggested, filters: str(target)
    written = d.export_selected("vtt")
    assert written == target.with_suffix(".vtt")
    assert written.read_text().startswith("WEBVTT")
    assert "Saved to" in d.message_label.text()


def test_delete_asks_first(qtbot, sessions):
    d = HistoryDialog(sessions)
    qtbot.addWidget(d)
    questions = []
    d.confirm = lambda q: questions.append(q) or False
    assert not d.delete_selected()
    assert len(list_sessions(sessions)) == 2
    d.confirm = lambda q: True
    assert d.delete_selected()
    assert len(list_sessions(sessions)) == 1
    assert d.table.rowCount() == 1
    assert "can't be undone" in questions[0]


def test_a_live_session_cannot_be_deleted(qtbot, journal_dir):
    live = make_session(journal_dir, ["Still talking."], close=False)
    try:
        d = HistoryDialog(journal_dir)
        qtbot.addWidget(d)
        assert d.table.item(0, 4).text() == "In progress"
        assert not d.delete_button.isEnabled()
    finally:
        live.close()


def test_crashed_session_is_recovered_at_start_and_listed(qtbot, journal_dir):
    crashed = make_session(journal_dir, ["Said before the crash."], close=False)
    crashed.flush(timeout_s=30)
    crashed._close_fd()  # what a killed process leaves: no end line, no lock
    asked = []
    recovered = offer_recovery(folder=journal_dir,
                               ask=lambda count, words: asked.append((count, words)) or True)
    assert recovered == [crashed.id]
    assert asked == [(1, 4)]
    d = HistoryDialog(journal_dir)
    qtbot.addWidget(d)
    assert d.table.item(0, 4).text() == "Recovered after a crash"
    assert offer_recovery(folder=journal_dir, ask=lambda *a: pytest.fail("asked again")) == []


def test_declining_recovery_leaves_the_session_for_later(journal_dir):
    crashed = make_session(journal_dir, ["Keep me."], close=False)
    crashed.flush(timeout_s=30)
    crashed._close_fd()
    assert offer_recovery(folder=journal_dir, ask=lambda count, words: False) == []
    assert list_sessions(journal_dir)[0].ended is False


def test_history_shows_the_providers_actually_used(qtbot, make_shell, settings,
                                                   store, journal_dir):
    """A Deepgram session that fell back to the offline engine, and one where the offline
    engine stood in while Deepgram reconnected, are listed as such (not as "Deepgram")."""
    from captioner.settings import Key
    from captioner.stream import State
    from tests.gui.scripted import Script, fallback_script

    settings.set(Key.PROVIDER, "deepgram")
    store.set("deepgram", "dg-key")
    script = fallback_script()
    shell = make_shell(script)
    shell.controller.start()
    qtbot.waitUntil(lambda: shell.window.transcript.final_count == 2, timeout=15000)
    shell.controller.stop()
    qtbot.waitUntil(lambda: shell.controller.run_state == "stopped", timeout=15000)
    standby = Script([("state", State.LIVE), ("final", "Cloud words."),
                      ("state", State.DEGRADED, "Deepgram unreachable"),
                      ("final", "Offline words."), ("state", State.LIVE)])
    shell.controller.runner_factory = standby.factory
    shell.controller.start()
    qtbot.waitUntil(lambda: shell.window.transcript.final_count == 2, timeout=15000)
    shell.controller.stop()
    qtbot.waitUntil(lambda: shell.controller.run_state == "stopped", timeout=15000)

    d = HistoryDialog(journal_dir)
    qtbot.addWidget(d)
    providers = [d.table.item(r, 2).text() for r in range(d.table.rowCount())]
    assert sorted(providers) == ["Deepgram → Offline engine (fallback)",
                                 "Deepgram → Offline engine (while reconnecting)"]
    assert all(d.table.item(r, 4).text() == "Complete" for r in range(2))
    viewer = d.open_selected()
    qtbot.addWidget(viewer)
    assert providers[0] in viewer.info.text()


def test_sessions_without_words_are_hidden_but_kept(qtbot, sessions):
    empty = make_session(sessions, [])
    d = HistoryDialog(sessions)
    qtbot.addWidget(d)
    assert d.table.rowCount() == 2
    assert "1 session with no words not shown" in d.message_label.text()
    assert empty.path.exists() and len(list_sessions(sessions)) == 3


def test_search_by_words_and_by_what_the_row_says(qtbot, sessions):
    d = HistoryDialog(sessions)
    qtbot.addWidget(d)
    d.search.setText("lecture")
    qtbot.waitUntil(lambda: d.table.rowCount() == 1, timeout=10000)
    assert d.table.item(0, 2).text() == "Offline engine"
    assert "1 of 2 sessions match" in d.message_label.text()
    d.search.setText("photosynthesis")  # said in both
    qtbot.waitUntil(lambda: d.table.rowCount() == 2, timeout=10000)
    d.search.setText("deepgram call")  # a provider and a word
    qtbot.waitUntil(lambda: d.table.rowCount() == 1, timeout=10000)
    assert d.table.item(0, 2).text() == "Deepgram"
    d.search.setText("zebra")
    qtbot.waitUntil(lambda: d.table.rowCount() == 0, timeout=10000)
    assert "No session matches" in d.message_label.text()
    assert not d.open_button.isEnabled()
    d.search.clear()
    qtbot.waitUntil(lambda: d.table.rowCount() == 2, timeout=10000)

