"""Each cloud provider through the real session engine against its fake server.

The session paces audio at real time for these vendors, so each test streams
about a second of real speech (a LibriVox recording); the fake "recognizes"
scripted utterances as the audio passes them and checks every vendor rule on
the way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from captioner.audio.buffer import AudioBuffer
from captioner.audio.wavfile import read_audio
from captioner.config import SessionConfig
from captioner.providers.assemblyai import AssemblyAiOptions, AssemblyAiProvider
from captioner.providers.deepgram import DeepgramProvider
from captioner.providers.revai import RevAiProvider
from captioner.providers.speechmatics import SpeechmaticsOptions, SpeechmaticsProvider
from captioner.retry import RetryPolicy
from captioner.stream import State, StateChanged, VendorStream
from captioner.testing import Close, Drop, Fail, FakeServer, Send, Utterance
from captioner.testing.fake_assemblyai import FakeAssemblyAi
from captioner.testing.fake_deepgram import FakeDeepgram
from captioner.testing.fake_revai import FakeRevAi
from captioner.testing.fake_speechmatics import FakeKeyService, FakeSpeechmatics
from captioner.transcript import Transcript
from captioner.vendors import title
from tests.conftest import DATA

KEY = "test-key"
SPEECH = [Utterance("Hello there, world.", 100, 500, speaker=0), Utterance("Bye now!", 600, 900)]
VENDORS = [
    pytest.param(FakeRevAi, RevAiProvider, id="revai"),
    pytest.param(FakeAssemblyAi, AssemblyAiProvider, id="assemblyai"),
    pytest.param(FakeDeepgram, DeepgramProvider, id="deepgram"),
    pytest.param(FakeSpeechmatics, SpeechmaticsProvider, id="speechmatics"),
]
SPEECH_PCM = read_audio(DATA / "librivox-0870.wav")  # 7 s of real speech


def run(coro: Any, timeout_s: float = 20.0) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout_s)

    return asyncio.run(bounded())


async def caption(
    server: FakeServer,
    provider_cls: Callable[[SessionConfig], Any],
    audio_ms: int = 1200,
    key: str = KEY,
    endpoint: str | None = None,
    session_kwargs: dict[str, Any] | None = None,
    **config: Any,
) -> tuple[VendorStream, Transcript, list[StateChanged]]:
    """Stream ``audio_ms`` of silence through a session to ``server`` (a bare host
    unless ``endpoint`` is given: providers add their vendor's path)."""
    endpoint = endpoint or server.url
    cfg = SessionConfig(provider=provider_cls.name, endpoint=endpoint, **config)
    audio = AudioBuffer()
    pcm = SPEECH_PCM[: audio_ms * 32]
    for pos in range(0, len(pcm), 3200):
        audio.put(pcm[pos:pos + 3200])
    audio.close()
    transcript = Transcript()
    states: list[StateChanged] = []
    session = VendorStream(
        lambda: provider_cls(cfg),
        audio,
        transcript,
        secret=key,
        title=title(provider_cls.name),
        listener=lambda e: states.append(e) if isinstance(e, StateChanged) else None,
        policy=RetryPolicy(initial_s=0.05, max_attempts=3),
        eos_timeout_s=5,
        open_timeout_s=5,
        **(session_kwargs or {}),
    )
    await session.run()
    return session, transcript, states


def texts(transcript: Transcript) -> list[tuple[str, int, int]]:
    return [(s.text, s.start_ms, s.end_ms) for s in transcript.finals]


@pytest.mark.parametrize(("fake", "provider"), VENDORS)
def test_session_captions_each_vendor_cleanly(fake, provider) -> None:
    async def scenario() -> None:
        async with fake(SPEECH) as server:
            session, transcript, _ = await caption(server, provider)
            assert session.state is State.STOPPED, session.message
            assert [t for t, _, _ in texts(transcript)] == ["Hello there, world.", "Bye now!"]
            assert transcript.finals[0].start_ms == 100
            assert transcript.partials == {}
            [log] = server.connections
            assert log.violations == []
            assert log.eos_received and log.audio_ms >= 1200

    run(scenario())


@pytest.mark.parametrize(("fake", "provider"), VENDORS)
def test_session_reconnects_after_a_drop_without_losing_or_repeating(fake, provider) -> None:
    def script(index: int) -> list[Utterance]:
        # connection 1 resumes at stream 500 ms (after the last final)
        return SPEECH if index == 0 else [Utterance("Bye now!", 100, 400)]

    async def scenario() -> None:
        async with fake(script, [Drop(at_ms=700, connection=0)]) as server:
            session, transcript, _ = await caption(server, provider)
            assert session.state is State.STOPPED, session.message
            assert session.reconnects == 1
            assert texts(transcript) == [
                ("Hello there, world.", 100, 500),
                ("Bye now!", 600, 900),
            ]
            assert server.connections[0].dropped
            assert server.violations == []

    run(scenario())


@pytest.mark.parametrize(("fake", "provider"), VENDORS)
def test_session_stops_on_a_bad_key_without_retrying(fake, provider) -> None:
    async def scenario() -> None:
        async with fake(SPEECH) as server:
            session, transcript, _ = await caption(server, provider, audio_ms=300, key="nope")
            assert session.state is State.FAILED
            assert "Preferences" in session.message
            assert len(server.connections) == 1
            assert transcript.finals == ()

    run(scenario())


def test_session_retries_when_a_rev_ai_server_shuts_down() -> None:
    async def scenario() -> None:
        actions = [Close(4010, "Shutting Down", at_ms=None, connection=0)]
        async with FakeRevAi(SPEECH, actions) as server:
            session, transcript, states = await caption(server, RevAiProvider)
            assert session.state is State.STOPPED
            # never live yet: a quick retry, reported as still connecting
            retries = [s for s in states if s.retry_in_s > 0]
            assert len(retries) == 1 and "shutting down" in retries[0].message
            assert retries[0].state is State.CONNECTING
            assert len(texts(transcript)) == 2

    run(scenario())


def test_session_starts_a_new_assemblyai_session_when_one_expires() -> None:
    async def scenario() -> None:
        message = "Session Expired: Maximum session duration exceeded"

        def script(index: int) -> list[Utterance]:
            return SPEECH if index == 0 else [Utterance("Bye now!", 100, 400)]

        actions = [Fail(3008, message, at_ms=700, connection=0)]
        async with FakeAssemblyAi(script, actions) as server:
            session, transcript, _ = await caption(server, AssemblyAiProvider)
            assert session.state is State.STOPPED, session.message
            assert [t for t, _, _ in texts(transcript)] == ["Hello there, world.", "Bye now!"]
            assert len(server.connections) == 2

    run(scenario())


def test_session_uses_an_assemblyai_temporary_token() -> None:
    async def scenario() -> None:
        async with FakeAssemblyAi(SPEECH) as server:
            session, transcript, _ = await caption(
                server, AssemblyAiProvider, options=AssemblyAiOptions(temporary_token=True)
            )
            assert session.state is State.STOPPED, session.message
            assert len(server.token_requests) == 1
            [log] = server.connections
            assert "authorization" not in log.headers and log.param("token")
            assert len(texts(transcript)) == 2

    run(scenario())


def test_session_does_not_double_count_deepgram_final_segments() -> None:
    async def scenario() -> None:
        async with FakeDeepgram(SPEECH, final_chunk_words=2) as server:
            session, transcript, _ = await caption(server, DeepgramProvider, speaker_labels=True)
            assert [t for t, _, _ in texts(transcript)] == ["Hello there,", "world.", "Bye now!"]
            assert transcript.finals[0].speaker == "S0"
            assert server.violations == []

    run(scenario())


def test_session_captions_speechmatics_with_acks() -> None:
    async def scenario() -> None:
        async with FakeSpeechmatics(SPEECH) as server:
            session, transcript, _ = await caption(
                server, SpeechmaticsProvider, endpoint=server.endpoint
            )
            assert session.state is State.STOPPED, session.message
            assert [t for t, _, _ in texts(transcript)] == ["Hello there, world.", "Bye now!"]
            [log] = server.connections
            assert log.violations == []
            assert log.config is not None and log.eos_received

    run(scenario())


@pytest.mark.parametrize(("fake", "provider"), VENDORS)
def test_gap_is_marked_only_when_audio_was_really_lost(fake, provider) -> None:
    """A drop whose unfinalized audio fits the replay buffer loses nothing: no gap.
    With a replay buffer too small to hold it, the lost span is marked."""

    def script(index: int) -> list[Utterance]:
        return SPEECH if index == 0 else [Utterance("Bye now!", 100, 400)]

    async def scenario(replay_max_ms: int) -> Transcript:
        async with fake(script, [Drop(at_ms=700, connection=0)]) as server:
            session, transcript, _ = await caption(
                server, provider, session_kwargs={"replay_max_ms": replay_max_ms})
            assert session.state is State.STOPPED, session.message
            return transcript

    assert run(scenario(30_000)).gaps == ()
    gaps = run(scenario(100)).gaps
    assert len(gaps) == 1
    gap = gaps[0]
    # after the last final (500 ms), before the replayable tail of the 1.2 s sent
    assert 500 <= gap.start_ms < gap.end_ms <= 1100 and gap.source == "mic"


@pytest.mark.parametrize(("fake", "provider"), VENDORS)
def test_end_of_stream_waits_for_the_trailing_final(fake, provider) -> None:
    """The last utterance is still open when the audio ends: its final comes only in
    answer to the end-of-stream message, and the session waits for it. It holds the
    words heard so far ("words." starts at 2.85 s, after the audio ended)."""
    speech = [Utterance("Hello there, world.", 100, 500), Utterance("Last words.", 700, 5000)]

    async def scenario() -> None:
        async with fake(speech) as server:
            session, transcript, _ = await caption(server, provider, audio_ms=1000)
            assert session.state is State.STOPPED, session.message
            last = [t for t, _, _ in texts(transcript)][-1]
            assert last == "Last"
            if provider is AssemblyAiProvider:  # ForceEndpoint: the words heard so far, at once
                assert server.connections[0].texts == ['{"type": "ForceEndpoint"}',
                                                       '{"type": "Terminate"}']

    run(scenario())


@pytest.mark.parametrize(("fake", "provider"), VENDORS)
def test_malformed_and_unknown_frames_are_ignored(fake, provider) -> None:
    junk = [Send("not json {", at_ms=200), Send('{"type": "Mystery", "message": "Mystery"}',
                                                 at_ms=300), Send("[1, 2, 3]", at_ms=400)]

    async def scenario() -> None:
        async with fake(SPEECH, junk) as server:
            session, transcript, _ = await caption(server, provider)
            assert session.state is State.STOPPED, session.message
            assert [t for t, _, _ in texts(transcript)] == ["Hello there, world.", "Bye now!"]

    run(scenario())


def test_session_rolls_over_before_the_vendor_cap_without_losing_words() -> None:
    """Vendors cap sessions (3 h for Rev and AssemblyAI): before the cap the session
    ends the vendor session cleanly and continues in a new one, times continuous."""

    def script(index: int) -> list[Utterance]:
        return [Utterance("Hello there, world.", 100, 500)] if index == 0 else \
            [Utterance("Bye now!", 100, 400)]

    async def scenario() -> None:
        async with FakeAssemblyAi(script) as server:
            session, transcript, _ = await caption(
                server, AssemblyAiProvider, audio_ms=1500, session_kwargs={"max_session_s": 0.7})
            assert session.state is State.STOPPED, session.message
            assert len(server.connections) >= 2
            assert all(c.eos_received for c in server.connections)  # each one ended cleanly
            finals = texts(transcript)
            assert finals[0] == ("Hello there, world.", 100, 500)
            assert "Bye now!" in [t for t, _, _ in finals]
            bye = [f for f in finals if f[0] == "Bye now!"][0]
            assert bye[1] > 500  # the second session's times continue the first's
            assert server.violations == []

    run(scenario())


def test_session_uses_a_speechmatics_temporary_key() -> None:
    """The long-lived key goes only to the key service (POST, Bearer); the WebSocket
    gets the short-lived key the service returns (201 {"key_value": ...})."""

    async def scenario(key_url: str) -> None:
        async with FakeSpeechmatics(SPEECH, keys=("temp-key",)) as server:
            session, transcript, _ = await caption(
                server, SpeechmaticsProvider, key="long-lived",
                options=SpeechmaticsOptions(temporary_key=True, key_url=key_url))
            assert session.state is State.STOPPED, session.message
            [log] = server.connections
            assert log.headers["authorization"] == "Bearer temp-key"
            assert len(texts(transcript)) == 2

    with FakeKeyService() as service:
        run(scenario(service.url))
    assert service.requests == [("/v1/api_keys?type=rt", "Bearer long-lived", {"ttl": 60})]


def test_a_refused_speechmatics_temporary_key_is_fatal_at_once() -> None:
    async def scenario(key_url: str) -> None:
        async with FakeSpeechmatics(SPEECH, keys=("temp-key",)) as server:
            session, _, _ = await caption(
                server, SpeechmaticsProvider, key="wrong",
                options=SpeechmaticsOptions(temporary_key=True, key_url=key_url))
            assert session.state is State.FAILED
            assert "rejected the API key" in session.message
            assert server.connections == []  # never reached the WebSocket

    with FakeKeyService() as service:
        run(scenario(service.url))
    assert len(service.requests) == 1  # a 401 is not retried

