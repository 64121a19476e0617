"""Preferences → settings → session config → the wire: what a user types in Preferences is
what the vendor fake on 127.0.0.1 receives (Rev AI's vocabulary as a custom vocabulary id;
each vendor's batch options in its batch request)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox

from captioner.batch import JobStore, transcribe_file
from captioner.gui.preferences import PreferencesDialog
from captioner.settings import Settings
from captioner.stream import State
from captioner.testing.batch_fakes import FAKES, FAST, run_bounded
from captioner.testing.fake_revai import FakeRevAi
from captioner.testing.fake_revai_batch import FakeRevAiBatch
from captioner.testing.fakes import Utterance
from captioner.transcribe import transcribe_pcm
from captioner.transcript import Transcript
from tests.integration.test_batch_options import CASES, pairs_for
from tests.integration.test_batch_options import KEY as BATCH_KEY
from tests.integration.test_batch_options import WAV as BATCH_WAV
from tests.integration.test_vendor_options import PCM

KEY = "test-key"
SPEECH = [Utterance("Hello there.", 100, 600)]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CAPTIONER_DATA_DIR", str(tmp_path / "data"))


def type_into(widget: Any, value: str) -> None:
    if isinstance(widget, QComboBox):
        widget.setCurrentIndex(widget.findData(value))
        assert widget.currentData() == value
    elif isinstance(widget, QCheckBox):
        widget.setChecked(value == "true")
    elif isinstance(widget, QSpinBox):
        widget.setValue(int(value))
    else:
        assert isinstance(widget, QLineEdit)
        widget.setText(value)


def saved_config(qtbot, settings: Settings, store, provider: str, endpoint: str,
                 vocabulary: str, options: dict[str, str], key: str = KEY):
    """Type into Preferences as a user would, apply, and read the session config back."""
    dialog = PreferencesDialog(settings, store)
    qtbot.addWidget(dialog)
    page = dialog.provider_page
    page.provider_combo.setCurrentIndex(page.provider_combo.findData(provider))
    page.vocabulary_edit.setText(vocabulary)
    page.advanced_check.setChecked(True)
    page.endpoint_edits[provider].setText(endpoint)
    page.key_edits[provider].setText(key)
    form = page.option_forms[provider]
    for name, value in options.items():
        type_into(form.widgets[name], value)
    with qtbot.waitSignal(dialog.settings_applied):
        assert dialog.apply()
    return Settings(QSettings(settings.q.fileName(), QSettings.Format.IniFormat)).session_config()


def test_preferences_vocabulary_reaches_rev_as_a_custom_vocabulary_id(qtbot, settings,
                                                                       store) -> None:
    with FakeRevAiBatch(keys=[KEY], vocabulary_s=0.2) as vocab:
        async def scenario() -> None:
            async with FakeRevAi(SPEECH, vocabulary_ids=vocab.complete_vocabulary_ids) as rt:
                cfg = saved_config(qtbot, settings, store, "revai", rt.url,
                                   "gnocchi, Keanu Reeves",
                                   {"vocabulary_url": vocab.base_url + "/vocabularies"})
                assert cfg.provider == "revai"
                session = await transcribe_pcm(cfg, store.get("revai"), PCM, False,
                                               Transcript(), lambda e: None)
                assert session.state is State.STOPPED, session.message
                (vocab_id,) = vocab.vocabularies
                assert vocab.vocabularies[vocab_id].phrases == ["gnocchi", "Keanu Reeves"]
                assert [c.param("custom_vocabulary_id") for c in rt.connections] == [vocab_id]

        asyncio.run(asyncio.wait_for(scenario(), 30))


@pytest.mark.parametrize("provider", list(CASES))
def test_preferences_batch_options_reach_the_batch_request(qtbot, settings, store, tmp_path,
                                                          provider) -> None:
    """Each batch option typed into the vendor's Preferences form is in the request."""
    case = CASES[provider]
    with FAKES[provider](keys=[BATCH_KEY]) as fake:
        cfg = saved_config(qtbot, settings, store, provider, fake.base_url, "",
                           pairs_for(case, fake), key=BATCH_KEY)
        run_bounded(transcribe_file(BATCH_WAV, provider, cfg, store.get(provider),
                                    endpoint=cfg.endpoint, jobs=JobStore(tmp_path / "jobs.json"),
                                    settings=FAST))
        case.received(fake)
