"""Live translation: Speechmatics' translation messages, the choice of targets, the model."""

from __future__ import annotations

import json

import pytest

from captioner.config import SessionConfig
from captioner.providers.base import Final, FinalTranslation, PartialTranslation
from captioner.providers.local import LocalProvider
from captioner.providers.speechmatics import SpeechmaticsProvider
from captioner.providers.translation import check_targets, parse_targets, targets_for
from captioner.transcript import Segment, Transcript, Translation
from captioner.transcript.model import attach_translations

# the shape of the RT API reference and the SDK's handler test (checked 2026-12-01)
ADD_TRANSLATION = {
    "message": "AddTranslation", "format": "2.1", "language": "es",
    "results": [
        {"start_time": 0.5, "end_time": 1.8, "content": "Hola a todos.", "speaker": "S1"},
        {"start_time": 2.0, "end_time": 3.1, "content": "¿Cómo estáis?", "speaker": "S1"},
    ],
}
PARTIAL_TRANSLATION = {
    "message": "AddPartialTranslation", "format": "2.1", "language": "de",
    "results": [{"start_time": 3.5, "end_time": 4.0, "content": "Guten", "speaker": "UU"},
                {"start_time": 4.0, "end_time": 4.4, "content": "Morgen"}],
}


def provider(**kwargs) -> SpeechmaticsProvider:
    return SpeechmaticsProvider(SessionConfig(provider="speechmatics", **kwargs))


def test_final_translation_gives_one_event_per_sentence() -> None:
    events = provider().parse(json.dumps(ADD_TRANSLATION))
    assert events == [FinalTranslation("es", "Hola a todos.", 500, 1800, "S1"),
                      FinalTranslation("es", "¿Cómo estáis?", 2000, 3100, "S1")]


def test_partial_translation_joins_its_sentences_and_drops_unknown_speakers() -> None:
    [event] = provider().parse(json.dumps(PARTIAL_TRANSLATION))
    assert event == PartialTranslation("de", "Guten Morgen", 3500, 4400, None)


def test_empty_partial_translation_clears_and_malformed_ones_are_ignored() -> None:
    p = provider()
    assert p.parse(json.dumps({**PARTIAL_TRANSLATION, "results": []})) == [
        PartialTranslation("de", "", 0, 0)]
    assert p.parse(json.dumps({"message": "AddTranslation", "results": [{"content": "x"}]})) == []
    assert p.parse(json.dumps({**ADD_TRANSLATION, "results": [{"content": 3}, "x", None]})) == []


def test_start_recognition_carries_translation_config_only_when_targets_are_chosen() -> None:
    assert "translation_config" not in provider().start_recognition()
    start = provider(translate_to=("es", "de")).start_recognition()
    assert start["translation_config"] == {"target_languages": ["es", "de"],
                                           "enable_partials": True}


def test_offline_engine_never_gets_a_translation_config() -> None:
    cfg = SessionConfig(provider="local", translate_to=("es",))
    assert "translation_config" not in LocalProvider(cfg).start_recognition()


@pytest.mark.parametrize(("provider_name", "language", "targets", "wanted"), [
    ("speechmatics", "en", ("es", "de"), None),
    ("speechmatics", "de", ("en",), None),
    ("speechmatics", "en", (), None),
    ("speechmatics", "en", ("es", "de", "fr"), "at most 2"),
    ("speechmatics", "de", ("es",), "can't translate German into Spanish"),
    ("speechmatics", "en", ("xx",), "Choose from: bg, ca, cmn"),
    ("speechmatics", "en", ("en",), "already in English"),
    ("deepgram", "en", ("es",), "Deepgram does not translate live"),
])
def test_check_targets_says_what_is_wrong(provider_name, language, targets, wanted) -> None:
    message = check_targets(provider_name, language, targets)
    if wanted is None:
        assert message is None
    else:
        assert message is not None and wanted in message


def test_parse_targets_normalizes_and_drops_repeats() -> None:
    assert parse_targets(" ES, de,,es , zh") == ("es", "de", "cmn")
    assert targets_for("revai", "en") == ()
    assert "en" not in targets_for("speechmatics", "en") and "es" in targets_for(
        "speechmatics", "en")


def test_transcript_replaces_partial_translations_and_appends_finals() -> None:
    t = Transcript()
    t.apply(Final("Hello everyone.", 500, 1800), "mic", offset_ms=1000)
    t.apply(PartialTranslation("es", "Hola", 500, 900), "mic", offset_ms=1000)
    change = t.apply(PartialTranslation("es", "Hola a", 500, 1200), "mic", offset_ms=1000)
    assert change.translation == Translation("es", "Hola a", 1500, 2200, "mic", None, False)
    assert t.partial_translations[("mic", "es")].text == "Hola a"
    t.apply(FinalTranslation("es", "Hola a todos.", 500, 1800), "mic", offset_ms=1000)
    assert t.partial_translations == {}
    assert [(x.text, x.start_ms, x.end_ms) for x in t.translations] == [
        ("Hola a todos.", 1500, 2800)]
    assert t.languages == ("es",)
    assert len(t.finals) == 1  # translations are not finals


def test_partial_translation_reaching_further_than_the_final_stays() -> None:
    t = Transcript()
    t.apply(PartialTranslation("es", "Hola a todos. Cómo", 0, 3000))
    t.apply(FinalTranslation("es", "Hola a todos.", 0, 1500))
    assert t.partial_translations[("mic", "es")].text == "Hola a todos. Cómo"
    t.apply(PartialTranslation("es", "", 0, 0))
    assert t.partial_translations == {}


def test_translations_attach_to_the_final_where_their_sentence_starts() -> None:
    segs = [Segment("mic-1", "Hello everyone.", 0, 900), Segment("mic-2", "How are", 1000, 1500),
            Segment("mic-3", "you? Fine.", 1500, 2600), Segment("system-4", "Hi.", 100, 400,
                                                               source="system")]
    trs = [Translation("es", "Hola a todos.", 0, 900),
           Translation("es", "¿Cómo estás?", 1000, 2000),
           Translation("es", "Bien.", 2200, 2600),
           Translation("de", "Hallo zusammen.", 0, 900),
           Translation("es", "Hola.", 100, 400, source="system"),
           Translation("es", "early", -50, 0, source="system")]
    assert attach_translations(segs, trs) == {
        "mic-1": {"es": "Hola a todos.", "de": "Hallo zusammen."},
        "mic-2": {"es": "¿Cómo estás?"},
        "mic-3": {"es": "Bien."},
        "system-4": {"es": "early Hola."},
    }


def test_translated_segments_are_the_caption_track_of_one_language() -> None:
    t = Transcript()
    t.add_translation(Translation("de", "Zwei.", 2000, 2500))
    t.add_translation(Translation("de", "Eins.", 0, 900))
    t.add_translation(Translation("es", "Uno.", 0, 900))
    segs = t.translated_segments("de")
    assert [(s.text, s.start_ms, s.is_final) for s in segs] == [("Eins.", 0, True),
                                                                ("Zwei.", 2000, True)]


def test_a_translation_repeated_after_a_reconnect_is_kept_once() -> None:
    """Replayed audio after a reconnect can be translated again; the second copy is dropped."""
    t = Transcript()
    first = t.apply(FinalTranslation("es", "Hola.", 0, 500))
    again = t.apply(FinalTranslation("es", "Hola.", 0, 500))
    assert first.translation is not None and again.translation is None
    t.apply(FinalTranslation("de", "Hallo.", 0, 500))
    assert [x.text for x in t.translations] == ["Hola.", "Hallo."]
