"""Each fake vendor server, driven by a plain ``websockets`` client on 127.0.0.1.

A correct client (URL and headers from the provider's own handshake) passes
with no violations; wrong auth gets the vendor's documented rejection; bad
frame sizes, pacing and message order are flagged or closed as documented;
scripted actions (notices, errors, closes, drops, raw frames) arrive as asked.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from captioner.config import SessionConfig
from captioner.providers.assemblyai import (
    AssemblyAiOptions,
    AssemblyAiProvider,
    TemporaryTokenError,
    fetch_temporary_token,
)
from captioner.providers.deepgram import DeepgramOptions, DeepgramProvider
from captioner.providers.revai import RevAiProvider
from captioner.testing import Close, Drop, Fail, Notice, Send, Utterance
from captioner.testing.fake_assemblyai import FakeAssemblyAi
from captioner.testing.fake_deepgram import FakeDeepgram
from captioner.testing.fake_revai import FakeRevAi
from captioner.testing.fake_speechmatics import FakeSpeechmatics

KEY = "test-key"
SPEECH = [Utterance("Hello there, world.", 100, 500, speaker=0), Utterance("Bye now!", 600, 900)]
RAW_16K = "audio/x-raw;layout=interleaved;rate=16000;format=S16LE;channels=1"


def run(coro: Coroutine[Any, Any, Any], timeout_s: float = 15.0) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout_s)

    return asyncio.run(bounded())


async def send_audio(
    ws: ClientConnection,
    total_ms: int,
    frame_ms: int = 100,
    realtime: bool = True,
    lead_ms: int = 200,
) -> None:
    """Send silence in ``frame_ms`` frames, paced to real time (with a small lead)."""
    loop = asyncio.get_running_loop()
    start_s = loop.time()
    sent_ms = 0
    while sent_ms < total_ms:
        if realtime:
            wait_s = start_s + (sent_ms - lead_ms) / 1000 - loop.time()
            if wait_s > 0:
                await asyncio.sleep(wait_s)  # pacing, not waiting for an outcome
        await ws.send(bytes(frame_ms * 32))
        sent_ms += frame_ms


def start_reader(
    ws: ClientConnection, until: Callable[[Any], bool] | None = None
) -> asyncio.Task[list[Any]]:
    """Collect every message (JSON decoded when possible) until the socket closes
    or a message satisfies ``until``."""

    async def read() -> list[Any]:
        messages: list[Any] = []
        try:
            async for raw in ws:
                try:
                    messages.append(json.loads(raw))
                except ValueError:
                    messages.append(raw)
                if until is not None and until(messages[-1]):
                    break
        except ConnectionClosed:
            pass
        return messages

    return asyncio.create_task(read())


async def send_until_closed(ws: ClientConnection, total_ms: int) -> None:
    """Send audio as fast as possible; the server may close on us meanwhile."""
    try:
        await send_audio(ws, total_ms, realtime=False)
    except ConnectionClosed:
        pass


async def first_message(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


def kinds(messages: list[Any], key: str = "type") -> list[str]:
    return [m.get(key) for m in messages if isinstance(m, dict)]


# -- Rev AI ------------------------------------------------------------------------


def rev_handshake(server: FakeRevAi, key: str | None = KEY, **config: Any):
    provider = RevAiProvider(SessionConfig(provider="revai", endpoint=server.url, **config))
    return provider.handshake(key)


def test_rev_correct_client_gets_partials_finals_and_a_clean_close() -> None:
    async def scenario() -> None:
        async with FakeRevAi(SPEECH) as server:
            hs = rev_handshake(server)
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                assert (await first_message(ws))["type"] == "connected"
                reader = start_reader(ws)
                await send_audio(ws, 1000)
                await ws.send("EOS")
                messages = await reader
                assert (ws.close_code, ws.close_reason) == (1000, "End of input. Closing")
            log = await server.wait_done()
            assert log.violations == []
            assert log.audio_ms == 1000 and len(log.audio_frames) == 10
            assert log.eos_received
            finals = [m for m in messages if m["type"] == "final"]
            assert ["".join(e["value"] for e in f["elements"]) for f in finals] == [
                "Hello there, world.",
                "Bye now!",
            ]
            assert "partial" in kinds(messages)

    run(scenario())


@pytest.mark.parametrize("key", ["wrong", None])
def test_rev_bad_or_missing_token_closes_4001(key) -> None:
    async def scenario() -> None:
        async with FakeRevAi() as server:
            hs = rev_handshake(server, key)
            async with connect(hs.url) as ws:
                await start_reader(ws)
                assert ws.close_code == 4001
            assert (await server.wait_done()).close_code == 4001

    run(scenario())


def test_rev_http_auth_failure_mode_refuses_the_upgrade() -> None:
    async def scenario() -> None:
        async with FakeRevAi(auth_failure="http") as server:
            with pytest.raises(InvalidStatus) as caught:
                await connect(rev_handshake(server, "wrong").url)
            assert caught.value.response.status_code == 401
            assert (await server.wait_done()).rejected_status == 401

    run(scenario())


@pytest.mark.parametrize(
    ("query", "named"),
    [
        (f"access_token={KEY}", "content_type"),
        (f"access_token={KEY}&content_type=audio/x-raw;rate=16000", "content_type"),
        (f"access_token={KEY}&content_type={RAW_16K}&filter_profanity=yes", "filter_profanity"),
    ],
)
def test_rev_bad_parameters_close_4002_naming_the_parameter(query, named) -> None:
    async def scenario() -> None:
        async with FakeRevAi() as server:
            async with connect(f"{server.endpoint}?{query}") as ws:
                await start_reader(ws)
                assert ws.close_code == 4002
                assert named in ws.close_reason

    run(scenario())


def test_rev_faster_than_real_time_is_recorded() -> None:
    async def scenario() -> None:
        async with FakeRevAi() as server:
            async with connect(rev_handshake(server).url) as ws:
                reader = start_reader(ws)
                await send_audio(ws, 3000, realtime=False)
                await ws.send("EOS")
                await reader
                assert ws.close_code == 1000  # Rev documents no close for it
            [violation] = (await server.wait_done()).violations
            assert "faster than real time" in violation

    run(scenario())


def test_rev_actions_close_before_greeting_and_per_connection() -> None:
    async def scenario() -> None:
        actions = [Close(4013, "Try Again Later", at_ms=None, connection=0)]
        async with FakeRevAi(actions=actions) as server:
            async with connect(rev_handshake(server).url) as ws:
                assert await start_reader(ws) == []  # no "connected"
                assert (ws.close_code, ws.close_reason) == (4013, "Try Again Later")
            async with connect(rev_handshake(server).url) as ws:  # connection 1 is clean
                assert (await first_message(ws))["type"] == "connected"

    run(scenario())


# -- AssemblyAI --------------------------------------------------------------------


def aai_handshake(server: FakeAssemblyAi, key: str | None = KEY, **options: Any):
    config = SessionConfig(provider="assemblyai", endpoint=server.url,
                           options=AssemblyAiOptions(**options))
    return AssemblyAiProvider(config).handshake(key)


def test_aai_correct_client_gets_turns_formatted_once_and_termination() -> None:
    async def scenario() -> None:
        async with FakeAssemblyAi(SPEECH) as server:
            hs = aai_handshake(server)
            provider = AssemblyAiProvider(SessionConfig(provider="assemblyai"))
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                assert (await first_message(ws))["type"] == "Begin"
                reader = start_reader(ws)
                for _ in range(20):  # 20 ms blocks, as a mic delivers them
                    for frame in provider.frame_audio(bytes(640)):
                        await ws.send(frame)
                await send_audio(ws, 700, frame_ms=50)
                await ws.send(provider.end_of_stream())
                messages = await reader
                assert ws.close_code == 1000
            log = await server.wait_done()
            assert log.violations == []
            turns = [m for m in messages if m["type"] == "Turn"]
            formatted = [t for t in turns if t["turn_is_formatted"]]
            assert [t["transcript"] for t in formatted] == ["Hello there, world.", "Bye now!"]
            assert {t["turn_order"] for t in turns} == {0, 1}
            assert messages[-1]["type"] == "Termination"

    run(scenario())


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "wrong"}, {"Authorization": f"Bearer {KEY}"}]
)
def test_aai_bad_authorization_closes_1008(headers) -> None:
    async def scenario() -> None:
        async with FakeAssemblyAi() as server:
            async with connect(aai_handshake(server, None).url, additional_headers=headers) as ws:
                await start_reader(ws)
                assert ws.close_code == 1008
                assert ws.close_reason.startswith("Unauthorized Connection")

    run(scenario())


def test_aai_http_auth_failure_mode_and_bad_query() -> None:
    async def scenario() -> None:
        async with FakeAssemblyAi(auth_failure="http") as server:
            with pytest.raises(InvalidStatus) as caught:
                await connect(aai_handshake(server, "wrong").url)
            assert caught.value.response.status_code == 401
            with pytest.raises(InvalidStatus) as caught:
                await connect(
                    server.endpoint + "?encoding=mp3", additional_headers={"Authorization": KEY}
                )
            assert caught.value.response.status_code == 400

    run(scenario())


@pytest.mark.parametrize(("frame_bytes", "ms"), [(640, 20), (48_000, 1500)])
def test_aai_frames_outside_50_to_1000_ms_close_3007(frame_bytes, ms) -> None:
    async def scenario() -> None:
        async with FakeAssemblyAi() as server:
            hs = aai_handshake(server)
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                await first_message(ws)
                reader = start_reader(ws)
                await ws.send(bytes(frame_bytes))
                [error] = await reader
                assert ws.close_code == 3007
            expected = f"Input duration violation: {ms} ms. Expected between 50 and 1000 ms"
            assert error == {"type": "Error", "error_code": 3007, "error": expected}
            assert ws.close_reason == expected
            assert (await server.wait_done()).violations == [expected]

    run(scenario())


def test_aai_faster_than_real_time_closes_3007() -> None:
    async def scenario() -> None:
        async with FakeAssemblyAi() as server:
            hs = aai_handshake(server)
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                await first_message(ws)
                reader = start_reader(ws)
                await send_until_closed(ws, 5000)
                [error] = await reader
                assert ws.close_code == 3007
                assert error["error"].startswith("Audio Transmission Rate Exceeded")

    run(scenario())


@pytest.mark.parametrize(
    ("text", "reason"), [("{nope", "Invalid JSON"), ('{"type": "Jump"}', "Invalid Message Type")]
)
def test_aai_bad_text_frames_close_3006(text, reason) -> None:
    async def scenario() -> None:
        async with FakeAssemblyAi() as server:
            hs = aai_handshake(server)
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                await first_message(ws)
                await ws.send(text)
                [error] = await start_reader(ws)
                assert ws.close_code == error["error_code"] == 3006
                assert ws.close_reason.startswith(reason)

    run(scenario())


def test_aai_temporary_token_is_single_use() -> None:
    async def scenario() -> None:
        async with FakeAssemblyAi() as server:
            hs = await asyncio.to_thread(aai_handshake, server, KEY, temporary_token=True)
            assert "Authorization" not in hs.headers and "token=tmp-" in hs.url
            assert server.token_requests == [{"expires_in_seconds": ["60"]}]
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                assert (await first_message(ws))["type"] == "Begin"
            async with connect(hs.url) as ws:  # the same token again
                await start_reader(ws)
                assert ws.close_code == 1008

    run(scenario())


def test_aai_temporary_token_errors() -> None:
    async def scenario() -> None:
        async with FakeAssemblyAi() as server:
            with pytest.raises(TemporaryTokenError) as caught:
                await asyncio.to_thread(fetch_temporary_token, "wrong", server.url)
            assert caught.value.status == 401 and not caught.value.retryable
            assert "Preferences" in str(caught.value)
            with pytest.raises(TemporaryTokenError) as caught:
                await asyncio.to_thread(fetch_temporary_token, KEY, server.url, expires_in_s=601)
            assert caught.value.status == 400

    run(scenario())


def test_aai_notice_fail_and_raw_actions() -> None:
    async def scenario() -> None:
        actions = [
            Send("not json {", at_ms=0),
            Notice("Audio is very quiet", code="1", at_ms=0),
            Fail(3008, "Session Expired: Maximum session duration exceeded", at_ms=200),
        ]
        async with FakeAssemblyAi(actions=actions) as server:
            hs = aai_handshake(server)
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                reader = start_reader(ws)
                await send_until_closed(ws, 400)
                messages = await reader
                assert ws.close_code == 3008
            assert messages[0]["type"] == "Begin"
            assert messages[1] == "not json {"
            assert messages[2] == {
                "type": "Warning",
                "warning_code": 1,
                "warning": "Audio is very quiet",
            }
            assert messages[3]["type"] == "Error" and messages[3]["error_code"] == 3008

    run(scenario())


def test_aai_drop_aborts_without_a_close_frame() -> None:
    async def scenario() -> None:
        async with FakeAssemblyAi(actions=[Drop(at_ms=100)]) as server:
            hs = aai_handshake(server)
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                reader = start_reader(ws)
                await send_until_closed(ws, 1000)
                await reader
                assert ws.close_code == 1006  # abnormal closure: no close frame
            assert (await server.wait_done()).dropped

    run(scenario())


# -- Speechmatics ------------------------------------------------------------------

START = {
    "message": "StartRecognition",
    "audio_format": {"type": "raw", "encoding": "pcm_s16le", "sample_rate": 16000},
    "transcription_config": {
        "language": "en",
        "enable_partials": True,
        "max_delay": 2.0,
        "diarization": "speaker",
    },
}
BEARER = {"Authorization": f"Bearer {KEY}"}


def test_sm_correct_client_gets_acks_transcripts_and_end_of_transcript() -> None:
    async def scenario() -> None:
        async with FakeSpeechmatics(SPEECH) as server:
            async with connect(server.endpoint, additional_headers=BEARER) as ws:
                await ws.send(json.dumps(START))
                assert (await first_message(ws))["message"] == "RecognitionStarted"
                reader = start_reader(ws, until=lambda m: m.get("message") == "EndOfTranscript")
                await send_audio(ws, 1000, realtime=False)
                await ws.send(json.dumps({"message": "EndOfStream", "last_seq_no": 10}))
                messages = await reader
                await ws.close()  # the client closes after EndOfTranscript
            log = await server.wait_done()
            assert log.violations == [] and log.config == START
            names = kinds(messages, "message")
            assert names.count("AudioAdded") == 10
            assert [m["seq_no"] for m in messages if m["message"] == "AudioAdded"] == list(
                range(1, 11)
            )
            assert names[:2] == ["Info", "Info"]
            finals = [m for m in messages if m["message"] == "AddTranscript"]
            assert [f["metadata"]["transcript"] for f in finals] == [
                "Hello there, world.",
                "Bye now!",
            ]
            assert finals[0]["results"][0]["alternatives"][0]["speaker"] == "S1"
            assert names[-1] == "EndOfTranscript"

    run(scenario())


def test_sm_auth_is_a_bearer_header_or_jwt_query() -> None:
    async def scenario() -> None:
        async with FakeSpeechmatics() as server:
            for headers in ({}, {"Authorization": KEY}, {"Authorization": "Bearer wrong"}):
                with pytest.raises(InvalidStatus) as caught:
                    await connect(server.endpoint, additional_headers=headers)
                assert caught.value.response.status_code == 401
            async with connect(f"{server.endpoint}?jwt={KEY}") as ws:
                await ws.send(json.dumps(START))
                assert (await first_message(ws))["message"] == "RecognitionStarted"

    run(scenario())


@pytest.mark.parametrize(
    ("change", "error_type", "close_code"),
    [
        (
            {"audio_format": {"type": "raw", "encoding": "pcm_s24le", "sample_rate": 16000}},
            "invalid_audio_type",
            1003,
        ),
        ({"audio_format": {"type": "raw", "encoding": "pcm_s16le"}}, "invalid_audio_type", 1003),
        (
            {"transcription_config": {"language": "en", "operating_point": "turbo"}},
            "invalid_model",
            4004,
        ),
        ({"transcription_config": {"language": "xx"}}, "invalid_language", 1003),
        ({"transcription_config": {"language": "en", "max_delay": 9}}, "invalid_config", 1003),
        ({"transcription_config": {"language": "en", "colour": "blue"}}, "invalid_config", 1003),
        ({"transcription_config": {}}, "invalid_config", 1003),
    ],
)
def test_sm_bad_start_recognition_gets_the_right_error(change, error_type, close_code) -> None:
    async def scenario() -> None:
        async with FakeSpeechmatics() as server:
            async with connect(server.endpoint, additional_headers=BEARER) as ws:
                await ws.send(json.dumps(START | change))
                [error] = await start_reader(ws)
                assert error["message"] == "Error" and error["type"] == error_type
                assert (ws.close_code, ws.close_reason) == (close_code, error_type)

    run(scenario())


def test_sm_audio_before_start_recognition_is_a_protocol_error() -> None:
    async def scenario() -> None:
        async with FakeSpeechmatics() as server:
            async with connect(server.endpoint, additional_headers=BEARER) as ws:
                await ws.send(bytes(3200))
                [error] = await start_reader(ws)
                assert error["type"] == "protocol_error" and ws.close_code == 1003

    run(scenario())


def test_sm_last_seq_no_must_match_the_frames_sent() -> None:
    async def scenario() -> None:
        async with FakeSpeechmatics(close_after_end=True) as server:
            async with connect(server.endpoint, additional_headers=BEARER) as ws:
                await ws.send(json.dumps(START))
                reader = start_reader(ws)
                await send_audio(ws, 300, realtime=False)
                await ws.send(json.dumps({"message": "EndOfStream", "last_seq_no": 2}))
                messages = await reader
            assert kinds(messages, "message")[-1] == "EndOfTranscript"
            log = await server.wait_done()
            assert log.violations == ["EndOfStream last_seq_no=2 but 3 AddAudio received"]
            # too high: the server waits for audio that never comes
            async with connect(server.endpoint, additional_headers=BEARER) as ws:
                await ws.send(json.dumps(START))
                reader = start_reader(ws)
                await send_audio(ws, 200, realtime=False)
                await ws.send(json.dumps({"message": "EndOfStream", "last_seq_no": 5}))
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reader), 0.5)
                await ws.close()
                assert "EndOfTranscript" not in kinds(await reader, "message")

    run(scenario())


def test_sm_fail_sends_an_error_and_the_documented_close() -> None:
    async def scenario() -> None:
        actions = [
            Notice("5 minutes left", code="session_timeout"),
            Fail(4005, "Too many sessions"),
        ]
        async with FakeSpeechmatics(actions=actions) as server:
            async with connect(server.endpoint, additional_headers=BEARER) as ws:
                await ws.send(json.dumps(START))
                messages = await start_reader(ws)
                assert (ws.close_code, ws.close_reason) == (4005, "quota_exceeded")
            assert messages[-2] == {
                "message": "Warning",
                "type": "session_timeout",
                "reason": "5 minutes left",
            }
            assert messages[-1] == {
                "message": "Error",
                "type": "quota_exceeded",
                "reason": "Too many sessions",
            }

    run(scenario())


# -- Deepgram ----------------------------------------------------------------------


def dg_handshake(server: FakeDeepgram, key: str | None = KEY, **options: Any):
    config = SessionConfig(
        provider="deepgram", endpoint=server.url, speaker_labels=True,
        options=DeepgramOptions(**options)
    )
    return DeepgramProvider(config).handshake(key)


def test_dg_correct_client_gets_interims_finals_and_metadata() -> None:
    async def scenario() -> None:
        async with FakeDeepgram(SPEECH, final_chunk_words=2) as server:
            hs = dg_handshake(server)
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                assert ws.response.headers["dg-request-id"]
                reader = start_reader(ws)
                await send_audio(ws, 1000)
                await ws.send(json.dumps({"type": "CloseStream"}))
                messages = await reader
                assert ws.close_code == 1000
            assert (await server.wait_done()).violations == []
            results = [m for m in messages if m["type"] == "Results"]
            finals = [r for r in results if r["is_final"]]
            texts = [r["channel"]["alternatives"][0]["transcript"] for r in finals]
            assert texts == ["Hello there,", "world.", "Bye now!"]
            assert [r["speech_final"] for r in finals] == [False, True, True]
            assert any(not r["is_final"] for r in results)
            assert finals[0]["channel"]["alternatives"][0]["words"][0]["speaker"] == 0
            assert messages[-1]["type"] == "Metadata"

    run(scenario())


@pytest.mark.parametrize("headers", [{}, {"Authorization": KEY}, {"Authorization": "Token wrong"}])
def test_dg_bad_auth_is_http_401_with_dg_error(headers) -> None:
    async def scenario() -> None:
        async with FakeDeepgram() as server:
            with pytest.raises(InvalidStatus) as caught:
                await connect(dg_handshake(server, None).url, additional_headers=headers)
            response = caught.value.response
            assert response.status_code == 401
            assert response.headers["dg-error"] and response.headers["dg-request-id"]

    run(scenario())


def test_dg_missing_encoding_closes_1008_on_first_audio() -> None:
    async def scenario() -> None:
        async with FakeDeepgram() as server:
            headers = {"Authorization": f"Token {KEY}"}
            async with connect(server.endpoint + "?model=nova-3", additional_headers=headers) as ws:
                await ws.send(bytes(3200))
                await start_reader(ws)
                assert (ws.close_code, ws.close_reason) == (1008, "DATA-0000")

    run(scenario())


def test_dg_zero_length_frame_is_a_violation() -> None:
    async def scenario() -> None:
        async with FakeDeepgram() as server:
            hs = dg_handshake(server)
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                await ws.send(b"")
                await start_reader(ws)
            assert "zero-length" in (await server.wait_done()).violations[0]

    run(scenario())


def test_dg_idle_socket_closes_1011_net_0001() -> None:
    async def scenario() -> None:
        async with FakeDeepgram(idle_timeout_s=0.3) as server:
            hs = dg_handshake(server)
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                await ws.send(json.dumps({"type": "KeepAlive"}))  # no audio yet: doesn't count
                await start_reader(ws)
                assert (ws.close_code, ws.close_reason) == (1011, "NET-0001")

    run(scenario())


def test_dg_faster_than_real_time_and_schema_errors_are_recorded() -> None:
    async def scenario() -> None:
        async with FakeDeepgram() as server:
            hs = dg_handshake(server)
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                reader = start_reader(ws)
                await send_audio(ws, 3000, realtime=False)
                await ws.send("{oops")
                await ws.send(json.dumps({"type": "CloseStream"}))
                messages = await reader
            log = await server.wait_done()
            assert "faster than real time" in log.violations[0]
            assert "unparsable" in log.violations[1]
            assert {"Error", "Metadata"} <= set(kinds(messages))

    run(scenario())


# -- flush-now controls ------------------------------------------------------------

LONG = [Utterance("one two three four five six", 0, 2000)]


def test_force_endpoint_controls_finalize_the_words_heard_so_far() -> None:
    async def scenario() -> None:
        async with (
            FakeAssemblyAi(LONG) as aai,
            FakeDeepgram(LONG) as dg,
            FakeSpeechmatics(LONG) as sm,
        ):
            # AssemblyAI ForceEndpoint
            hs = aai_handshake(aai)
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                await send_audio(ws, 500, realtime=False)
                await ws.send(json.dumps({"type": "ForceEndpoint"}))
                await ws.send(json.dumps({"type": "Terminate"}))
                turns = [m for m in await start_reader(ws) if m["type"] == "Turn"]
            ends = [t for t in turns if t["end_of_turn"]]
            assert [t["transcript"] for t in ends] == ["one two", "one two"]  # raw, formatted
            # Deepgram Finalize
            hs = dg_handshake(dg)
            async with connect(hs.url, additional_headers=hs.headers) as ws:
                await send_audio(ws, 500, realtime=False)
                await ws.send(json.dumps({"type": "Finalize"}))
                await ws.send(json.dumps({"type": "CloseStream"}))
                results = [m for m in await start_reader(ws) if m["type"] == "Results"]
            [final] = [r for r in results if r["is_final"]]
            assert final["from_finalize"] and final["channel"]["alternatives"][0]["transcript"]
            # Speechmatics ForceEndOfUtterance
            async with connect(sm.endpoint, additional_headers=BEARER) as ws:
                await ws.send(json.dumps(START))
                reader = start_reader(ws, until=lambda m: m.get("message") == "EndOfUtterance")
                await send_audio(ws, 500, realtime=False)
                await ws.send(json.dumps({"message": "ForceEndOfUtterance"}))
                messages = await reader
            forced = [m for m in messages if m.get("forced")]
            assert [m["message"] for m in forced] == ["AddTranscript", "EndOfUtterance"]
            assert forced[0]["metadata"]["transcript"] == "one two"
            assert all(not c.violations for s in (aai, dg, sm) for c in s.connections)

    run(scenario())
