"""Speechmatics RT v2 client side (also the offline engine's protocol): parse, frame, closes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from captioner.config import SessionConfig
from captioner.engine import protocol
from captioner.engine.base import Hypothesis
from captioner.providers.base import CloseKind, Ended, Final, Partial, Started, VendorError, Word
from captioner.providers.speechmatics import (
    SpeechmaticsOptions,
    SpeechmaticsProvider,
    TemporaryKeyError,
)

# verbatim shapes from the reference (spec and SDK mock server)
ADD_TRANSCRIPT = {
    "message": "AddTranscript", "format": "2.1",
    "metadata": {"transcript": "full tell radar", "start_time": 0.11, "end_time": 1.07},
    "results": [
        {"type": "word", "start_time": 0.11, "end_time": 0.4,
         "alternatives": [{"content": "full", "confidence": 0.7}]},
        {"type": "word", "start_time": 0.41, "end_time": 0.62,
         "alternatives": [{"content": "tell", "confidence": 0.6}]},
        {"type": "word", "start_time": 0.65, "end_time": 1.07,
         "alternatives": [{"content": "radar", "confidence": 1.0}]},
        {"alternatives": [{"confidence": 1, "content": ".", "language": "en", "speaker": "UU"}],
         "attaches_to": "previous", "end_time": 1.07, "is_eos": True, "start_time": 1.07,
         "type": "punctuation"},
    ],
}
PARTIAL = {"message": "AddPartialTranscript", "format": "2.1",
           "metadata": {"start_time": 0.0, "end_time": 1.0, "transcript": "foo"},
           "results": [{"type": "word", "start_time": 0.0, "end_time": 1.0,
                        "alternatives": [{"content": "foo", "confidence": 1.0, "language": "en"}]}]}


def provider(**kwargs) -> SpeechmaticsProvider:
    return SpeechmaticsProvider(SessionConfig(provider="speechmatics", **kwargs))


def test_final_joins_words_and_glues_punctuation():
    [event] = provider().parse(json.dumps(ADD_TRANSCRIPT))
    assert isinstance(event, Final)
    assert event.text == "full tell radar."
    assert (event.start_ms, event.end_ms) == (110, 1070)
    assert [w.text for w in event.words] == ["full", "tell", "radar"]
    assert event.words[0].confidence == 0.7
    assert event.speaker is None  # "UU" is the unknown speaker


def test_partial_and_lifecycle_messages():
    p = provider()
    assert p.parse(json.dumps(PARTIAL)) == [Partial("foo", 0, 1000, words=(
        Word("foo", 0, 1000, 1.0, None),), language="en")]
    started = p.parse(json.dumps({"message": "RecognitionStarted", "id": "abc",
                                  "language_pack_info": {"word_delimiter": " "}}))
    assert started == [Started("abc")]
    assert p.parse('{"message": "EndOfTranscript"}') == [Ended()]
    assert p.parse('{"message": "Info", "type": "recognition_quality"}') == []


def test_attaches_to_next_and_both():
    results = [
        {"type": "punctuation", "attaches_to": "next", "alternatives": [{"content": "\""}]},
        {"type": "word", "start_time": 0, "end_time": 0.2, "alternatives": [{"content": "hi"}]},
        {"type": "punctuation", "attaches_to": "both", "alternatives": [{"content": "-"}]},
        {"type": "word", "start_time": 0.3, "end_time": 0.5, "alternatives": [{"content": "fi"}]},
        {"type": "punctuation", "attaches_to": "none", "alternatives": [{"content": "&"}]},
        {"type": "word", "start_time": 0.6, "end_time": 0.9, "alternatives": [{"content": "co"}]},
    ]
    [event] = provider().parse(json.dumps({"message": "AddTranscript", "results": results}))
    assert event.text == '"hi-fi & co'


def test_speaker_labels_pass_through():
    results = [{"type": "word", "start_time": 0, "end_time": 0.2,
                "alternatives": [{"content": "hi", "speaker": "S2"}]}]
    [event] = provider().parse(json.dumps({"message": "AddTranscript", "results": results}))
    assert event.speaker == "S2"


def test_acks_count_down_unacked_frames():
    p = provider()
    assert len(p.frame_audio(b"\0" * 40_000)) == 3  # split above 0.5 s
    assert p.unacked_frames() == 3
    p.parse('{"message": "AudioAdded", "seq_no": 2}')
    assert p.unacked_frames() == 1
    assert json.loads(p.end_of_stream()) == {"message": "EndOfStream", "last_seq_no": 3}


def test_start_recognition_carries_the_options():
    p = provider(language="de", vocabulary=("gnocchi",), speaker_labels=True,
                 remove_disfluencies=True)
    hs = p.handshake("sm-key")
    assert hs.headers == {"Authorization": "Bearer sm-key"}
    assert hs.url == "wss://eu.rt.speechmatics.com/v2" and hs.wait_for_started
    start = json.loads(hs.first_message)
    assert start["audio_format"] == {"type": "raw", "encoding": "pcm_s16le", "sample_rate": 16000}
    tc = start["transcription_config"]
    assert tc["language"] == "de" and tc["enable_partials"] is True
    assert tc["additional_vocab"] == [{"content": "gnocchi"}]
    assert tc["diarization"] == "speaker"
    assert tc["transcript_filtering_config"] == {"remove_disfluencies": True}
    assert tc["model"] == "enhanced" and "operating_point" not in tc  # current field name
    assert tc["max_delay"] == 2.0 and tc["max_delay_mode"] == "flexible"
    assert "translation_config" not in start
    assert provider(endpoint="wss://sm.internal/v2").handshake(None).url == "wss://sm.internal/v2"


def test_typed_options_reach_start_recognition():
    opts = SpeechmaticsOptions(model="standard", region="us", max_delay=1.0,
                               max_delay_mode="fixed", end_of_utterance_silence_s=0.5,
                               max_speakers=3)
    hs = provider(speaker_labels=True, options=opts, translate_to=("es", "de")).handshake("k")
    assert hs.url == "wss://us.rt.speechmatics.com/v2"
    start = json.loads(hs.first_message)
    tc = start["transcription_config"]
    assert (tc["model"], tc["max_delay"], tc["max_delay_mode"]) == ("standard", 1.0, "fixed")
    assert tc["conversation_config"] == {"end_of_utterance_silence_trigger": 0.5}
    assert tc["speaker_diarization_config"] == {"max_speakers": 3}
    assert start["translation_config"] == {"target_languages": ["es", "de"],
                                           "enable_partials": True}


@pytest.mark.parametrize(("ours", "theirs"), [("zh", "cmn"), ("zh-CN", "cmn"), ("de", "de")])
def test_language_codes_are_mapped(ours, theirs):
    start = json.loads(provider(language=ours).handshake("k").first_message)
    assert start["transcription_config"]["language"] == theirs


def test_idle_timeout_error_then_1008_is_retried():
    p = provider()
    [error] = p.parse('{"message": "Error", "type": "idle_timeout", "reason": "no audio"}')
    assert not error.fatal
    assert p.classify_close(1008, "policy_violation").kind is CloseKind.RETRY
    other = provider()
    assert other.classify_close(1008, "policy_violation").kind is CloseKind.FATAL


def test_temporary_key_failures_are_classified():
    p = provider()
    assert p.classify_exception(TemporaryKeyError("bad key", 401)).kind is CloseKind.FATAL
    assert p.classify_exception(TemporaryKeyError("busy", 503)).kind is CloseKind.RETRY
    assert p.classify_exception(TemporaryKeyError("offline")).kind is CloseKind.RETRY


def test_every_documented_close_code_is_classified():
    p = provider()
    expected = {1000: CloseKind.NORMAL, 1003: CloseKind.FATAL, 1008: CloseKind.FATAL,
                1011: CloseKind.RETRY, 4001: CloseKind.FATAL, 4003: CloseKind.FATAL,
                4004: CloseKind.FATAL, 4005: CloseKind.RETRY, 4006: CloseKind.FATAL,
                4013: CloseKind.RETRY, 401: CloseKind.FATAL, None: CloseKind.RETRY,
                1006: CloseKind.RETRY}
    for code, kind in expected.items():
        verdict = p.classify_close(code, "")
        assert verdict.kind is kind, code
        if kind is not CloseKind.NORMAL:
            assert verdict.message
    assert "API key" in p.classify_close(4001, "not_authorised").message
    assert p.classify_close(4005, "").retry_after_s >= 5  # the vendor asks for 5-10 s
    assert p.classify_close(1008, "idle_timeout").kind is CloseKind.RETRY


def test_error_messages_become_vendor_errors():
    [event] = provider().parse('{"message": "Error", "type": "not_authorised", "reason": "x"}')
    assert isinstance(event, VendorError) and "API key" in event.message


def test_engine_results_round_trip_through_the_client_parser():
    words = (Word('"Hello,', 0, 400, 0.9), Word("world.", 450, 900, 0.8),
             Word("Again?", 1000, 1400))
    hyp = Hypothesis('"Hello, world. Again?', 0, 1400, words, is_final=True)
    [event] = provider().parse(protocol.transcript(hyp))
    assert isinstance(event, Final)
    assert event.text == '"Hello, world. Again?'
    assert [w.text for w in event.words] == ["Hello", "world", "Again"]
    no_words = Hypothesis("just text here", 1000, 2000, (), is_final=False)
    [partial] = provider().parse(protocol.transcript(no_words))
    assert partial.text == "just text here" and partial.start_ms == 1000


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)


@given(st.sampled_from(["AddTranscript", "AddPartialTranscript", "AudioAdded", "Error",
                        "Warning", "RecognitionStarted", "Other"]),
       st.dictionaries(st.sampled_from(["results", "metadata", "seq_no", "type", "reason",
                                        "language_pack_info", "id"]), json_values))
def test_parse_never_raises_on_wrong_shapes(kind, fields):
    provider().parse(json.dumps({"message": kind, **fields}))


@given(st.one_of(st.binary(max_size=64), st.text(max_size=64), json_values.map(json.dumps)))
def test_parse_never_raises_on_junk(raw):
    provider().parse(raw)


def test_parse_survives_huge_numbers_and_deep_nesting():
    """Regression: 1e400 start times raised OverflowError; deep JSON raised RecursionError."""
    huge = {"message": "AddTranscript", "results": [
        {"type": "word", "start_time": 1e308, "end_time": "1e400",
         "alternatives": [{"content": "x"}]}]}
    [event] = provider().parse(json.dumps(huge).replace('"1e400"', "1e400"))
    assert event.text == "x"
    assert provider().parse("[" * 100_000 + "]" * 100_000) == []


def test_the_recognised_language_comes_from_the_words():
    def word(content, language):
        return {"type": "word", "start_time": 0.0, "end_time": 0.5,
                "alternatives": [{"content": content, "confidence": 1.0, "language": language}]}

    punct = {"type": "punctuation", "start_time": 0.5, "end_time": 0.5, "attaches_to": "previous",
             "alternatives": [{"content": ".", "confidence": 1.0, "language": "en"}]}
    msg = {"message": "AddTranscript", "format": "2.1", "metadata": {},
           "results": [word("hola", "es"), word("amigos", "es"), word("okay", "en"), punct]}
    [final] = provider().parse(json.dumps(msg))
    assert (final.text, final.language) == ("hola amigos okay.", "es")
    msg["results"] = [{"type": "word", "start_time": 0.0, "end_time": 0.5,
                       "alternatives": [{"content": "hi", "confidence": 1.0}]}]
    assert provider().parse(json.dumps(msg))[0].language is None
