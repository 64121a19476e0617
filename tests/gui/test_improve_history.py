"""The history window's "Improve transcript": progress, cancel, both versions to read and export.

A real offline engine child improves a recorded real-speech session.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from captioner.config import SessionConfig
from captioner.gui.history import HistoryDialog
from captioner.improve import ImproveCancelled
from captioner.transcript import Segment, codec
from tests import recorded
from tests.conftest import DATA
from tests.recorded import recorded_session

engine_url = recorded.engine_url  # the fixture

LIVE = [Segment("mic-1", "and mister john dash would", 300, 3000)]


@pytest.fixture
def dialog(qtbot, journal_dir: Path, engine_url: str) -> HistoryDialog:
    recorded_session(journal_dir, [("mic", DATA / "librivox-0870.wav", 0)], LIVE)
    recorded_session(journal_dir, [], [Segment("mic-1", "not recorded", 0, 900)])
    d = HistoryDialog(journal_dir)
    d.improve_config = SessionConfig(provider="local", endpoint=engine_url)
    qtbot.addWidget(d)
    d.show()
    return d


def _select(d: HistoryDialog, recorded: bool) -> None:
    row = next(r for r, s in enumerate(d.summaries) if s.recorded == recorded)
    d.table.selectRow(row)


def test_improve_button_shows_progress_then_the_improved_version(qtbot, dialog, tmp_path):
    d = dialog
    _select(d, recorded=False)
    assert not d.improve_button.isEnabled()  # nothing to re-transcribe
    _select(d, recorded=True)
    assert d.improve_button.isEnabled()
    assert "Recorded" in d.table.item(d.table.currentRow(), 4).text()
    progress = []

    qtbot.mouseClick(d.improve_button, Qt.MouseButton.LeftButton)
    job = d.job
    assert job is not None and d.progress_bar.isVisible() and d.cancel_button.isVisible()
    assert not d.improve_button.isEnabled() and not d.delete_button.isEnabled()
    job.progressed.connect(progress.append)
    with qtbot.waitSignal(job.ended, timeout=120_000):
        pass
    assert d.job is None and not d.progress_bar.isVisible()
    assert d.message_label.text().startswith("Improved:")
    assert progress and progress[-1].fraction == 1.0
    summary = d.selected()
    assert summary is not None and summary.improved
    assert "Improved" in d.table.item(d.table.currentRow(), 4).text()
    assert d.improve_button.text() == "&Improve again"

    viewer = d.open_selected()
    assert viewer is not None
    qtbot.addWidget(viewer)
    assert viewer.version_combo.count() == 2
    assert viewer.version_combo.currentText() == "Improved (Offline engine)"
    assert "Dashwood" in viewer.pane.text()
    viewer.version_combo.setCurrentIndex(1)  # the live captions, on request
    assert viewer.version_combo.currentText() == "Live captions"
    assert "dash would" in viewer.pane.text()

    d.ask_save_path = lambda suggested, filters: str(tmp_path / "live.txt")
    live_file = d._export(viewer.record, "txt")
    d.ask_save_path = lambda suggested, filters: str(tmp_path / "improved.vtt")
    improved_file = d.export_selected("vtt")  # from the list: the improved version
    assert live_file is not None and "dash would" in live_file.read_text()
    assert improved_file is not None and "Dashwood" in improved_file.read_text()


def test_cancel_stops_improving_and_keeps_the_session_as_it_was(qtbot, dialog, journal_dir):
    d = dialog
    _select(d, recorded=True)
    job = d.improve_selected()
    assert job is not None
    job.progressed.connect(lambda _p: d.cancel_button.click())
    with qtbot.waitSignal(job.ended, timeout=120_000) as ended:
        pass
    assert isinstance(ended.args[0], ImproveCancelled)
    assert d.message_label.text() == "Improving was cancelled; the session is as it was."
    assert not d.cancel_button.isVisible()
    summary = d.selected()
    assert summary is not None and not summary.improved
    assert not codec.improved_path(journal_dir, summary.id).exists()


def test_improve_with_a_vendor_from_the_menu(qtbot, dialog, monkeypatch):
    from captioner.secrets import MemoryStore
    from captioner.testing.fake_revai_batch import FakeRevAiBatch
    from captioner.testing.fakes import Utterance

    monkeypatch.delenv("REV_ACCESS_TOKEN", raising=False)
    d = dialog
    _select(d, recorded=True)
    d.secrets = MemoryStore()
    d.improve_actions["revai"].trigger()  # no key: one clear line, nothing started
    assert d.job is None
    assert d.message_label.text().startswith("No API key for Rev AI. Add it in Preferences")
    d.secrets = MemoryStore({"revai": "rev-key"})
    script = [Utterance("And Mr. John Dashwood had then leisure.", 300, 3000)]
    with FakeRevAiBatch(keys=["rev-key"], script=script) as fake:
        d.improve_endpoints = {"revai": fake.base_url}
        d.improve_actions["revai"].trigger()
        job = d.job
        assert job is not None
        assert d.message_label.text() == "Improving the transcript with Rev AI…"
        with qtbot.waitSignal(job.ended, timeout=60_000):
            pass
    assert d.message_label.text().startswith("Improved:"), d.message_label.text()
    viewer = d.open_selected()
    assert viewer is not None
    qtbot.addWidget(viewer)
    assert viewer.version_combo.currentText() == "Improved (Rev AI)"
    assert viewer.pane.text() == "And Mr. John Dashwood had then leisure."
