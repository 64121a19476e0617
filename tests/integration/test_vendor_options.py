"""Every vendor option reaches the wire: the query or config each fake RECEIVED.

Two paths set the options, as a user would: the command line (``captioner
transcribe --model/--region/--option``, run in-process on a real WAV) and the
app's settings (what Preferences → Providers stores, read back by
``Settings.session_config``). Both must produce the same wire values.
"""

from __future__ import annotations

import asyncio
import json
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from captioner import cli
from captioner.audio.wavfile import read_audio
from captioner.config import SessionConfig
from captioner.options import parse_pairs
from captioner.providers import options_class
from captioner.settings import ENDPOINT_KEYS, Key, Settings
from captioner.stream import State
from captioner.testing import ConnectionLog, FakeServer, Utterance
from captioner.testing.fake_assemblyai import FakeAssemblyAi
from captioner.testing.fake_deepgram import FakeDeepgram
from captioner.testing.fake_revai import FakeRevAi
from captioner.testing.fake_speechmatics import FakeSpeechmatics
from captioner.transcribe import transcribe_pcm
from captioner.transcript import Transcript
from tests.conftest import DATA

KEY = "test-key"
SPEECH = [Utterance("Hello there.", 100, 600)]
PCM = read_audio(DATA / "librivox-0870.wav")[: 32 * 900]  # 0.9 s of real speech


@dataclass(frozen=True)
class Case:
    """One vendor's options as typed on the command line and what the fake must see."""

    provider: str
    fake: type[FakeServer]
    args: tuple[str, ...]  # besides --provider/--endpoint
    options: dict[str, str]  # the same choices as --option pairs (model/region included)
    language: str = "en"
    vocabulary: str = ""
    speaker_labels: bool = False
    profanity_filter: bool = False
    remove_disfluencies: bool = False


def rev_received(log: ConnectionLog) -> None:
    assert log.param("transcriber") == "machine"
    assert log.param("custom_vocabulary_id") == "cv-123"
    assert log.param("detailed_partials") == "true"
    assert log.param("max_segment_duration_seconds") == "10"
    assert log.param("skip_postprocessing") == "true"
    assert log.param("delete_after_seconds") == "60"
    assert log.param("metadata") == "lecture 3"
    assert log.param("language") == "cmn"  # zh mapped to Rev's code
    assert log.param("filter_profanity") == "true"
    assert log.param("remove_disfluencies") == "true"
    assert log.param("enable_speaker_switch") == "true"


def aai_received(log: ConnectionLog) -> None:
    assert log.param("speech_model") == "universal-streaming-multilingual"
    assert log.param("format_turns") == "false"
    assert log.param("min_turn_silence") == "300"
    assert log.param("max_turn_silence") == "900"
    assert log.param("end_of_turn_confidence_threshold") == "0.5"
    assert log.param("vad_threshold") == "0.3"
    assert log.param("max_speakers") == "2"
    assert log.param("inactivity_timeout") == "60"
    assert log.param("language_detection") == "true"
    assert log.param("filter_profanity") == "true"
    assert log.param("speaker_labels") == "true"
    assert json.loads(log.param("keyterms_prompt") or "") == ["gnocchi", "Keanu Reeves"]


def sm_received(log: ConnectionLog) -> None:
    assert log.config is not None
    tc = log.config["transcription_config"]
    assert tc["model"] == "standard" and "operating_point" not in tc
    assert tc["language"] == "cmn"  # zh mapped to Speechmatics' code
    assert tc["max_delay"] == 1.5 and tc["max_delay_mode"] == "fixed"
    assert tc["conversation_config"] == {"end_of_utterance_silence_trigger": 0.8}
    assert tc["diarization"] == "speaker"
    assert tc["speaker_diarization_config"] == {"max_speakers": 3}
    assert tc["transcript_filtering_config"] == {"remove_disfluencies": True}
    assert tc["additional_vocab"] == [{"content": "gnocchi"}, {"content": "Keanu Reeves"}]


def dg_received(log: ConnectionLog) -> None:
    assert log.param("model") == "nova-2"
    assert log.param("endpointing") == "500"
    assert log.param("interim_results") == "true"
    assert log.param("utterance_end_ms") == "1000"
    assert log.param("smart_format") == "false"
    assert log.param("punctuate") == "false"
    assert log.param("numerals") == "true"
    assert log.param("mip_opt_out") == "true"
    assert log.param("diarize_model") == "v1" and log.param("diarize") is None
    assert log.param("profanity_filter") == "true"
    assert log.param("filler_words") == "false"
    assert log.query["keywords"] == ["gnocchi", "Keanu Reeves"]  # nova-2: keywords
    assert log.param("language") == "de"


CASES = {
    "revai": (Case("revai", FakeRevAi, ("--model", "machine"), {
        "transcriber": "machine", "custom_vocabulary_id": "cv-123", "detailed_partials": "true",
        "max_segment_duration_seconds": "10", "skip_postprocessing": "true",
        "delete_after_seconds": "60", "metadata": "lecture 3"}, language="zh",
        speaker_labels=True, profanity_filter=True, remove_disfluencies=True), rev_received),
    "assemblyai": (Case("assemblyai", FakeAssemblyAi,
                        ("--model", "universal-streaming-multilingual"), {
        "speech_model": "universal-streaming-multilingual", "format_turns": "false",
        "min_turn_silence": "300", "max_turn_silence": "900",
        "end_of_turn_confidence_threshold": "0.5", "vad_threshold": "0.3", "max_speakers": "2",
        "inactivity_timeout": "60", "language_detection": "true"}, language="es",
        vocabulary="gnocchi, Keanu Reeves", speaker_labels=True, profanity_filter=True),
        aai_received),
    "speechmatics": (Case("speechmatics", FakeSpeechmatics, ("--model", "standard",
                                                             "--region", "us"), {
        "model": "standard", "region": "us", "max_delay": "1.5", "max_delay_mode": "fixed",
        "end_of_utterance_silence_s": "0.8", "max_speakers": "3"}, language="zh",
        vocabulary="gnocchi, Keanu Reeves",
        speaker_labels=True, remove_disfluencies=True), sm_received),
    "deepgram": (Case("deepgram", FakeDeepgram, ("--model", "nova-2"), {
        "model": "nova-2", "endpointing": "500", "utterance_end_ms": "1000",
        "smart_format": "false", "punctuate": "false", "numerals": "true",
        "mip_opt_out": "true", "diarize_model": "v1", "interim_results": "true"}, language="de",
        vocabulary="gnocchi, Keanu Reeves", speaker_labels=True, profanity_filter=True,
        remove_disfluencies=True), dg_received),
}


def cli_argv(case: Case, wav: Path, endpoint: str) -> list[str]:
    argv = ["transcribe", str(wav), "--streaming", "--provider", case.provider,
            "--endpoint", endpoint, "--language", case.language, *case.args]
    for key, value in case.options.items():
        if key in ("speech_model", "model", "transcriber") and "--model" in case.args:
            continue
        if key == "region" and "--region" in case.args:
            continue
        argv += ["--option", f"{key}={value}"]
    if case.vocabulary:
        argv += ["--vocabulary", case.vocabulary]
    for flag, on in (("--speaker-labels", case.speaker_labels),
                     ("--profanity-filter", case.profanity_filter),
                     ("--remove-disfluencies", case.remove_disfluencies)):
        if on:
            argv.append(flag)
    return argv


def write_wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(PCM)
    return path


@pytest.fixture
def no_keychain(monkeypatch):
    monkeypatch.setattr("captioner.transcribe.secret_for", lambda provider: KEY)


@pytest.mark.parametrize("name", list(CASES))
def test_cli_options_reach_the_wire(name, tmp_path, no_keychain, capsys) -> None:
    """The CLI runs on the main thread (it installs a Ctrl-C handler); the fake on its own."""
    import threading

    case, received = CASES[name]
    wav = write_wav(tmp_path / "speech.wav")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = case.fake(SPEECH)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
    try:
        code = cli.main(cli_argv(case, wav, server.url))
        assert code == 0, capsys.readouterr().err
        [log] = server.connections
        received(log)
        assert server.violations == []
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.mark.parametrize("name", list(CASES))
def test_settings_options_reach_the_wire(name, tmp_path) -> None:
    """What Preferences stores (per-vendor options, shared checkboxes) is what is sent."""
    case, received = CASES[name]
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    settings.set(Key.PROVIDER, case.provider)
    settings.set(Key.LANGUAGE, case.language)
    settings.set(Key.VOCABULARY, case.vocabulary)
    settings.set(Key.SPEAKER_LABELS, case.speaker_labels)
    settings.set(Key.PROFANITY_FILTER, case.profanity_filter)
    settings.set(Key.REMOVE_DISFLUENCIES, case.remove_disfluencies)
    opts = parse_pairs(options_class(case.provider), case.options)
    settings.set_vendor_options(case.provider, opts)
    settings.sync()

    async def scenario() -> None:
        async with case.fake(SPEECH) as server:
            again = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
            again.set(ENDPOINT_KEYS[case.provider], server.url)
            cfg = again.session_config()
            assert cfg.options == opts
            session = await transcribe_pcm(cfg, KEY, PCM, False, Transcript(), lambda e: None)
            assert session.state is State.STOPPED, session.message
            [log] = server.connections
            received(log)
            assert server.violations == []

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_cli_and_settings_build_the_same_config(tmp_path) -> None:
    case, _ = CASES["deepgram"]
    args = cli.build_parser().parse_args(cli_argv(case, tmp_path / "x.wav", "ws://h:1"))
    from captioner.providers_cli import options_from_args
    from captioner.transcribe import config_from_args

    args.options = options_from_args(args.provider, args.model, args.region, args.option)
    from_cli = config_from_args(args)
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    for key, value in ((Key.PROVIDER, "deepgram"), (Key.LANGUAGE, case.language),
                       (Key.VOCABULARY, case.vocabulary), (Key.SPEAKER_LABELS, True),
                       (Key.PROFANITY_FILTER, True), (Key.REMOVE_DISFLUENCIES, True),
                       (ENDPOINT_KEYS["deepgram"], "ws://h:1")):
        settings.set(key, value)
    settings.set_vendor_options("deepgram", parse_pairs(options_class("deepgram"), case.options))
    assert settings.session_config() == from_cli


def test_assemblyai_default_model_follows_the_language(tmp_path) -> None:
    """No options at all: speech_model is still sent (the service requires it)."""

    async def scenario() -> None:
        async with FakeAssemblyAi(SPEECH) as server:
            for language, model in (("en", "u3-rt-pro"), ("ja", "whisper-rt")):
                cfg = SessionConfig(provider="assemblyai", endpoint=server.url,
                                    language=language)
                session = await transcribe_pcm(cfg, KEY, PCM, False, Transcript(),
                                               lambda e: None)
                assert session.state is State.STOPPED, session.message
                assert server.connections[-1].param("speech_model") == model

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_assemblyai_temporary_token_options_reach_the_token_request(tmp_path) -> None:
    async def scenario() -> None:
        async with FakeAssemblyAi(SPEECH) as server:
            opts = parse_pairs(options_class("assemblyai"), {
                "temporary_token": "true", "token_expires_in_s": "30",
                "max_session_duration_s": "600"})
            cfg = SessionConfig(provider="assemblyai", endpoint=server.url, options=opts)
            session = await transcribe_pcm(cfg, KEY, PCM, False, Transcript(), lambda e: None)
            assert session.state is State.STOPPED, session.message
            assert server.token_requests == [{"expires_in_seconds": ["30"],
                                              "max_session_duration_seconds": ["600"]}]
            assert "authorization" not in server.connections[0].headers

    asyncio.run(asyncio.wait_for(scenario(), 30))


@pytest.mark.parametrize(("argv", "expected"), [
    (["--provider", "deepgram", "--option", "modle=nova-2"], "valid options: model,"),
    (["--provider", "deepgram", "--option", "endpointing=soon"], "a whole number"),
    (["--provider", "assemblyai", "--model", "nova-3"], "one of auto, u3-rt-pro"),
    (["--provider", "speechmatics", "--region", "mars"], "one of eu, us"),
    (["--provider", "local", "--model", "tiny"], "tiny.en, base"),
    (["--provider", "deepgram", "--region", "eu"], "has no region choice"),
    (["--provider", "revai", "--option", "nonsense"], "key=value"),
])
def test_bad_options_are_usage_errors_listing_the_choices(argv, expected, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["transcribe", "x.wav", *argv])
    assert exited.value.code == 2
    assert expected in capsys.readouterr().err


def test_providers_lists_every_vendor_with_options_and_defaults(capsys) -> None:
    assert cli.main(["providers"]) == 0
    out = capsys.readouterr().out
    for title in ("Rev AI", "AssemblyAI", "Speechmatics", "Deepgram", "Offline engine"):
        assert title in out
    assert "--option speech_model=…  default auto" in out
    assert "--option model=…  default enhanced" in out
    assert "--option model=…  default nova-3" in out
    assert "DEEPGRAM_API_KEY" in out
    assert "wss://ec1.api.rev.ai/speechtotext/v1/stream" in out


def test_every_declared_option_is_exercised() -> None:
    """A new option must be added to the cases above (or to a dedicated test)."""
    dedicated = {"assemblyai": {"region", "temporary_token", "token_expires_in_s",
                                "max_session_duration_s", "prompt"},
                 # vocabulary_*: tests/integration/test_revai_vocabulary.py
                 "revai": {"region", "vocabulary_url", "vocabulary_wait_s"},
                 "deepgram": {"auth"},
                 "speechmatics": {"temporary_key", "temporary_key_ttl_s", "key_url"}}
    from captioner.options import specs

    for name, (case, _) in CASES.items():
        # batch_* (recorded files): tests/integration/test_batch_options.py
        declared = {s.name for s in specs(options_class(name)) if not s.name.startswith("batch_")}
        covered = set(case.options) | dedicated.get(name, set())
        assert declared <= covered, f"{name}: {sorted(declared - covered)} not on the wire test"


# -- the fakes refuse what the services refuse (and so would refuse the old client) -----


def test_assemblyai_fake_refuses_a_connection_without_speech_model() -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async def scenario() -> None:
        async with FakeAssemblyAi(SPEECH) as server:
            url = f"{server.url}/v3/ws?sample_rate=16000&encoding=pcm_s16le"
            with pytest.raises(InvalidStatus) as refused:
                await connect(url, additional_headers={"Authorization": KEY})
            assert refused.value.response.status_code == 400
            assert b"speech_model is required" in (refused.value.response.body or b"")
            with pytest.raises(InvalidStatus):
                await connect(url + "&speech_model=nova-3", additional_headers={
                    "Authorization": KEY})

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_deepgram_refusal_reason_is_shown() -> None:
    """HTTP 400 with ``dg-error``: the user reads Deepgram's reason, not just "400"."""

    async def scenario() -> None:
        async with FakeDeepgram(SPEECH) as server:
            cfg = SessionConfig(provider="deepgram",
                                endpoint=f"{server.url}/v1/listen?diarize_model=v2")
            session = await transcribe_pcm(cfg, KEY, PCM, False, Transcript(), lambda e: None)
            assert session.state is State.FAILED
            assert "diarize_model: v2 is not available for streaming" in session.message
            assert len(server.connections) == 1  # a refused setting is not retried

    asyncio.run(asyncio.wait_for(scenario(), 30))


@pytest.mark.parametrize(("fake", "provider"), [(FakeRevAi, "revai"),
                                                (FakeSpeechmatics, "speechmatics")])
def test_mandarin_is_sent_under_the_vendor_code(fake, provider, monkeypatch) -> None:
    """``zh`` is refused by Rev and Speechmatics (they name Mandarin ``cmn``): mapped, it
    passes; sent as-is (the old client, no mapping table), the fake refuses it."""
    module = __import__(f"captioner.providers.{provider}", fromlist=["LANGUAGE_CODES"])

    async def run_once() -> tuple[State, str]:
        async with fake(SPEECH) as server:
            cfg = SessionConfig(provider=provider, endpoint=server.url, language="zh")
            session = await transcribe_pcm(cfg, KEY, PCM, False, Transcript(), lambda e: None)
            return session.state, session.message

    state, message = asyncio.run(asyncio.wait_for(run_once(), 30))
    assert state is State.STOPPED, message
    monkeypatch.setattr(module, "LANGUAGE_CODES", {})
    state, message = asyncio.run(asyncio.wait_for(run_once(), 30))
    assert state is State.FAILED
