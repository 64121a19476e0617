"""Live translation end to end: the Speechmatics provider through VendorStream against its fake."""

from __future__ import annotations

import json

from captioner.audio.buffer import AudioBuffer
from captioner.config import SessionConfig
from captioner.providers.speechmatics import SpeechmaticsProvider
from captioner.retry import RetryPolicy
from captioner.stream import Notice, State, StreamEvent, VendorStream
from captioner.testing import Utterance
from captioner.testing.fake_speechmatics import FakeSpeechmatics, config_error
from captioner.transcript import Transcript
from tests.integration.test_vendor_streams import SPEECH_PCM, run

SPEECH = [Utterance("Hello everyone. How are you?", 100, 700), Utterance("Bye now!", 800, 1000)]
BOOK = {"es": {"Hello everyone.": "Hola a todos.", "How are you?": "¿Cómo estáis?",
               "Bye now!": "¡Adiós!"}}


async def caption(server: FakeSpeechmatics, events: list[StreamEvent] | None = None,
                  **config: object) -> tuple[VendorStream, Transcript]:
    """1.2 s of speech through a Speechmatics stream to ``server``."""
    cfg = SessionConfig(provider="speechmatics", endpoint=server.url, **config)  # type: ignore[arg-type]
    audio = AudioBuffer()
    audio.put(SPEECH_PCM[:1200 * 32])
    audio.close()
    transcript = Transcript()
    session = VendorStream(lambda: SpeechmaticsProvider(cfg), audio, transcript,
                           secret="test-key", title="Speechmatics",
                           listener=(events if events is not None else []).append,
                           policy=RetryPolicy(initial_s=0.05, max_attempts=3),
                           eos_timeout_s=5, open_timeout_s=5)
    await session.run()
    return session, transcript


def test_translations_reach_the_transcript_tied_to_their_finals() -> None:
    async def scenario() -> None:
        async with FakeSpeechmatics(SPEECH, phrasebook=BOOK, translation_delay_ms=300) as server:
            session, transcript = await caption(server, translate_to=("es", "de"))
            assert session.state is State.STOPPED, session.message
            [log] = server.connections
            assert log.violations == []
            assert log.config is not None
            assert log.config["translation_config"] == {"target_languages": ["es", "de"],
                                                        "enable_partials": True}
            sent = [m["message"] for m in log.sent_json()]
            assert "AddPartialTranslation" in sent
            # each final's translation comes after it, not with it
            assert sent.index("AddTranslation") > sent.index("AddTranscript") + 1
            es = [(t.text, t.start_ms) for t in transcript.translations if t.language == "es"]
            assert es == [("Hola a todos.", 100), ("¿Cómo estáis?", 340), ("¡Adiós!", 800)]
            de = [t.text for t in transcript.translations if t.language == "de"]
            assert de == ["Hello everyone. (de)", "How are you? (de)", "Bye now! (de)"]
            assert transcript.partial_translations == {}
            assert [s.text for s in transcript.finals] == ["Hello everyone. How are you?",
                                                           "Bye now!"]

    run(scenario())


def test_an_unsupported_pair_is_a_warning_and_captions_go_on() -> None:
    events: list[StreamEvent] = []

    async def scenario() -> None:
        async with FakeSpeechmatics(SPEECH) as server:
            session, transcript = await caption(server, events, language="de",
                                                translate_to=("es", "en"))
            assert session.state is State.STOPPED, session.message
            assert {t.language for t in transcript.translations} == {"en"}
            assert len(transcript.finals) == 2

    run(scenario())
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert notices == ["Speechmatics: Translation from de to es is not supported"]


def test_fake_refuses_more_targets_than_the_service_allows() -> None:
    cfg = SessionConfig(provider="speechmatics", translate_to=tuple("es de fr it pt nl".split()))
    start = json.loads(SpeechmaticsProvider(cfg).handshake(None).first_message or "{}")
    assert config_error(start) == ("invalid_config",
                                   "at most 5 translation target languages, got 6")
    start["translation_config"] = {"target_languages": "es"}
    assert config_error(start)[0] == "invalid_config"
    start["translation_config"] = {"target_languages": ["es"], "partials": True}
    assert config_error(start)[0] == "invalid_config"


def test_six_targets_end_the_session_with_the_vendor_refusal() -> None:
    async def scenario() -> None:
        async with FakeSpeechmatics(SPEECH) as server:
            session, _ = await caption(server, translate_to=tuple("es de fr it pt nl".split()))
            assert session.state is State.FAILED
            assert "refused the session settings" in session.message
            assert len(server.connections) == 1  # a refused config is not retried

    run(scenario())
