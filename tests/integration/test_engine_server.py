"""The engine's Speechmatics RT v2 server, spoken to by a plain websockets client.

A scripted recognizer stands in for the model here so the protocol is checked
exactly and fast; the real model is exercised in test_serve_cli.py.
"""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from captioner.engine.base import Hypothesis
from captioner.engine.server import EngineServer, is_loopback

START = {"message": "StartRecognition",
         "audio_format": {"type": "raw", "encoding": "pcm_s16le", "sample_rate": 16000},
         "transcription_config": {"language": "en", "enable_partials": True}}


class ScriptedRecognizer:
    """A partial every 0.5 s of audio, a final every 1 s, the rest at finish().

    Like the real recognizer, finish() restarts its clock at 0.
    """

    def __init__(self, settings=None) -> None:
        self.settings = settings
        self.fed_bytes = 0
        self.final_bytes = 0
        self.n = 0

    def accept(self, pcm: bytes):
        before, self.fed_bytes = self.fed_bytes, self.fed_bytes + len(pcm)
        out = []
        if before // 16000 != self.fed_bytes // 16000:
            self.n += 1
            out.append(Hypothesis(f"word{self.n}", self.final_bytes // 32, self.fed_bytes // 32))
        if before // 32000 != self.fed_bytes // 32000:
            out.append(Hypothesis(f"Sentence {self.n}.", self.final_bytes // 32,
                                  self.fed_bytes // 32, is_final=True))
            self.final_bytes = self.fed_bytes
        return out

    def finish(self):
        if self.fed_bytes == self.final_bytes:
            return []
        start, end = self.final_bytes, self.fed_bytes
        self.fed_bytes = self.final_bytes = 0
        return [Hypothesis("Tail.", start // 32, end // 32, is_final=True)]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def until(condition, timeout_s: float = 10.0) -> None:
    """Wait for the server side to catch up with what the client already saw."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


async def with_server(body, **kwargs):
    server = EngineServer(ScriptedRecognizer, **kwargs)
    url = await server.start()
    try:
        return await body(url, server)
    finally:
        await server.close()


async def start_and_end(ws) -> None:
    """StartRecognition, then EndOfStream at once, up to EndOfTranscript."""
    await ws.send(json.dumps(START))
    await ws.recv()
    await ws.send(json.dumps({"message": "EndOfStream", "last_seq_no": 0}))
    assert json.loads(await ws.recv())["message"] == "EndOfTranscript"


async def full_session(url, frames: int = 25, frame_bytes: int = 3200, headers=None):
    messages = []
    async with connect(url, additional_headers=headers or {}) as ws:
        await ws.send(json.dumps(START))
        messages.append(json.loads(await ws.recv()))
        for _ in range(frames):
            await ws.send(b"\x01\x00" * (frame_bytes // 2))
        await ws.send(json.dumps({"message": "EndOfStream", "last_seq_no": frames}))
        async for raw in ws:
            messages.append(json.loads(raw))
            if messages[-1]["message"] == "EndOfTranscript":
                break
    return messages


def test_full_session_message_sequence_and_schemas():
    messages = run(with_server(lambda url, _: full_session(url)))
    kinds = [m["message"] for m in messages]
    assert kinds[0] == "RecognitionStarted"
    assert kinds[-1] == "EndOfTranscript"
    started = messages[0]
    assert started["id"] and started["language_pack_info"]["word_delimiter"] == " "
    acks = [m["seq_no"] for m in messages if m["message"] == "AudioAdded"]
    assert acks == list(range(1, 26))
    finals = [m for m in messages if m["message"] == "AddTranscript"]
    partials = [m for m in messages if m["message"] == "AddPartialTranscript"]
    assert [f["metadata"]["transcript"] for f in finals] == ["Sentence 2.", "Sentence 4.", "Tail."]
    assert partials and all(p["format"] == "2.1" for p in partials)
    for msg in finals + partials:
        assert set(msg) == {"message", "format", "metadata", "results"}
        assert msg["metadata"]["start_time"] <= msg["metadata"]["end_time"]
        for result in msg["results"]:
            assert result["type"] in ("word", "punctuation")
            assert isinstance(result["alternatives"][0]["content"], str)
    # the final's punctuation is a separate result attached to the previous word
    punct = finals[0]["results"][-1]
    assert punct["type"] == "punctuation" and punct["attaches_to"] == "previous"
    assert punct["is_eos"] is True
    # "Tail." covers the last 0.5 s of the 2.5 s sent
    assert finals[-1]["metadata"]["end_time"] == pytest.approx(2.5)


async def first_reply(url, first, headers=None):
    async with connect(url, additional_headers=headers or {}) as ws:
        try:
            await ws.send(first)
        except ConnectionClosed:  # the server may refuse before reading anything
            pass
        reply = json.loads(await ws.recv())
        try:
            await ws.recv()
        except ConnectionClosed:
            pass
        return reply, ws.close_code, ws.close_reason


@pytest.mark.parametrize("first, error_type, code", [
    ("not json", "invalid_message", 1003),
    (json.dumps({"message": "AddAudio"}), "protocol_error", 1003),
    (json.dumps({**START, "audio_format": {"type": "raw", "encoding": "opus",
                                           "sample_rate": 16000}}), "invalid_audio_type", 1003),
    (json.dumps({**START, "audio_format": {"type": "raw", "encoding": "pcm_s16le",
                                           "sample_rate": "fast"}}), "invalid_audio_type", 1003),
    (json.dumps({**START, "transcription_config": {}}), "invalid_config", 1003),
    (json.dumps({**START, "transcription_config": {"language": "fr"}}), "invalid_language", 4004),
    (json.dumps({**START, "transcription_config": {"language": "en", "max_delay": 99}}),
     "invalid_config", 1003),
])
def test_malformed_config_gets_an_error_of_the_right_type(first, error_type, code):
    reply, close_code, reason = run(with_server(lambda url, _: first_reply(url, first)))
    assert reply["message"] == "Error" and reply["type"] == error_type and reply["reason"]
    assert close_code == code and reason == error_type


def test_server_survives_bad_clients_and_serves_the_next():
    async def body(url, server):
        await first_reply(url, "garbage")
        await first_reply(url, json.dumps({**START, "transcription_config": {"language": "xx"}}))
        messages = await full_session(url, frames=5)
        await until(lambda: server.active_sessions == 0)  # slots end when connections close
        return messages
    messages = run(with_server(body))
    assert messages[-1]["message"] == "EndOfTranscript"


def test_audio_after_end_of_stream_gets_a_warning():
    async def body(url, _):
        async with connect(url) as ws:
            await start_and_end(ws)
            await ws.send(b"\0\0" * 100)
            return json.loads(await ws.recv())
    warning = run(with_server(body))
    assert warning == {"message": "Warning", "type": "add_audio_after_eos",
                       "reason": "audio after EndOfStream is ignored"}


def test_sessions_beyond_the_limit_get_quota_exceeded():
    async def body(url, _):
        async with connect(url) as ws1:
            await ws1.send(json.dumps(START))
            await ws1.recv()
            return await first_reply(url, json.dumps(START))
    reply, code, _ = run(with_server(body, max_sessions=1))
    assert reply["type"] == "quota_exceeded" and code == 4005


def test_float_audio_at_another_rate_is_converted():
    async def body(url, _):
        start = {**START, "audio_format": {"type": "raw", "encoding": "pcm_f32le",
                                           "sample_rate": 48000}}
        async with connect(url) as ws:
            await ws.send(json.dumps(start))
            await ws.recv()
            for _ in range(10):  # 10 x 100 ms of 48 kHz float
                await ws.send(b"\0\0\0\0" * 4800)
            await ws.send(json.dumps({"message": "EndOfStream", "last_seq_no": 10}))
            messages = []
            while not messages or messages[-1]["message"] != "EndOfTranscript":
                messages.append(json.loads(await ws.recv()))
            return messages
    messages = run(with_server(body))
    finals = [m for m in messages if m["message"] == "AddTranscript"]
    # ~1 s of audio at 16 kHz reached the recognizer
    assert finals and finals[-1]["metadata"]["end_time"] == pytest.approx(1.0, abs=0.05)


def test_token_is_required_when_set():
    async def body(url, _):
        with pytest.raises(InvalidStatus) as info:
            await full_session(url)
        assert info.value.response.status_code == 401
        ok = await full_session(url, frames=2, headers={"Authorization": "Bearer s3cret"})
        ok_jwt = await full_session(url + "?jwt=s3cret", frames=2)
        return ok, ok_jwt
    ok, ok_jwt = run(with_server(body, token="s3cret"))
    assert ok[-1]["message"] == ok_jwt[-1]["message"] == "EndOfTranscript"


def test_non_loopback_bind_needs_a_token():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    with pytest.raises(ValueError, match="token"):
        run(EngineServer(ScriptedRecognizer).start("0.0.0.0", 0))


def test_force_end_of_utterance_finalizes_and_keeps_session_time():
    """The recognizer's finish() restarts its clock; the server must keep times continuous."""
    async def body(url, _):
        async with connect(url) as ws:
            await ws.send(json.dumps(START))
            await ws.recv()
            for _ in range(7):  # 0.7 s: a partial, no final yet
                await ws.send(b"\0\0" * 1600)
            await ws.send(json.dumps({"message": "ForceEndOfUtterance"}))
            for _ in range(10):  # 1.0 s more
                await ws.send(b"\0\0" * 1600)
            await ws.send(json.dumps({"message": "EndOfStream", "last_seq_no": 17}))
            messages = []
            while not messages or messages[-1]["message"] != "EndOfTranscript":
                messages.append(json.loads(await ws.recv()))
            return messages
    finals = [m["metadata"] for m in run(with_server(body)) if m["message"] == "AddTranscript"]
    assert finals[0]["end_time"] == pytest.approx(0.7)  # forced
    assert finals[1]["start_time"] == pytest.approx(0.7)  # continues, not back at 0
    assert finals[-1]["end_time"] == pytest.approx(1.7)


def test_session_slot_is_held_until_close_so_the_limit_cannot_be_bypassed():
    """After EndOfStream a client kept its connection (and a thread) with
    SetRecognitionConfig: 100 such connections held 106 threads against a limit of 4."""
    async def body(url, server):
        held, refused = [], 0
        for _ in range(12):
            ws = await connect(url)
            try:
                await ws.send(json.dumps(START))
            except ConnectionClosed:  # refused before reading anything
                pass
            reply = json.loads(await ws.recv())
            if reply["message"] == "Error":
                assert reply["type"] == "quota_exceeded"
                refused += 1
                await ws.close()
                continue
            await ws.send(json.dumps({"message": "EndOfStream", "last_seq_no": 0}))
            assert json.loads(await ws.recv())["message"] == "EndOfTranscript"
            await ws.send(json.dumps({"message": "SetRecognitionConfig",
                                      "transcription_config": {"language": "en"}}))
            held.append(ws)
        engine_threads = [t for t in threading.enumerate() if t.name.startswith("engine-session")]
        peak = server.active_sessions
        for ws in held:
            await ws.close()
        await until(lambda: server.active_sessions == 0)
        return len(held), refused, peak, len(engine_threads)
    held, refused, peak, threads = run(with_server(body, max_sessions=4))
    assert (held, refused, peak) == (4, 8, 4) and threads <= 4


def test_a_client_that_stays_after_end_of_stream_is_closed_however_chatty():
    async def body(url, _):
        async with connect(url) as ws:
            await start_and_end(ws)
            with pytest.raises(ConnectionClosed):
                while True:  # keep talking: the deadline is for the whole stay
                    await ws.send(json.dumps({"message": "SetRecognitionConfig"}))
                    await asyncio.sleep(0.05)
            return ws.close_code
    assert run(with_server(body, eos_close_timeout_s=0.5)) == 1000


def test_idle_connections_time_out_and_free_their_slots():
    async def body(url, server):
        silent = await connect(url)  # never sends StartRecognition
        started = await connect(url)
        await started.send(json.dumps(START))
        await started.recv()  # then sends nothing
        replies = [json.loads(await silent.recv()), json.loads(await started.recv())]
        await until(lambda: server.active_sessions == 0)
        ok = await full_session(url, frames=2)
        for ws in (silent, started):
            await ws.close()
        return replies, silent.close_code, started.close_code, ok
    replies, silent_code, started_code, ok = run(with_server(
        body, max_sessions=2, start_timeout_s=0.3, idle_timeout_s=0.3))
    assert replies[0]["type"] == "protocol_error" and silent_code == 1003
    assert replies[1]["type"] == "idle_timeout" and started_code == 1008
    assert ok[-1]["message"] == "EndOfTranscript"


def test_deeply_nested_json_gets_an_error_message_not_1011():
    nested = "[" * 200_000 + "]" * 200_000

    async def body(url, _):
        first = await first_reply(url, nested)
        async with connect(url) as ws:
            await ws.send(json.dumps(START))
            await ws.recv()
            await ws.send('{"message": ' * 100_000 + '"x"' + "}" * 100_000)
            later = json.loads(await ws.recv())
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            return first, later, ws.close_code
    (reply, code, _), later, later_code = run(with_server(body))
    assert reply["message"] == "Error" and reply["type"] == "invalid_message" and code == 1003
    assert later["message"] == "Error" and later["type"] == "invalid_message"
    assert later_code == 1003


@pytest.mark.parametrize("frame", [b"\0" * (2**22 - 16), json.dumps([1, 2]).encode()])
def test_an_oversized_audio_frame_or_non_object_message_gets_an_error(frame):
    """One 4 MiB frame at 8 kHz (262 s of audio) held a session for 120 s."""
    async def body(url, _):
        start = {**START, "audio_format": {**START["audio_format"], "sample_rate": 8000}}
        async with connect(url, max_size=None) as ws:
            await ws.send(json.dumps(start))
            await ws.recv()
            await ws.send(frame if frame.startswith(b"\0") else frame.decode())
            reply = json.loads(await ws.recv())
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            return reply, ws.close_code
    reply, code = run(with_server(body))
    assert reply["message"] == "Error" and code == 1003
    assert reply["type"] == ("protocol_error" if frame.startswith(b"\0") else "invalid_message")
