"""Handshakes (auth placement, query, endpoints, option mapping) and audio framing."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from captioner.config import SessionConfig
from captioner.providers.assemblyai import (
    MAX_FRAME_BYTES,
    MIN_FRAME_BYTES,
    AssemblyAiOptions,
    AssemblyAiProvider,
    TemporaryTokenError,
    token_url,
)
from captioner.providers.base import CloseKind, Provider
from captioner.providers.deepgram import DeepgramOptions, DeepgramProvider
from captioner.providers.revai import CONTENT_TYPE, RevAiOptions, RevAiProvider

KEY = "sk-secret-123"


def split(url: str) -> tuple[str, str, str, dict[str, list[str]]]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc, parts.path, parse_qs(parts.query, keep_blank_values=True)


def cfg(provider: str, **kwargs) -> SessionConfig:
    return SessionConfig(provider=provider, **kwargs)


@pytest.mark.parametrize("cls", [RevAiProvider, AssemblyAiProvider, DeepgramProvider])
def test_providers_satisfy_the_protocol(cls) -> None:
    provider = cls(SessionConfig())
    assert isinstance(provider, Provider)
    assert provider.max_speed == 1.0  # never faster than real time
    assert provider.name in ("revai", "assemblyai", "deepgram")
    assert provider.title in ("Rev AI", "AssemblyAI", "Deepgram")


@pytest.mark.parametrize("cls", [RevAiProvider, AssemblyAiProvider, DeepgramProvider])
def test_handshake_never_logs_the_secret(cls, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    # Rev with an existing vocabulary id (a word list would be built over the network:
    # tests/integration/test_revai_vocabulary.py)
    options = RevAiOptions(custom_vocabulary_id="cv1") if cls is RevAiProvider else None
    cls(SessionConfig(vocabulary=("x",), language="de", options=options)).handshake(KEY)
    assert caplog.records  # it does log, just not the key or the query
    assert KEY not in caplog.text
    assert "?" not in caplog.text


# -- Rev AI ------------------------------------------------------------------------


def test_rev_token_is_the_access_token_query_param() -> None:
    hs = RevAiProvider(cfg("revai")).handshake(KEY)
    scheme, host, path, query = split(hs.url)
    assert (scheme, host, path) == ("wss", "api.rev.ai", "/speechtotext/v1/stream")
    assert query["access_token"] == [KEY]
    assert query["content_type"] == [CONTENT_TYPE]
    assert query["language"] == ["en"]
    assert hs.headers == {}
    assert hs.first_message is None and hs.wait_for_started


def test_rev_options_map_to_query_params(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    config = cfg(
        "revai",
        language="es-MX",
        profanity_filter=True,
        remove_disfluencies=True,
        speaker_labels=True,
        options=RevAiOptions(transcriber="machine", detailed_partials=True,
                             max_segment_duration_seconds=10, metadata="talk"),
    )
    _, _, _, query = split(RevAiProvider(config).handshake(KEY).url)
    assert query["language"] == ["es"]
    assert query["filter_profanity"] == ["true"]
    assert query["remove_disfluencies"] == ["true"]
    assert query["enable_speaker_switch"] == ["true"]
    assert query["transcriber"] == ["machine"]
    assert query["detailed_partials"] == ["true"]
    assert query["max_segment_duration_seconds"] == ["10"]
    assert query["metadata"] == ["talk"]
    assert "custom_vocabulary_id" not in query
    # a word list becomes a custom_vocabulary_id through Rev's custom vocabularies API:
    # tests/integration/test_revai_vocabulary.py


def test_rev_custom_vocabulary_id_passes_through() -> None:
    config = cfg("revai", options=RevAiOptions(custom_vocabulary_id="cv123"))
    assert split(RevAiProvider(config).handshake(KEY).url)[3]["custom_vocabulary_id"] == ["cv123"]


@pytest.mark.parametrize(("ours", "revs"), [("zh", "cmn"), ("zh-TW", "cmn"), ("fr", "fr")])
def test_rev_language_codes_are_mapped(ours, revs) -> None:
    query = split(RevAiProvider(cfg("revai", language=ours)).handshake(KEY).url)[3]
    assert query["language"] == [revs]


def test_rev_has_no_automatic_language() -> None:
    p = RevAiProvider(cfg("revai", language="multi"))
    with pytest.raises(Exception) as caught:
        p.handshake(KEY)
    verdict = p.classify_exception(caught.value)
    assert verdict.kind is CloseKind.FATAL and "choose one" in verdict.message


def test_rev_defaults_omit_optional_flags() -> None:
    _, _, _, query = split(RevAiProvider(cfg("revai")).handshake(None).url)
    assert set(query) == {"content_type", "language"}


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("wss://ec1.api.rev.ai", "wss://ec1.api.rev.ai/speechtotext/v1/stream"),
        ("ws://127.0.0.1:9000", "ws://127.0.0.1:9000/speechtotext/v1/stream"),
        ("https://rev.example.org/", "wss://rev.example.org/speechtotext/v1/stream"),
        ("rev.example.org:8443", "wss://rev.example.org:8443/speechtotext/v1/stream"),
        ("ws://10.0.0.5:8080/custom/stream", "ws://10.0.0.5:8080/custom/stream"),
    ],
)
def test_rev_endpoint_override_keeps_the_path_for_bare_hosts(endpoint, expected) -> None:
    url = RevAiProvider(cfg("revai", endpoint=endpoint)).handshake(KEY).url
    assert url.split("?")[0] == expected
    assert split(url)[3]["access_token"] == [KEY]


def test_rev_eu_region_and_endpoint_query_wins() -> None:
    eu = RevAiProvider(cfg("revai", options=RevAiOptions(region="eu"))).handshake(KEY).url
    assert eu.startswith("wss://ec1.api.rev.ai/speechtotext/v1/stream?")
    url = RevAiProvider(cfg("revai", endpoint="ws://h:1/s?language=fr&x=1")).handshake(KEY).url
    query = split(url)[3]
    assert query["language"] == ["fr"] and query["x"] == ["1"]


def test_rev_framing_and_end_of_stream() -> None:
    p = RevAiProvider(cfg("revai"))
    assert p.frame_audio(b"") == []
    assert p.frame_audio(b"\x01\x02" * 100) == [b"\x01\x02" * 100]
    assert p.flush_audio() == []
    assert p.end_of_stream() == "EOS"


# -- AssemblyAI --------------------------------------------------------------------


def test_aai_key_is_the_raw_authorization_header() -> None:
    hs = AssemblyAiProvider(cfg("assemblyai")).handshake(KEY)
    scheme, host, path, query = split(hs.url)
    assert (scheme, host, path) == ("wss", "streaming.assemblyai.com", "/v3/ws")
    assert hs.headers == {"Authorization": KEY}  # no Bearer/Token prefix
    assert KEY not in hs.url and "token" not in query
    assert query["sample_rate"] == ["16000"]
    assert query["encoding"] == ["pcm_s16le"]
    assert query["format_turns"] == ["true"]
    assert query["speech_model"] == ["u3-rt-pro"]  # required since 2026; no server default
    assert hs.wait_for_started


def test_aai_options_map_to_query_params(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    config = cfg(
        "assemblyai",
        vocabulary=("Keanu Reeves", "gnocchi"),
        speaker_labels=True,
        profanity_filter=True,
        remove_disfluencies=True,
        options=AssemblyAiOptions(format_turns=False, min_turn_silence=300, max_turn_silence=900,
                                  max_speakers=3, speech_model="universal-streaming-english",
                                  end_of_turn_confidence_threshold=0.5, prompt="Be brief"),
    )
    _, _, _, query = split(AssemblyAiProvider(config).handshake(KEY).url)
    assert json.loads(query["keyterms_prompt"][0]) == ["Keanu Reeves", "gnocchi"]
    assert query["speaker_labels"] == ["true"]
    assert query["filter_profanity"] == ["true"]
    assert query["max_speakers"] == ["3"]
    assert query["min_turn_silence"] == ["300"]  # renamed in 2026
    assert query["max_turn_silence"] == ["900"]
    assert query["end_of_turn_confidence_threshold"] == ["0.5"]
    assert query["prompt"] == ["Be brief"]
    assert query["format_turns"] == ["false"]
    assert query["speech_model"] == ["universal-streaming-english"]
    assert "disfluency" in caplog.text


@pytest.mark.parametrize(("language", "model"), [
    ("en", "u3-rt-pro"), ("en-GB", "u3-rt-pro"), ("de", "u3-rt-pro"), ("pt", "u3-rt-pro"),
    ("ja", "whisper-rt"), ("zh", "whisper-rt"), ("multi", "whisper-rt")])
def test_aai_model_is_chosen_by_language(language, model) -> None:
    query = split(AssemblyAiProvider(cfg("assemblyai", language=language)).handshake(KEY).url)[3]
    assert query["speech_model"] == [model]


def test_aai_force_endpoint_before_terminate() -> None:
    p = AssemblyAiProvider(cfg("assemblyai"))
    assert json.loads(p.finalize_message() or "") == {"type": "ForceEndpoint"}


def test_aai_endpoints() -> None:
    eu = AssemblyAiProvider(cfg("assemblyai", options=AssemblyAiOptions(region="eu"))
                            ).handshake(KEY).url
    assert eu.startswith("wss://streaming.eu.assemblyai.com/v3/ws?")
    local = AssemblyAiProvider(cfg("assemblyai", endpoint="ws://127.0.0.1:5")).handshake(KEY).url
    assert local.startswith("ws://127.0.0.1:5/v3/ws?")


def test_aai_token_url_follows_the_streaming_host() -> None:
    assert token_url("wss://streaming.eu.assemblyai.com/v3/ws", 60, None) == (
        "https://streaming.eu.assemblyai.com/v3/token?expires_in_seconds=60"
    )
    assert token_url("ws://127.0.0.1:8/v3/ws", 30, 600) == (
        "http://127.0.0.1:8/v3/token?expires_in_seconds=30&max_session_duration_seconds=600"
    )


def test_aai_token_errors_are_classified() -> None:
    p = AssemblyAiProvider(cfg("assemblyai"))
    assert p.classify_exception(TemporaryTokenError("bad key", 401)).kind is CloseKind.FATAL
    assert p.classify_exception(TemporaryTokenError("busy", 429)).kind is CloseKind.RETRY
    assert p.classify_exception(TemporaryTokenError("offline")).kind is CloseKind.RETRY


def test_aai_end_of_stream_is_terminate() -> None:
    assert json.loads(AssemblyAiProvider(cfg("assemblyai")).end_of_stream()) == {
        "type": "Terminate"
    }


blocks = st.lists(st.integers(min_value=0, max_value=40_000), max_size=40)


@settings(max_examples=200, deadline=None)
@given(blocks)
def test_aai_frames_hold_50_to_1000_ms_except_a_padded_last(sizes) -> None:
    p = AssemblyAiProvider(cfg("assemblyai"))
    stream = bytearray()
    sent = bytearray()
    for i, size in enumerate(sizes):
        block = bytes([i % 251 + 1]) * size
        stream += block
        for frame in p.frame_audio(block):
            assert MIN_FRAME_BYTES <= len(frame) <= MAX_FRAME_BYTES
            assert len(frame) % 2 == 0  # whole samples
            sent += frame
        assert len(stream) - len(sent) <= MIN_FRAME_BYTES  # at most 50 ms held back
    tail = p.flush_audio()
    assert len(tail) <= 1
    if tail:
        [last] = tail
        assert len(last) == MIN_FRAME_BYTES  # padded with silence to 50 ms
        held = len(stream) - len(sent)
        assert last[held:] == bytes(MIN_FRAME_BYTES - held)
        sent += last[:held]
    assert sent == stream  # nothing lost, nothing reordered
    assert p.flush_audio() == []


def test_aai_small_blocks_wait_and_large_ones_split() -> None:
    p = AssemblyAiProvider(cfg("assemblyai"))
    assert p.frame_audio(bytes(640)) == []  # 20 ms
    assert p.frame_audio(bytes(640)) == []  # 40 ms
    assert [len(f) for f in p.frame_audio(bytes(640))] == [1920]  # 60 ms
    assert [len(f) for f in p.frame_audio(bytes(70_000))] == [32_000, 32_000, 6_000]


# -- Deepgram ----------------------------------------------------------------------


def test_dg_key_is_a_token_authorization_header() -> None:
    hs = DeepgramProvider(cfg("deepgram")).handshake(KEY)
    scheme, host, path, query = split(hs.url)
    assert (scheme, host, path) == ("wss", "api.deepgram.com", "/v1/listen")
    assert hs.headers == {"Authorization": f"Token {KEY}"}
    assert KEY not in hs.url
    assert query["model"] == ["nova-3"]
    assert query["encoding"] == ["linear16"]
    assert query["sample_rate"] == ["16000"]
    assert query["channels"] == ["1"]
    assert query["interim_results"] == ["true"]
    assert query["language"] == ["en"]
    assert not hs.wait_for_started


def test_dg_bearer_option_for_temporary_tokens() -> None:
    hs = DeepgramProvider(cfg("deepgram", options=DeepgramOptions(auth="bearer"))
                          ).handshake("jwt")
    assert hs.headers == {"Authorization": "Bearer jwt"}


def test_dg_options_map_to_query_params() -> None:
    config = cfg(
        "deepgram",
        language="en-US",
        vocabulary=("gnocchi", "bucatini"),
        profanity_filter=True,
        remove_disfluencies=True,
        speaker_labels=True,
        options=DeepgramOptions(endpointing=500, utterance_end_ms=1000, smart_format=False,
                                numerals=True, mip_opt_out=True),
    )
    _, _, _, query = split(DeepgramProvider(config).handshake(KEY).url)
    assert query["keyterm"] == ["gnocchi", "bucatini"]  # repeated per term on nova-3
    assert query["profanity_filter"] == ["true"]
    assert query["filler_words"] == ["false"]
    assert query["diarize_model"] == ["latest"] and "diarize" not in query  # diarize: deprecated
    assert query["language"] == ["en-US"]
    assert query["endpointing"] == ["500"]
    assert query["utterance_end_ms"] == ["1000"]
    assert query["smart_format"] == ["false"]
    assert query["numerals"] == ["true"] and query["mip_opt_out"] == ["true"]
    off = DeepgramProvider(cfg("deepgram", options=DeepgramOptions(endpointing=0)))
    assert split(off.handshake(KEY).url)[3]["endpointing"] == ["false"]


def test_dg_older_models_use_keywords_and_fillers_are_kept_by_default() -> None:
    config = cfg("deepgram", vocabulary=("gnocchi",), options=DeepgramOptions(model="nova-2"))
    _, _, _, query = split(DeepgramProvider(config).handshake(KEY).url)
    assert query["keywords"] == ["gnocchi"] and "keyterm" not in query
    assert query["filler_words"] == ["true"]
    assert query["model"] == ["nova-2"]


def test_dg_endpoint_override() -> None:
    url = DeepgramProvider(cfg("deepgram", endpoint="ws://127.0.0.1:7")).handshake(KEY).url
    assert url.startswith("ws://127.0.0.1:7/v1/listen?model=nova-3&")


def test_dg_framing_control_messages() -> None:
    p = DeepgramProvider(cfg("deepgram"))
    assert p.frame_audio(b"") == []  # never a zero-length frame
    assert [len(f) for f in p.frame_audio(bytes(20_000))] == [8000, 8000, 4000]
    assert json.loads(p.end_of_stream()) == {"type": "CloseStream"}
    assert json.loads(p.keepalive_message()) == {"type": "KeepAlive"}
