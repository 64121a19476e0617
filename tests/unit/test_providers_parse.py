"""Recorded vendor JSON through each cloud provider's parse(), close codes, and fuzzing.

The JSON comes from ``shared/reference/realtime-protocols.md`` (verbatim docs
and SDK fixtures, made strictly valid where the docs have trailing commas).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from captioner.config import SessionConfig
from captioner.providers.assemblyai import AssemblyAiOptions, AssemblyAiProvider
from captioner.providers.base import (
    CloseKind,
    Ended,
    Event,
    Final,
    Partial,
    Started,
    VendorError,
    Word,
)
from captioner.providers.base import Warning as VendorWarning
from captioner.providers.deepgram import DeepgramProvider
from captioner.providers.revai import RevAiProvider

EVENT_TYPES = (Started, Partial, Final, VendorWarning, VendorError, Ended)


def rev() -> RevAiProvider:
    return RevAiProvider(SessionConfig(provider="revai"))


def aai(format_turns: bool = True) -> AssemblyAiProvider:
    options = AssemblyAiOptions(format_turns=format_turns)
    return AssemblyAiProvider(SessionConfig(provider="assemblyai", options=options))


def dg() -> DeepgramProvider:
    return DeepgramProvider(SessionConfig(provider="deepgram"))


# -- Rev AI ------------------------------------------------------------------------

REV_PARTIAL = {
    "type": "partial",
    "ts": 1.01,
    "end_ts": 2.2,
    "elements": [{"type": "text", "value": "one"}, {"type": "text", "value": "tooth"}],
}
REV_FINAL = {
    "type": "final",
    "ts": 1.01,
    "end_ts": 3.2,
    "elements": [
        {"type": "text", "value": "One", "ts": 1.04, "end_ts": 1.55, "confidence": 1.0},
        {"type": "punct", "value": " "},
        {"type": "text", "value": "two", "ts": 1.84, "end_ts": 2.15, "confidence": 1.0},
        {"type": "punct", "value": "."},
    ],
}


def test_rev_connected_starts_the_session() -> None:
    assert rev().parse('{"type": "connected", "id": "s1d24ax2fd21"}') == [
        Started(session_id="s1d24ax2fd21")
    ]


def test_rev_partial_words_are_joined_with_spaces() -> None:
    assert rev().parse(json.dumps(REV_PARTIAL)) == [
        Partial(text="one tooth", start_ms=1010, end_ms=2200)
    ]


def test_rev_final_elements_are_joined_as_is_with_times_in_ms() -> None:
    [final] = rev().parse(json.dumps(REV_FINAL))
    assert isinstance(final, Final)
    assert final.text == "One two."
    assert (final.start_ms, final.end_ms) == (1010, 3200)
    assert final.words == (
        Word("One", 1040, 1550, 1.0),
        Word("two", 1840, 2150, 1.0),
    )


def test_rev_detailed_partials_carry_word_times_and_speaker() -> None:
    msg = {
        "type": "partial",
        "ts": 0.5,
        "end_ts": 1.0,
        "speaker_id": 2,
        "elements": [{"type": "text", "value": "hi", "ts": 0.5, "end_ts": 0.8, "confidence": 0.7}],
    }
    [partial] = rev().parse(json.dumps(msg))
    assert partial.words == (Word("hi", 500, 800, 0.7, "S2"),)
    assert partial.speaker == "S2"


def test_rev_sdk_fixtures_parse_without_text() -> None:
    assert rev().parse('{"type":"connected","id":"testid"}') == [Started("testid")]
    [made_up] = rev().parse('{"type":"partial","transcript":"Test"}')
    assert made_up.text == ""
    assert rev().parse('{ "type": "partial", "ts": 0, "end_ts": 1, "elements": [] }') == [
        Partial("", 0, 1000)
    ]


def test_rev_docs_json_with_trailing_comma_is_ignored() -> None:
    assert rev().parse('{"type": "partial", "elements": [],}') == []


# -- AssemblyAI --------------------------------------------------------------------

AAI_DOCS_TURN = {
    "turn_order": 0,
    "turn_is_formatted": True,
    "end_of_turn": False,
    "transcript": "Hi,",
    "end_of_turn_confidence": 0.000041,
    "words": [
        {"start": 2160, "end": 2560, "text": "Hi,", "confidence": 0.868781, "word_is_final": True},
        {"start": 2560, "end": 2560, "text": "my", "confidence": 0.987536, "word_is_final": False},
    ],
    "utterance": "",
    "type": "Turn",
}


def turn(order: int, text: str, *, end: bool, formatted: bool, start_ms: int = 0) -> str:
    words = [
        {
            "start": start_ms + 100 * i,
            "end": start_ms + 100 * i + 90,
            "text": w,
            "confidence": 0.9,
            "word_is_final": end or i < len(text.split()) - 1,
        }
        for i, w in enumerate(text.split())
    ]
    final_words = [w["text"] for w in words if w["word_is_final"]]
    return json.dumps(
        {
            "turn_order": order,
            "turn_is_formatted": formatted,
            "end_of_turn": end,
            "transcript": " ".join(final_words),
            "words": words,
            "type": "Turn",
        }
    )


def test_aai_begin_fixtures_start_the_session() -> None:
    docs = '{"type":"Begin","id":"de5d9927-73a6-4be8-b52d-b4c07be37e6b","expires_at":1759796682}'
    assert aai().parse(docs) == [Started("de5d9927-73a6-4be8-b52d-b4c07be37e6b")]
    sdk = (
        '{"type": "Begin", "id": "abc", "expires_at": 1781207829, "configuration": '
        '{"model": "u3-rt-pro", "mode": "balanced", "api_version": "2025-05-12"}}'
    )
    assert aai().parse(sdk) == [Started("abc")]


def test_aai_in_progress_turn_is_a_partial_with_all_words_in_ms() -> None:
    # the docs example marks an in-progress turn formatted; end_of_turn decides
    [partial] = aai().parse(json.dumps(AAI_DOCS_TURN))
    assert isinstance(partial, Partial)
    assert partial.text == "Hi, my"
    assert (partial.start_ms, partial.end_ms, partial.key) == (2160, 2560, "0")
    assert partial.words[0] == Word("Hi,", 2160, 2560, 0.868781)


def test_aai_formatted_turn_replaces_the_unformatted_end_of_turn() -> None:
    p = aai(format_turns=True)
    events = []
    events += p.parse(turn(0, "hello wor", end=False, formatted=False))
    events += p.parse(turn(0, "hello world", end=True, formatted=False))
    events += p.parse(turn(0, "Hello, world.", end=True, formatted=True))
    events += p.parse(turn(0, "Hello, world.", end=True, formatted=True))  # a repeat
    assert [type(e) for e in events] == [Partial, Partial, Final]
    assert events[1].text == "hello world"
    assert events[2].text == "Hello, world."
    assert {e.key for e in events} == {"0"}


def test_aai_without_format_turns_the_end_of_turn_is_final() -> None:
    p = aai(format_turns=False)
    events = p.parse(turn(3, "hello world", end=True, formatted=False))
    assert events == [Final("hello world", 0, 190, events[0].words, None, "3")]


def test_aai_missing_formatted_turn_is_finalized_by_the_next_turn() -> None:
    p = aai(format_turns=True)
    assert [type(e) for e in p.parse(turn(0, "first turn", end=True, formatted=False))] == [Partial]
    events = p.parse(turn(1, "second", end=False, formatted=False, start_ms=1000))
    assert [(type(e), e.text, e.key) for e in events] == [
        (Final, "first turn", "0"),
        (Partial, "second", "1"),
    ]
    # and a late formatted turn 0 is not finalized twice
    assert p.parse(turn(0, "First turn.", end=True, formatted=True)) == []


def test_aai_termination_releases_a_held_turn_then_ends() -> None:
    p = aai(format_turns=True)
    p.parse(turn(0, "last words", end=True, formatted=False))
    fixture = (
        '{"type": "Termination", "audio_duration_seconds": 12, "session_duration_seconds": 13}'
    )
    events = p.parse(fixture)
    assert [type(e) for e in events] == [Final, Ended]
    assert events[0].text == "last words"


def test_aai_begin_resets_turn_tracking_for_a_new_session() -> None:
    p = aai(format_turns=False)
    p.parse(turn(0, "one", end=True, formatted=False))
    p.parse('{"type": "Begin", "id": "x", "expires_at": 1}')
    assert [type(e) for e in p.parse(turn(0, "again", end=True, formatted=False))] == [Final]


def test_aai_speaker_label_is_the_turn_speaker() -> None:
    msg = json.loads(turn(0, "hi there", end=True, formatted=True))
    msg["speaker_label"] = "B"
    [final] = aai().parse(json.dumps(msg))
    assert final.speaker == "B"


def test_aai_error_and_warning() -> None:
    docs = (
        '{"type": "Error", "error_code": 3008, '
        '"error": "Session Expired: Maximum session duration exceeded"}'
    )
    [error] = aai().parse(docs)
    assert error == VendorError(
        "Session Expired: Maximum session duration exceeded", code="3008", fatal=False
    )
    [auth] = aai().parse('{"type":"Error","error_code":1008,"error":"Unauthorized Connection: x"}')
    assert auth.fatal
    [warning] = aai().parse('{"type":"Warning","warning_code":5,"warning":"slow down"}')
    assert warning == VendorWarning("slow down", "5")


def test_aai_error_frame_without_a_type() -> None:
    # the SDK (assemblyai/streaming/v3/_base.py, 2026-08) reads {"error": ...} without "type"
    [error] = aai().parse('{"error": "Unauthorized Connection: Invalid API key"}')
    assert isinstance(error, VendorError) and error.fatal
    assert "Invalid API key" in error.message


def test_aai_speaker_revision_relabels_the_held_turn() -> None:
    p = aai(format_turns=True)
    msg = json.loads(turn(0, "hello there", end=True, formatted=False))
    msg["speaker_label"] = "A"
    p.parse(json.dumps(msg))
    revision = {"type": "SpeakerRevision", "revisions": [
        {"turn_order": 0, "speaker_label": "B", "words": []},
        {"turn_order": 7, "speaker_label": "C", "words": []}]}
    assert p.parse(json.dumps(revision)) == []
    [final, _ended] = p.parse('{"type": "Termination"}')
    assert final.speaker == "B" and final.text == "hello there"


def test_aai_unknown_types_are_ignored() -> None:
    for kind in ("SpeechStarted", "Heartbeat", "Silence", "SpeakerRevision", "Nope"):
        assert aai().parse(json.dumps({"type": kind, "timestamp": 5})) == []


# -- Deepgram ----------------------------------------------------------------------

DG_NOVA3 = {
    "channel": {
        "alternatives": [
            {
                "transcript": "For the United States of America.",
                "confidence": 0.9990865,
                "words": [
                    {
                        "word": "for",
                        "start": 17.56,
                        "end": 17.72,
                        "confidence": 0.9873626,
                        "punctuated_word": "For",
                    },
                    {
                        "word": "the",
                        "start": 17.72,
                        "end": 17.88,
                        "confidence": 0.9990865,
                        "punctuated_word": "the",
                    },
                    {
                        "word": "united",
                        "start": 17.88,
                        "end": 17.96,
                        "confidence": 0.99964666,
                        "punctuated_word": "United",
                    },
                    {
                        "word": "states",
                        "start": 17.96,
                        "end": 18.12,
                        "confidence": 0.9992742,
                        "punctuated_word": "States",
                    },
                    {
                        "word": "of",
                        "start": 18.12,
                        "end": 18.2,
                        "confidence": 0.99879324,
                        "punctuated_word": "of",
                    },
                    {
                        "word": "america",
                        "start": 18.2,
                        "end": 18.66,
                        "confidence": 0.96024,
                        "punctuated_word": "America.",
                    },
                ],
            }
        ]
    },
    "metadata": {
        "model_info": {"name": "2-general-nova", "version": "2024-01-18.26916", "arch": "nova-3"},
        "request_id": "e1985d01-b8bc-42ab-a16a-e7a8419c07f2",
        "model_uuid": "c0d1a568-ce81-4fea-97e7-bd45cb1fdf3c",
    },
    "type": "Results",
    "channel_index": [0, 1],
    "duration": 1.6599998,
    "start": 17.0,
    "is_final": True,
    "from_finalize": False,
    "speech_final": True,
}


def dg_result(start: float, end: float, text: str, *, is_final: bool, speech_final: bool) -> str:
    step = (end - start) / max(len(text.split()), 1)
    words = [
        {"word": w, "start": start + i * step, "end": start + (i + 1) * step, "confidence": 0.9}
        for i, w in enumerate(text.split())
    ]
    return json.dumps(
        {
            "type": "Results",
            "channel_index": [0, 1],
            "start": start,
            "duration": end - start,
            "is_final": is_final,
            "speech_final": speech_final,
            "channel": {"alternatives": [{"transcript": text, "words": words}]},
        }
    )


def test_dg_recorded_nova3_result_is_one_final() -> None:
    [final] = dg().parse(json.dumps(DG_NOVA3))
    assert isinstance(final, Final)
    assert final.text == "For the United States of America."
    assert (final.start_ms, final.end_ms) == (17000, 18660)
    assert [w.text for w in final.words] == ["For", "the", "United", "States", "of", "America."]
    assert final.words[0] == Word("For", 17560, 17720, 0.9873626)


def test_dg_docs_sequence_appends_finals_and_replaces_interims() -> None:
    p = dg()
    frames = [
        dg_result(0.0, 1.1, "yeah so", is_final=False, speech_final=False),
        dg_result(
            0.0, 3.26, "yeah so my credit card number is two two", is_final=True, speech_final=False
        ),
        dg_result(3.26, 5.1, "two two three three three three", is_final=False, speech_final=False),
        dg_result(3.26, 5.5, "two two three three three three", is_final=True, speech_final=True),
    ]
    events = [e for f in frames for e in p.parse(f)]
    assert [type(e) for e in events] == [Partial, Final, Partial, Final]
    finals = [e for e in events if isinstance(e, Final)]
    assert " ".join(f.text for f in finals) == (
        "yeah so my credit card number is two two two two three three three three"
    )
    assert [(f.start_ms, f.end_ms) for f in finals] == [(0, 3260), (3260, 5500)]


def test_dg_empty_transcript_clears_the_interim() -> None:
    assert dg().parse(dg_result(1.0, 2.0, "", is_final=True, speech_final=True)) == [
        Partial("", 1000, 2000)
    ]


def test_dg_diarized_words_carry_speakers() -> None:
    msg = json.loads(json.dumps(DG_NOVA3))
    for w in msg["channel"]["alternatives"][0]["words"]:
        w["speaker"] = 1
    [final] = dg().parse(json.dumps(msg))
    assert final.speaker == "S1"
    assert {w.speaker for w in final.words} == {"S1"}


def test_dg_metadata_ends_and_hints_are_ignored() -> None:
    metadata = {
        "type": "Metadata",
        "transaction_key": "deprecated",
        "request_id": "8c8ebea9-dbec-45fa-a035-e4632cb05b5f",
        "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "created": "2024-08-29T22:37:55.202Z",
        "duration": 0.0,
        "channels": 0,
    }
    assert dg().parse(json.dumps(metadata)) == [Ended()]
    assert dg().parse('{"channel": [0, 1], "last_word_end": 2.395, "type": "UtteranceEnd"}') == []
    assert dg().parse('{"type": "SpeechStarted", "channel": [0, 1], "timestamp": 9.54}') == []


def test_dg_error_is_reported() -> None:
    [error] = dg().parse('{"type":"Error","variant":"SchemaError","description":"bad frame"}')
    assert error == VendorError("bad frame", "SchemaError", fatal=False)


# -- close codes ---------------------------------------------------------------------

N, R, F = CloseKind.NORMAL, CloseKind.RETRY, CloseKind.FATAL
AUTH = "auth"

REV_CLOSES = [
    (1000, "End of input. Closing", N),
    (1000, "Normal Closure.", N),
    (1006, "", R),
    (4001, "", F, AUTH),
    (4002, "Invalid content_type", F),
    (4003, "", F),
    (4010, "Shutting Down", R),
    (4013, "Try Again Later", R),
    (1001, "", R),
    (1011, "", R),
    (4099, "Something else", F),
    (None, "", R),
    (401, "", F, AUTH),
    (403, "", F, AUTH),
    (429, "", R),
    (500, "", R),
]
AAI_CLOSES = [
    (1000, "", N),
    (1008, "Unauthorized Connection: Missing Authorization header", F, AUTH),
    (1008, "Unauthorized Connection: Invalid API key", F, AUTH),
    (1008, "Unauthorized Connection: Account balance is negative", F),
    (1008, "Unauthorized Connection: Too many concurrent sessions", R),
    (3005, "Session Cancelled: An error occurred", R),
    (3005, "Input duration violation: 20 ms. Expected between 50 and 1000 ms", F),
    (3005, "Session Expired: Maximum session duration exceeded", R),
    (3006, "Invalid JSON: {", F),
    (3007, "Input duration violation: 2000 ms. Expected between 50 and 1000 ms", F),
    (3007, "Audio Transmission Rate Exceeded: too fast", R),
    (3008, "Session Expired: Maximum session duration exceeded", R),
    (3009, "Unauthorized Connection: Too many concurrent sessions", R),
    (4000, "", F),
    (4001, "See Error message for details", F, AUTH),
    (4002, "", F),
    (4003, "", F),
    (4008, "", R),
    (4029, "Client sent audio too fast", R),
    (4030, "", F),
    (4031, "Session idle for too long", R),
    (4032, "", F),
    (4033, "", F),
    (4034, "", F),
    (4100, "", F),
    (4101, "", F),
    (4102, "", R),
    (4103, "", F),
    (1013, "", R),
    (1006, "", R),
    (None, "", R),
    (401, "", F, AUTH),
    (403, "", F, AUTH),
    (429, "", R),
]
DG_CLOSES = [
    (1000, "", N),
    (1008, "DATA-0000", F),
    (1011, "NET-0000", R),
    (1011, "NET-0001", R),
    (1006, "", R),
    (None, "", R),
    (400, "", F),
    (401, "", F, AUTH),
    (402, "", F),
    (403, "", F, AUTH),
    (429, "", R),
    (503, "", R),
]


def close_cases():
    for make, table in ((rev, REV_CLOSES), (aai, AAI_CLOSES), (dg, DG_CLOSES)):
        for row in table:
            yield pytest.param(
                make, *row[:3], len(row) > 3, id=f"{make.__name__}-{row[0]}-{row[1]}"
            )


@pytest.mark.parametrize(("make", "code", "reason", "kind", "is_auth"), list(close_cases()))
def test_close_codes_are_classified(make, code, reason, kind, is_auth) -> None:
    provider = make()
    verdict = provider.classify_close(code, reason)
    assert verdict.kind is kind
    assert verdict.message
    if is_auth:
        assert "key" in verdict.message or "token" in verdict.message
        assert "Preferences" in verdict.message
    if kind is F:
        assert verdict.retry_after_s == 0


def test_auth_failures_never_retry() -> None:
    for provider in (rev(), aai(), dg()):
        for code in (401, 403):
            assert provider.classify_close(code, "").kind is F
    assert rev().classify_close(4001, "").kind is F
    assert aai().classify_close(1008, "").kind is F


# -- fuzzing -----------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
FIELDS = [
    # Rev
    "type",
    "id",
    "ts",
    "end_ts",
    "elements",
    "value",
    "confidence",
    "speaker_id",
    # AssemblyAI
    "turn_order",
    "turn_is_formatted",
    "end_of_turn",
    "transcript",
    "words",
    "text",
    "start",
    "end",
    "word_is_final",
    "speaker",
    "speaker_label",
    "error_code",
    "error",
    "warning",
    "warning_code",
    # Deepgram
    "channel",
    "alternatives",
    "duration",
    "is_final",
    "speech_final",
    "word",
    "punctuated_word",
    "description",
    "variant",
    "code",
    "message",
]
TYPES = [
    "connected",
    "partial",
    "final",
    "Begin",
    "Turn",
    "Termination",
    "Error",
    "Warning",
    "Results",
    "Metadata",
    "UtteranceEnd",
    "SpeechStarted",
]
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4)
    ),
    max_leaves=6,
)
typed_messages = st.builds(
    lambda kind, fields: {**fields, "type": kind},
    st.sampled_from(TYPES),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6),
)
PROVIDERS = (rev, aai, dg)


def check_events(events: list[Event]) -> None:
    assert isinstance(events, list)
    for event in events:
        assert isinstance(event, EVENT_TYPES)
        if isinstance(event, (Partial, Final)):
            assert isinstance(event.text, str)
            assert isinstance(event.start_ms, int) and isinstance(event.end_ms, int)
            assert event.end_ms >= event.start_ms


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(PROVIDERS), json_values)
def test_parse_never_raises_on_any_json(make, value) -> None:
    check_events(make().parse(json.dumps(value)))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(PROVIDERS), st.lists(typed_messages, min_size=1, max_size=4))
def test_parse_never_raises_on_typed_messages_with_wrong_fields(make, messages) -> None:
    provider = make()  # one provider for the sequence: AssemblyAI keeps turn state
    for msg in messages:
        check_events(provider.parse(json.dumps(msg)))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(PROVIDERS), st.binary(max_size=64) | st.text(max_size=64))
def test_parse_never_raises_on_random_frames(make, raw) -> None:
    check_events(make().parse(raw))


@pytest.mark.parametrize("make", PROVIDERS)
def test_parse_ignores_non_objects_and_deep_nesting(make) -> None:
    for raw in ("[]", "null", "3", '"x"', "{", "[" * 100_000, b"\xff\xfe", "NaN"):
        assert make().parse(raw) == []
