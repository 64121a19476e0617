"""Settings: typed defaults, persistence through QSettings, versioning."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from captioner.settings import SETTINGS_VERSION, Key, Settings, reset_notice


@pytest.fixture
def ini(tmp_path):
    return str(tmp_path / "captioner.ini")


def make(ini: str) -> Settings:
    return Settings(QSettings(ini, QSettings.Format.IniFormat))


def test_defaults_when_nothing_is_stored(ini):
    settings = make(ini)
    for key in Key:
        assert settings.get(key) == key.default
    assert settings.get(Key.PROVIDER) == "local"


def test_values_survive_a_restart_with_their_types(ini):
    settings = make(ini)
    settings.set(Key.OVERLAY_LINES, 5)
    settings.set(Key.OVERLAY_BG_OPACITY, 0.25)
    settings.set(Key.OVERLAY_OUTLINE, False)
    settings.set(Key.PROVIDER, "deepgram")
    settings.sync()
    again = make(ini)
    assert again.get(Key.OVERLAY_LINES) == 5
    assert again.get(Key.OVERLAY_BG_OPACITY) == 0.25
    assert again.get(Key.OVERLAY_OUTLINE) is False
    assert again.get(Key.PROVIDER) == "deepgram"


def test_wrong_type_is_refused(ini):
    with pytest.raises(TypeError):
        make(ini).set(Key.OVERLAY_LINES, "five")


def test_version_is_written(ini):
    make(ini).sync()
    stored = QSettings(ini, QSettings.Format.IniFormat).value("settings_version")
    assert int(stored) == SETTINGS_VERSION


def test_corrupt_value_falls_back_to_default(ini):
    q = QSettings(ini, QSettings.Format.IniFormat)
    q.setValue(Key.OVERLAY_FONT_PT.path, "huge")
    q.sync()
    assert make(ini).get(Key.OVERLAY_FONT_PT) == Key.OVERLAY_FONT_PT.default


def test_session_config_from_settings(ini):
    settings = make(ini)
    settings.set(Key.PROVIDER, "speechmatics")
    settings.set(Key.ENDPOINT_SPEECHMATICS, "wss://speech.example.internal/v2")
    settings.set(Key.VOCABULARY, "Kubernetes, captioner ,")
    cfg = settings.session_config()
    assert cfg.provider == "speechmatics"
    assert cfg.endpoint == "wss://speech.example.internal/v2"
    assert cfg.vocabulary == ("Kubernetes", "captioner")
    settings.set(Key.PROVIDER, "nonsense")
    assert settings.session_config().provider == "local"


def test_vendor_options_survive_a_restart_typed(ini):
    from captioner.providers.deepgram import DeepgramOptions

    settings = make(ini)
    opts = DeepgramOptions(model="nova-2", endpointing=0, utterance_end_ms=1200, numerals=True)
    settings.set_vendor_options("deepgram", opts)
    settings.set(Key.PROVIDER, "deepgram")
    settings.sync()
    again = make(ini)
    assert again.vendor_options("deepgram") == opts
    assert again.session_config().options == opts
    # only what differs from the defaults is stored, so new defaults still apply
    q = QSettings(ini, QSettings.Format.IniFormat)
    q.beginGroup("options/deepgram")
    assert sorted(q.childKeys()) == ["endpointing", "model", "numerals", "utterance_end_ms"]


def test_a_bad_stored_option_falls_back_to_its_default(ini, caplog):
    from captioner.providers.speechmatics import SpeechmaticsOptions

    q = QSettings(ini, QSettings.Format.IniFormat)
    q.setValue("options/speechmatics/max_delay", "9")  # out of range
    q.setValue("options/speechmatics/model", "standard")
    q.setValue("options/speechmatics/bogus", "1")
    q.sync()
    opts = make(ini).vendor_options("speechmatics")
    assert opts == SpeechmaticsOptions(model="standard")
    assert "max_delay" in caplog.text


def test_other_vendors_options_are_refused(ini):
    from captioner.providers.deepgram import DeepgramOptions

    with pytest.raises(TypeError):
        make(ini).set_vendor_options("revai", DeepgramOptions())


def test_upgrade_to_version_3_makes_the_overlay_readable_and_keeps_it_floating(ini):
    q = QSettings(ini, QSettings.Format.IniFormat)
    q.setValue("settings_version", 2)
    q.setValue(Key.OVERLAY_BG_OPACITY.path, 0.6)  # the old default, stored by Preferences
    q.setValue(Key.OVERLAY_DOCK.path, "bottom")
    q.sync()
    settings = make(ini)
    assert settings.get(Key.OVERLAY_BG_OPACITY) == Key.OVERLAY_BG_OPACITY.default >= 0.85
    assert settings.get(Key.OVERLAY_DOCK) == "floating"
    assert int(settings.q.value("settings_version")) == SETTINGS_VERSION == 3


def test_upgrade_to_version_3_keeps_an_opacity_the_user_chose(ini):
    q = QSettings(ini, QSettings.Format.IniFormat)
    q.setValue("settings_version", 2)
    q.setValue(Key.OVERLAY_BG_OPACITY.path, 0.35)
    q.sync()
    assert make(ini).get(Key.OVERLAY_BG_OPACITY) == 0.35
    # and a version-3 file is left alone: docking there reserves space on purpose
    q = QSettings(ini, QSettings.Format.IniFormat)
    q.setValue(Key.OVERLAY_DOCK.path, "top")
    q.setValue(Key.OVERLAY_BG_OPACITY.path, 0.6)
    q.sync()
    again = make(ini)
    assert again.get(Key.OVERLAY_DOCK) == "top" and again.get(Key.OVERLAY_BG_OPACITY) == 0.6


def test_upgrade_from_version_1_turns_regional_endpoints_into_regions(ini):
    q = QSettings(ini, QSettings.Format.IniFormat)
    q.setValue("settings_version", 1)
    q.setValue(Key.ENDPOINT_REVAI.path, "wss://ec1.api.rev.ai")
    q.setValue(Key.ENDPOINT_ASSEMBLYAI.path, "wss://streaming.eu.assemblyai.com/v3/ws")
    q.setValue(Key.ENDPOINT_SPEECHMATICS.path, "wss://us.rt.speechmatics.com/v2/")
    q.setValue(Key.ENDPOINT_DEEPGRAM.path, "ws://127.0.0.1:9000")  # a real override stays
    q.sync()
    settings = make(ini)
    assert settings.vendor_options("revai").region == "eu"
    assert settings.vendor_options("assemblyai").region == "eu"
    assert settings.vendor_options("speechmatics").region == "us"
    assert settings.get(Key.ENDPOINT_REVAI) == ""
    assert settings.get(Key.ENDPOINT_ASSEMBLYAI) == ""
    assert settings.get(Key.ENDPOINT_SPEECHMATICS) == ""
    assert settings.get(Key.ENDPOINT_DEEPGRAM) == "ws://127.0.0.1:9000"
    assert int(settings.q.value("settings_version")) == SETTINGS_VERSION
def test_invalid_stored_values_are_reset_and_named(tmp_path):
    """``session/source=banana`` broke every start ("unexpected error") and was never reset;
    other garbage was ignored silently."""
    ini = tmp_path / "captioner.ini"
    ini.write_text("[session]\nsource=banana\nprovider=local\nspeaker_labels=maybe\n"
                   "vocabulary=alpha,beta\n[overlay]\nlines=999\nbg_opacity=nan\n"
                   "text_color=#00ff00\nfont_pt=abc\n[history]\nretention_days=30\n")
    settings = Settings(QSettings(str(ini), QSettings.Format.IniFormat))
    assert set(settings.reset_keys) == {Key.SOURCE, Key.SPEAKER_LABELS, Key.OVERLAY_LINES,
                                        Key.OVERLAY_BG_OPACITY, Key.OVERLAY_FONT_PT}
    assert settings.get(Key.SOURCE) == "mic" and settings.get(Key.OVERLAY_LINES) == 3
    # valid values are kept, including an INI list that is really one string
    assert settings.get(Key.OVERLAY_TEXT_COLOR) == "#00ff00"
    assert settings.get(Key.RETENTION_DAYS) == 30
    assert settings.get(Key.VOCABULARY) == "alpha,beta"
    notice = reset_notice(settings.reset_keys)
    assert "session source" in notice and "overlay lines" in notice
    settings.sync()
    assert Settings(QSettings(str(ini), QSettings.Format.IniFormat)).reset_keys == []


def test_catch_up_preference_reaches_the_session_config(ini):
    settings = make(ini)
    assert settings.session_config("revai").catch_up == "live"
    settings.set(Key.CATCH_UP, "complete")
    assert settings.session_config("revai").catch_up == "complete"
    settings.set(Key.CATCH_UP, "nonsense")
    assert settings.session_config("revai").catch_up == "live"
