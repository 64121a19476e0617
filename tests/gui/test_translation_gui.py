"""Live translation in the app: the choice in Preferences, the overlay's translated lines in
their own style, the control window's transcript, the journal and the export — end to end
against the Speechmatics protocol fake."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor

from captioner.audio.buffer import AudioBuffer
from captioner.audio.wavfile import read_audio
from captioner.gui.caption_model import CaptionModel
from captioner.gui.caption_style import CaptionStyle
from captioner.gui.caption_view import CaptionView
from captioner.gui.preferences import PreferencesDialog
from captioner.gui.shell import AppShell
from captioner.providers.base import Final, FinalTranslation, Partial, PartialTranslation
from captioner.providers.speechmatics import SpeechmaticsProvider
from captioner.settings import Key, Settings
from captioner.stream import VendorStream
from captioner.testing import Utterance
from captioner.testing.fake_speechmatics import FakeSpeechmatics
from captioner.transcript import Transcript
from tests.conftest import DATA

SPEECH = [Utterance("Good morning, everyone.", 100, 900), Utterance("Let us begin.", 1000, 1500)]
BOOK = {"es": {"Good morning, everyone.": "Buenos días a todos.",
               "Let us begin.": "Empecemos."}}


def test_translation_choice_is_shown_only_for_speechmatics_and_saved(qtbot, settings, store):
    dialog = PreferencesDialog(settings, store)
    qtbot.addWidget(dialog)
    page = dialog.provider_page
    box = page.translation_box
    page.provider_combo.setCurrentIndex(page.provider_combo.findData("deepgram"))
    assert box.isHidden()
    page.provider_combo.setCurrentIndex(page.provider_combo.findData("speechmatics"))
    assert not box.isHidden()
    first, second = box.combos
    assert first.findData("cmn") > 0 and first.findData("en") < 0  # English speech
    first.setCurrentIndex(first.findData("es"))
    second.setCurrentIndex(second.findData("de"))
    assert dialog.apply()
    again = Settings(QSettings(settings.q.fileName(), QSettings.Format.IniFormat))
    assert again.get(Key.TRANSLATE_TO) == "es,de"
    assert again.session_config().translate_to == ("es", "de")
    assert again.session_config("local").translate_to == ()  # the offline engine can't

    # German speech translates into English only; the stored choice is kept while hidden
    page.language_combo.setCurrentIndex(page.language_combo.findData("de"))
    assert [first.itemData(i) for i in range(first.count())] == ["", "en"]
    page.provider_combo.setCurrentIndex(page.provider_combo.findData("revai"))
    assert dialog.apply()
    assert settings.get(Key.TRANSLATE_TO) == "es,de"

    reopened = PreferencesDialog(settings, store)
    qtbot.addWidget(reopened)
    rp = reopened.provider_page
    assert rp.translation_box.isHidden()
    rp.language_combo.setCurrentIndex(rp.language_combo.findData("en"))
    rp.provider_combo.setCurrentIndex(rp.provider_combo.findData("speechmatics"))
    assert rp.translation_box.targets() == ("es", "de")  # back as it was


def test_translation_style_is_set_under_appearance(qtbot, settings, store):
    dialog = PreferencesDialog(settings, store)
    qtbot.addWidget(dialog)
    page = dialog.appearance_page
    page.translation_button.set_color("#ff80ab")
    page.translation_spin.setValue(70)
    page.on_control_changed()
    drawn = page.preview.view
    drawn.grab()
    [line] = [ln for ln in drawn.drawn_lines() if ln.language == "es"]
    assert line.text == "Bienvenidos de nuevo a todos." and line.color.name() == "#ff80ab"
    assert dialog.apply()
    style = CaptionStyle.from_settings(settings)
    assert (style.translation_color, style.translation_scale) == ("#ff80ab", 0.7)


def test_caption_model_puts_each_translation_under_its_line() -> None:
    t = Transcript()
    m = CaptionModel()
    m.apply(t.apply(Final("Good morning, everyone.", 0, 900)))
    m.apply(t.apply(Partial("Let us", 1000, 1300)))
    m.apply(t.apply(PartialTranslation("es", "Buenos días", 0, 600)))
    assert m.finals[0].translations == (("es", "Buenos días", False),)
    m.apply(t.apply(PartialTranslation("es", "Empecemos", 1000, 1300)))  # under the partial
    assert m.finals[0].translations == ()
    assert m.partials[0].translations == (("es", "Empecemos", False),)
    m.take_stale()
    m.apply(t.apply(FinalTranslation("es", "Buenos días a todos.", 0, 900)))
    assert m.finals[0].translations == (("es", "Buenos días a todos.", True),)
    assert m.take_stale() == {"mic-1"}
    m.apply(t.apply(Final("Let us begin.", 1000, 1500)))
    assert m.finals[1].translations == (("es", "Empecemos", False),)  # moved with its final
    m.apply(t.apply(FinalTranslation("es", "Empecemos.", 1000, 1500)))
    assert m.finals[1].translations == (("es", "Empecemos.", True),)
    assert m.partials == []


def test_overlay_draws_translations_in_their_own_style_within_the_line_budget(qtbot) -> None:
    style = CaptionStyle(lines=4, translation_color="#80deea")
    view = CaptionView(style)
    qtbot.addWidget(view)
    view.resize(900, view.height_for_lines(4))
    t = Transcript()
    for event in (Final("Good morning, everyone.", 0, 900),
                  FinalTranslation("es", "Buenos días a todos.", 0, 900),
                  FinalTranslation("de", "Guten Morgen zusammen.", 0, 900),
                  Final("Let us begin.", 1000, 1500),
                  PartialTranslation("es", "Empecemos", 1000, 1500)):
        view.apply(t.apply(event))
    view.grab()
    lines = view.drawn_lines()
    assert [(ln.text, ln.language) for ln in lines] == [
        ("Buenos días a todos.", "es"), ("Guten Morgen zusammen.", "de"),
        ("Let us begin.", None), ("Empecemos", "es")]  # 4 rows: the oldest line scrolled off
    assert lines[0].color.name() == "#80deea" and lines[0].color.alphaF() == 1.0
    assert lines[3].color.alphaF() < 1.0  # a partial translation is dimmer
    assert lines[2].color == QColor("#ffffff")
    tops = [ln.top_px for ln in lines]
    assert tops == sorted(tops) and tops[-1] + view.line_height_px <= view.height()


def speechmatics_runner(logs: list[Any], pcm: bytes):
    """A runner streaming ``pcm`` through a real VendorStream to the Speechmatics fake."""

    def factory(request: Any, transcript: Transcript, register: Any) -> Any:
        async def run(listener: Any, stop: asyncio.Event) -> str:
            async with FakeSpeechmatics(SPEECH, phrasebook=BOOK, translation_delay_ms=200) as srv:
                cfg = replace(request.config, endpoint=srv.url)
                audio = AudioBuffer()
                audio.put(pcm)
                audio.close()
                stream = VendorStream(lambda: SpeechmaticsProvider(cfg), audio, transcript,
                                      secret=request.secret, listener=listener,
                                      title="Speechmatics", open_timeout_s=5, eos_timeout_s=5)
                await stream.run()
                logs.extend(srv.connections)
            await stop.wait()
            return "done"

        return run

    return factory


def test_app_captions_translates_journals_and_exports(qtbot, settings, store, journal_dir,
                                                      tmp_path: Path):
    settings.set(Key.PROVIDER, "speechmatics")
    settings.set(Key.TRANSLATE_TO, "es")
    settings.set(Key.OVERLAY_LINES, 4)
    store.set("speechmatics", "test-key")
    logs: list[Any] = []
    shell = AppShell(settings, store, journal_dir=journal_dir, use_tray=False,
                     runner_factory=speechmatics_runner(logs, read_audio(
                         DATA / "librivox-0870.wav")[:1600 * 32]),
                     device_lister=lambda: [])
    qtbot.addWidget(shell.window)
    qtbot.addWidget(shell.overlay)
    shell.show()
    try:
        shell.controller.start()
        qtbot.waitUntil(lambda: "[es] Empecemos." in shell.window.transcript.text(),
                        timeout=10000)
        assert logs[0].config["translation_config"] == {"target_languages": ["es"],
                                                        "enable_partials": True}
        assert shell.window.transcript.text() == (
            "Good morning, everyone.\n    [es] Buenos días a todos.\n"
            "Let us begin.\n    [es] Empecemos.")
        shell.overlay.view.grab()
        assert [(ln.text, ln.language) for ln in shell.overlay.view.drawn_lines()] == [
            ("Good morning, everyone.", None), ("Buenos días a todos.", "es"),
            ("Let us begin.", None), ("Empecemos.", "es")]
        written = shell.controller.export_to(tmp_path / "talk.srt")
        assert [p.name for p in written] == ["talk.srt", "talk.es.srt"]
        assert "Buenos días a todos." in (tmp_path / "talk.es.srt").read_text()
        shell.controller.stop()
        qtbot.waitUntil(lambda: shell.controller.run_state == "stopped", timeout=15000)
    finally:
        shell.controller.shutdown(3000)
    [path] = journal_dir.glob("*.jsonl")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records[0]["translate_to"] == ["es"]
    assert [r["text"] for r in records if r["type"] == "translation"] == [
        "Buenos días a todos.", "Empecemos."]


def test_an_impossible_translation_still_captions_and_says_why(qtbot, settings, store,
                                                               journal_dir):
    settings.set(Key.PROVIDER, "speechmatics")
    settings.set(Key.LANGUAGE, "ar")
    settings.set(Key.TRANSLATE_TO, "es")
    store.set("speechmatics", "test-key")
    shell = AppShell(settings, store, journal_dir=journal_dir, use_tray=False,
                     runner_factory=speechmatics_runner([], b""), device_lister=lambda: [])
    qtbot.addWidget(shell.window)
    qtbot.addWidget(shell.overlay)
    try:
        request = shell.controller.build_request()
        assert request is not None and request.config.translate_to == ()
        banner = shell.window.banners.banners["translation"]
        assert "Live translation is off" in banner.label.text()
        assert "does not translate Arabic speech live" in banner.label.text()
        settings.set(Key.LANGUAGE, "en")  # fixed in Preferences: the banner goes
        shell.apply_settings()
        assert "translation" not in shell.window.banners.banners
    finally:
        shell.controller.shutdown(3000)
