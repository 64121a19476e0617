"""Rev AI custom vocabularies on the wire: the word list goes through the vocabularies API
(fake on 127.0.0.1), and the streaming fake sees the id that API issued — set from the
command line and from what Preferences stores, as a user would."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from captioner import cli
from captioner.config import SessionConfig
from captioner.providers.revai import PENDING_NOTE, RevAiOptions, RevAiProvider
from captioner.providers.revai_vocabulary import (
    VocabularyCache,
    VocabularyError,
    VocabularyPending,
    ensure_vocabulary,
)
from captioner.settings import ENDPOINT_KEYS, Key, Settings
from captioner.stream import Notice, State
from captioner.testing.fake_revai import FakeRevAi
from captioner.testing.fake_revai_batch import FakeRevAiBatch
from captioner.transcribe import transcribe_pcm
from captioner.transcript import Transcript
from tests.integration.test_vendor_options import PCM, write_wav
from tests.integration.test_vendor_streams import KEY, SPEECH, caption, run

WORDS = ("Kubernetes", "kubectl", "  ", "Kubernetes")


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch) -> None:
    """Each test its own vocabulary cache (the app keeps it in the user data folder)."""
    monkeypatch.setenv("CAPTIONER_DATA_DIR", str(tmp_path / "data"))


def opts(vocab: FakeRevAiBatch, **more: object) -> RevAiOptions:
    return RevAiOptions(vocabulary_url=vocab.base_url + "/vocabularies", **more)  # type: ignore[arg-type]


def test_stream_sends_the_vocabulary_id_the_vocabularies_api_issued(tmp_path) -> None:
    with FakeRevAiBatch(keys=[KEY], vocabulary_s=0.3) as vocab:
        async def scenario() -> None:
            async with FakeRevAi(SPEECH, vocabulary_ids=vocab.complete_vocabulary_ids) as rt:
                for _ in range(2):  # the second session reuses the cached vocabulary
                    session, transcript, _ = await caption(rt, RevAiProvider, vocabulary=WORDS,
                                                           options=opts(vocab))
                    assert session.state is State.STOPPED, session.message
                    assert transcript.finals
                (vocab_id,) = vocab.vocabularies
                assert [c.param("custom_vocabulary_id") for c in rt.connections] == \
                    [vocab_id, vocab_id]
        run(scenario())
        (post,) = vocab.requests_to("POST", "/vocabularies")
        assert post.header("authorization") == f"Bearer {KEY}"
        assert post.json()["custom_vocabularies"] == [{"phrases": ["Kubernetes", "kubectl"]}]
        assert len(vocab.requests_to("GET")) >= 2  # polled until complete, then checked once


def test_stream_fake_refuses_an_id_the_account_does_not_have() -> None:
    with FakeRevAiBatch(keys=[KEY]) as vocab:
        async def scenario() -> None:
            async with FakeRevAi(SPEECH, vocabulary_ids=vocab.complete_vocabulary_ids) as rt:
                session, _, _ = await caption(rt, RevAiProvider, audio_ms=300,
                                              options=RevAiOptions(custom_vocabulary_id="cvnope"))
                assert session.state is State.FAILED
                assert "custom_vocabulary_id" in session.message
                assert "Preferences" in session.message and "\n" not in session.message
                assert len(rt.connections) == 1  # a refused setting is not retried
        run(scenario())


def test_failed_vocabulary_stops_the_session_with_rev_s_reason(tmp_path) -> None:
    with FakeRevAiBatch(keys=[KEY], vocabulary_failure="phrase too rare") as vocab:
        async def scenario() -> None:
            async with FakeRevAi(SPEECH) as rt:
                session, _, _ = await caption(rt, RevAiProvider, audio_ms=300,
                                              vocabulary=WORDS, options=opts(vocab))
                assert session.state is State.FAILED
                assert "could not build the custom vocabulary: phrase too rare — edit the " \
                    "custom words" in session.message
                assert rt.connections == []  # never connected with a bad list
        run(scenario())
    cache = tmp_path / "data" / "revai-vocabularies.json"  # in the user data folder
    assert json.loads(cache.read_text()) == {}  # a failed id is not kept


def test_a_list_rev_refuses_is_named_and_fatal() -> None:
    long_phrase = " ".join(["word"] * 13)
    with FakeRevAiBatch(keys=[KEY]) as vocab:
        async def scenario() -> None:
            async with FakeRevAi(SPEECH) as rt:
                session, _, _ = await caption(rt, RevAiProvider, audio_ms=300,
                                              vocabulary=("fine", long_phrase),
                                              options=opts(vocab))
                assert session.state is State.FAILED
                assert "Rev AI refused the custom vocabulary" in session.message
                assert "more than 12 words" in session.message
                assert rt.connections == []
        run(scenario())
    assert len(vocab.requests_to("POST", "/vocabularies")) == 1  # not retried


def test_vocabulary_not_ready_in_time_connects_without_it_then_reuses_it() -> None:
    with FakeRevAiBatch(keys=[KEY], vocabulary_s=3600) as vocab:
        async def scenario() -> None:
            async with FakeRevAi(SPEECH, vocabulary_ids=vocab.complete_vocabulary_ids) as rt:
                events: list[object] = []
                cfg = SessionConfig(provider="revai", endpoint=rt.url,
                                    vocabulary=("Keanu Reeves",),
                                    options=opts(vocab, vocabulary_wait_s=0.2))
                transcript = Transcript()
                session = await transcribe_pcm(cfg, KEY, PCM, False, transcript, events.append)
                assert session.state is State.STOPPED, session.message
                assert transcript.finals  # captions did not wait for the vocabulary
                notices = [e for e in events if isinstance(e, Notice)]
                assert rt.connections[0].param("custom_vocabulary_id") is None
                assert [n.message for n in notices] == [f"Rev AI: {PENDING_NOTE}"]
                (v,) = vocab.vocabularies.values()
                v.ready_at = 0  # done now
                session, _, _ = await caption(rt, RevAiProvider, vocabulary=("Keanu Reeves",),
                                              options=opts(vocab, vocabulary_wait_s=0.2))
                assert session.state is State.STOPPED, session.message
                assert rt.connections[1].param("custom_vocabulary_id") == v.id
        run(scenario())
    assert len(vocab.requests_to("POST")) == 1  # built once


def test_bad_key_is_fatal_and_not_in_the_message() -> None:
    with FakeRevAiBatch(keys=[KEY]) as vocab:
        async def scenario() -> None:
            async with FakeRevAi(SPEECH) as rt:
                session, _, _ = await caption(rt, RevAiProvider, audio_ms=300,
                                              key="marker-key-77", vocabulary=WORDS,
                                              options=opts(vocab))
                assert session.state is State.FAILED
                assert "rejected the access token" in session.message
                assert "Preferences" in session.message
                assert "marker-key-77" not in session.message
        run(scenario())
    assert len(vocab.requests_to("POST")) == 1  # a bad key is not retried


def test_unreachable_vocabularies_api_says_so_without_the_key(tmp_path) -> None:
    with FakeRevAiBatch(keys=[KEY]) as vocab:
        url = vocab.base_url + "/vocabularies"
    # the fake is stopped: its port is closed now
    with pytest.raises(VocabularyError) as info:
        ensure_vocabulary(WORDS, "marker-key-78", url, cache=VocabularyCache(tmp_path / "c"))
    assert not info.value.fatal
    assert str(info.value).startswith("Can't reach Rev AI to build the custom vocabulary")
    assert "marker-key-78" not in str(info.value)


def test_deleted_vocabulary_is_built_again(tmp_path) -> None:
    cache = VocabularyCache(tmp_path / "vocabularies.json")
    with FakeRevAiBatch(keys=[KEY]) as vocab:
        url = vocab.base_url + "/vocabularies"
        first = ensure_vocabulary(WORDS, KEY, url, cache=cache)
        vocab.vocabularies.clear()  # deleted at Rev, or another account's id
        second = ensure_vocabulary(WORDS, KEY, url, cache=cache)
        with pytest.raises(VocabularyPending):  # a slow build: the id is kept for next time
            vocab.vocabulary_s = 3600
            ensure_vocabulary(("other",), KEY, url, cache=cache, ready_timeout_s=0.0)
    assert second and second != first
    assert len(json.loads(cache.path.read_text())) == 2


# -- as a user sets it: the command line and Preferences ---------------------------------


@pytest.fixture
def fakes() -> Iterator[tuple[FakeRevAiBatch, FakeRevAi]]:
    """Both fakes on their own loop thread (the CLI runs ``asyncio.run`` on this one)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    with FakeRevAiBatch(keys=[KEY], vocabulary_s=0.2) as vocab:
        rt = FakeRevAi(SPEECH, vocabulary_ids=vocab.complete_vocabulary_ids)
        asyncio.run_coroutine_threadsafe(rt.start(), loop).result(5)
        try:
            yield vocab, rt
        finally:
            asyncio.run_coroutine_threadsafe(rt.stop(), loop).result(5)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()


def test_cli_vocabulary_reaches_the_wire_as_custom_vocabulary_id(fakes, tmp_path, monkeypatch,
                                                                  capsys) -> None:
    vocab, rt = fakes
    monkeypatch.setattr("captioner.transcribe.secret_for", lambda provider: KEY)
    wav = write_wav(tmp_path / "speech.wav")
    code = cli.main(["transcribe", str(wav), "--streaming", "--provider", "revai",
                     "--endpoint", rt.url, "--vocabulary", "gnocchi, Keanu Reeves",
                     "--option", f"vocabulary_url={vocab.base_url}/vocabularies"])
    assert code == 0, capsys.readouterr().err
    (vocab_id,) = vocab.vocabularies
    assert vocab.vocabularies[vocab_id].phrases == ["gnocchi", "Keanu Reeves"]
    [conn] = rt.connections
    assert conn.param("custom_vocabulary_id") == vocab_id
    assert rt.violations == []


def test_cli_vocabulary_failure_is_one_line_and_exit_1(fakes, tmp_path) -> None:
    """As a user runs it (its own process, logging as configured): one line, no key."""
    vocab, rt = fakes
    wav = write_wav(tmp_path / "speech.wav")
    env = {**os.environ, "REV_ACCESS_TOKEN": "marker-key-79",
           "CAPTIONER_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "captioner", "transcribe", str(wav), "--streaming",
         "--provider", "revai", "--endpoint", rt.url, "--vocabulary", "gnocchi",
         "--option", f"vocabulary_url={vocab.base_url}/vocabularies"],
        env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "rejected the access token" in lines[0] and "REV_ACCESS_TOKEN" in lines[0]
    assert "marker-key-79" not in done.stderr + done.stdout
    assert rt.connections == []


def test_preferences_vocabulary_reaches_the_wire(fakes, tmp_path: Path) -> None:
    """What Preferences stores (the vocabulary field, the Rev AI options) is what is sent."""
    vocab, rt = fakes
    path = str(tmp_path / "s.ini")
    settings = Settings(QSettings(path, QSettings.Format.IniFormat))
    settings.set(Key.PROVIDER, "revai")
    settings.set(Key.VOCABULARY, "gnocchi, Keanu Reeves")
    settings.set(ENDPOINT_KEYS["revai"], rt.url)
    settings.set_vendor_options("revai", opts(vocab))
    settings.sync()
    cfg = Settings(QSettings(path, QSettings.Format.IniFormat)).session_config()
    assert cfg.vocabulary == ("gnocchi", "Keanu Reeves")
    session = asyncio.run(asyncio.wait_for(
        transcribe_pcm(cfg, KEY, PCM, False, Transcript(), lambda e: None), 30))
    assert session.state is State.STOPPED, session.message
    (vocab_id,) = vocab.vocabularies
    assert [c.param("custom_vocabulary_id") for c in rt.connections] == [vocab_id]


def test_unreachable_vocabularies_api_fails_the_session_after_the_quick_retries() -> None:
    with FakeRevAiBatch(keys=[KEY]) as vocab:
        url = vocab.base_url + "/vocabularies"  # closed once the fake stops

    async def scenario() -> None:
        async with FakeRevAi(SPEECH) as rt:
            session, _, _ = await caption(rt, RevAiProvider, audio_ms=300, key="marker-key-80",
                                          vocabulary=WORDS,
                                          options=RevAiOptions(vocabulary_url=url))
            assert session.state is State.FAILED
            assert session.message.startswith("Can't reach Rev AI to build the custom "
                                              "vocabulary")
            assert "3 attempts" in session.message and "marker-key-80" not in session.message
            assert rt.connections == []
    run(scenario())


def test_a_vocabularies_api_that_never_answers_times_out(tmp_path) -> None:
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/speechtotext/v1/vocabularies"
        with pytest.raises(VocabularyError) as info:
            ensure_vocabulary(WORDS, KEY, url, cache=VocabularyCache(tmp_path / "c"),
                              http_timeout_s=0.3)
    assert not info.value.fatal  # retried like a connection
    assert "(ReadTimeout)" in str(info.value) and "check the network" in str(info.value)
