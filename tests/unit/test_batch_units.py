"""Pure parts of the batch engine: grouping words into segments, Retry-After, upload bodies,
the saved-jobs file."""

from __future__ import annotations

import asyncio
import email.utils
import time
from pathlib import Path

import httpx

from captioner.batch.http import Body, Part, retry_after_s
from captioner.batch.jobs import JobStore, job_key
from captioner.batch.segments import MAX_SEGMENT_WORDS, segments_from_words
from captioner.providers.base import Word
from captioner.testing.fake_http import parse_multipart


def words(*specs: tuple[str, int, str | None]) -> list[Word]:
    return [Word(text, start, start + 200, 0.9, speaker) for text, start, speaker in specs]


def test_segments_split_at_speaker_changes_pauses_and_sentence_ends():
    ws = words(("Hello", 0, "A"), ("there", 250, "A"), ("friend.", 500, "A"),
               ("How", 750, "A"), ("are", 1000, "A"), ("you?", 1250, "A"),
               ("Fine", 1500, "B"), ("thanks", 1750, "B"),
               ("later", 5000, "B"), ("on", 5250, "B"))
    segs = segments_from_words(ws, "system")
    assert [s.text for s in segs] == ["Hello there friend.", "How are you?", "Fine thanks",
                                      "later on"]
    assert [s.speaker for s in segs] == ["A", "A", "B", "B"]
    assert segs[0].id == "system-1" and segs[0].source == "system"
    assert (segs[3].start_ms, segs[3].end_ms) == (5000, 5450)


def test_short_sentences_stay_together_and_long_runs_are_capped():
    assert len(segments_from_words(words(("Yes.", 0, None), ("Sure.", 300, None)))) == 1
    run = [Word("w", i * 100, i * 100 + 90) for i in range(MAX_SEGMENT_WORDS * 2 + 5)]
    assert all(len(s.words) <= MAX_SEGMENT_WORDS for s in segments_from_words(run))


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after_s(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < retry_after_s(httpx.Response(429, headers={"Retry-After": later})) <= 30
    assert retry_after_s(httpx.Response(429)) is None
    assert retry_after_s(httpx.Response(429, headers={"Retry-After": "soon"})) is None


def test_multipart_body_has_the_declared_length_and_parses_back(tmp_path: Path):
    audio = tmp_path / 'a "talk".wav'
    audio.write_bytes(bytes(range(256)) * 2000)
    body = Body(audio, parts=(Part("config", '{"a": 1}'),), file_field="data_file",
                parts_after=(Part("options", "{}"),))
    seen: list[tuple[int, int]] = []

    async def collect() -> bytes:
        return b"".join([c async for c in body.chunks(lambda s, t: seen.append((s, t)))])
    data = asyncio.run(collect())
    assert len(data) == body.length
    fields = parse_multipart(data, body.content_type)
    assert fields["config"] == (None, None, b'{"a": 1}')
    assert fields["options"][2] == b"{}"
    assert fields["data_file"][0] == "a _talk_.wav"
    assert fields["data_file"][2] == audio.read_bytes()
    assert seen[-1] == (audio.stat().st_size, audio.stat().st_size)


def test_job_store_keys_change_with_the_file_and_options(tmp_path: Path):
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF")
    key = job_key("revai", "https://x", audio, {"language": "en"})
    assert key != job_key("revai", "https://x", audio, {"language": "de"})
    store = JobStore(tmp_path / "jobs.json")
    store.put(key, "revai", "j1", "https://x", audio)
    assert JobStore(tmp_path / "jobs.json").get(key)["job_id"] == "j1"
    audio.write_bytes(b"RIFF....")  # a different recording under the same name
    assert job_key("revai", "https://x", audio, {"language": "en"}) != key
    store.forget(key)
    assert store.get(key) is None


def test_unreadable_job_store_is_ignored(tmp_path: Path):
    (tmp_path / "jobs.json").write_text("{not json")
    assert JobStore(tmp_path / "jobs.json").pending() == {}


def test_a_server_name_that_does_not_resolve_is_said_in_words():
    """A typo such as api.deepgram.con used to read "(ConnectError, 3 attempts)"."""
    import socket

    from captioner.batch.http import _network_reason

    exc = httpx.ConnectError("[Errno -2] Name or service not known")
    exc.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert _network_reason(exc) == "no server by that name"
    refused = httpx.ConnectError("refused")
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert _network_reason(refused) == "connection refused"
