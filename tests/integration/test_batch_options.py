"""Every batch-only option (``batch_*`` and the others the batch clients read) reaches the
request the HTTP batch fake on 127.0.0.1 RECEIVED — set with ``--option key=value`` on the
command line (a subprocess, as a user runs it) and through what Preferences stores."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from captioner import cli
from captioner.batch import JobStore, make_vendor, transcribe_file
from captioner.config import SessionConfig
from captioner.options import parse_pairs, specs
from captioner.providers import options_class
from captioner.settings import Key, Settings
from captioner.testing.batch_fakes import FAKES, FAST, run_bounded
from captioner.testing.fake_http import FakeHttpServer, Request
from tests.integration.test_batch_cli import REPO, WAV, env_for

KEY = "cli-test-key-42"


def one(fake: FakeHttpServer, method: str, path: str) -> Request:
    (request,) = fake.requests_to(method, path)
    return request


def aai_received(fake: FakeHttpServer) -> None:
    body = one(fake, "POST", "/v2/transcript").json()
    assert body["speech_models"] == ["universal-2", "slam-1"]
    assert body["speaker_labels"] is False
    assert body["format_text"] is False and body["punctuate"] is False
    assert body["multichannel"] is True


def rev_received(fake: FakeHttpServer) -> None:
    options = json.loads(one(fake, "POST", "/jobs").form["options"][2])
    assert options["transcriber"] == "fusion"
    assert options["skip_diarization"] is True
    assert options["speakers_count"] == 3
    assert options["speaker_channels_count"] == 2
    assert options["remove_atmospherics"] is True
    assert fake.violations == []  # type: ignore[attr-defined]


def sm_received(fake: FakeHttpServer) -> None:
    post = one(fake, "POST", "/jobs")
    config = json.loads(post.form["config"][2])
    assert config["transcription_config"]["operating_point"] == "standard"
    assert config["transcription_config"]["diarization"] == "channel"
    assert config["translation_config"] == {"target_languages": ["de", "fr"]}
    (temporary,) = fake.temporary_keys  # type: ignore[attr-defined]
    assert one(fake, "POST", "/v1/api_keys").header("authorization") == f"Bearer {KEY}"
    assert post.header("authorization") == f"Bearer {temporary}"  # not the long-lived key


def dg_received(fake: FakeHttpServer) -> None:
    (post,) = fake.requests
    assert post.param("model") == "nova-2"
    assert "diarize" not in post.query


@dataclass(frozen=True)
class Case:
    options: dict[str, str]
    received: Callable[[FakeHttpServer], None]


CASES: dict[str, Case] = {
    "assemblyai": Case({"batch_speech_models": "universal-2,slam-1",
                        "batch_speaker_labels": "false", "batch_format_text": "false",
                        "batch_punctuate": "false", "batch_multichannel": "true"}, aai_received),
    "revai": Case({"batch_transcriber": "fusion", "batch_speaker_labels": "false",
                   "batch_speakers_count": "3", "batch_speaker_channels_count": "2",
                   "batch_remove_atmospherics": "true"}, rev_received),
    "speechmatics": Case({"model": "standard", "batch_diarization": "channel",
                          "batch_translation": "de,fr", "temporary_key": "true",
                          "batch_key_url": "{fake}/v1/api_keys?type=batch"}, sm_received),
    "deepgram": Case({"batch_model": "nova-2", "batch_speaker_labels": "false"}, dg_received),
}
#: options checked by a dedicated test below (the region picks a host, not a field)
DEDICATED = {"region", "batch_region"}


def pairs_for(case: Case, fake: FakeHttpServer) -> dict[str, str]:
    return {k: v.replace("{fake}", fake.url) for k, v in case.options.items()}


@pytest.mark.parametrize("provider", list(CASES))
def test_cli_batch_options_reach_the_request(provider, tmp_path) -> None:
    case = CASES[provider]
    out = tmp_path / "talk.srt"
    with FAKES[provider](keys=[KEY]) as fake:
        argv = [sys.executable, "-m", "captioner", "transcribe", str(WAV), "--provider",
                provider, "--endpoint", fake.base_url, "--format", "srt", "-o", str(out)]
        for key, value in pairs_for(case, fake).items():
            argv += ["--option", f"{key}={value}"]
        done = subprocess.run(argv, cwd=REPO, env=env_for(provider, tmp_path, KEY),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        case.received(fake)
    assert "1 of the recording." in out.read_text()


@pytest.mark.parametrize("provider", list(CASES))
def test_settings_batch_options_reach_the_request(provider, tmp_path) -> None:
    """What Preferences stores (the vendor's options) is what the batch request carries."""
    case = CASES[provider]
    with FAKES[provider](keys=[KEY]) as fake:
        path = str(tmp_path / "s.ini")
        settings = Settings(QSettings(path, QSettings.Format.IniFormat))
        settings.set(Key.PROVIDER, provider)
        settings.set_vendor_options(provider, parse_pairs(options_class(provider),
                                                          pairs_for(case, fake)))
        settings.sync()
        cfg = Settings(QSettings(path, QSettings.Format.IniFormat)).session_config()
        run_bounded(transcribe_file(WAV, provider, cfg, KEY, endpoint=fake.base_url,
                                    jobs=JobStore(tmp_path / "jobs.json"), settings=FAST))
        case.received(fake)


def test_speechmatics_translations_are_written_beside_the_transcript(tmp_path) -> None:
    out = tmp_path / "talk.vtt"
    with FAKES["speechmatics"](keys=[KEY]) as fake:
        done = subprocess.run(
            [sys.executable, "-m", "captioner", "transcribe", str(WAV), "--provider",
             "speechmatics", "--endpoint", fake.base_url, "--format", "vtt", "-o", str(out),
             "--option", "batch_translation=de,fr"],
            cwd=REPO, env=env_for("speechmatics", tmp_path, KEY), capture_output=True,
            text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 of the recording." in out.read_text()
    for language in ("de", "fr"):
        translated = (tmp_path / f"talk.{language}.vtt").read_text()
        assert translated.startswith("WEBVTT")
        assert f"<v Speaker 1>[{language}] This is sentence\nnumber 1 of" in translated
        assert "<v Speaker 2>" in translated  # the vendor's speakers, as in the transcript
        assert f"wrote {tmp_path / f'talk.{language}.vtt'}" in done.stderr


@pytest.mark.parametrize(("provider", "option", "url"), [
    ("revai", "region=eu", "https://ec1.api.rev.ai/speechtotext/v1"),
    ("assemblyai", "region=eu", "https://api.eu.assemblyai.com"),
    ("speechmatics", "region=us", "https://us1.asr.api.speechmatics.com/v2"),
    ("deepgram", "batch_region=eu", "https://api.eu.deepgram.com/v1"),
])
def test_region_options_choose_the_batch_host(provider, option, url) -> None:
    key, value = option.split("=")
    opts = parse_pairs(options_class(provider), {key: value})
    assert make_vendor(provider, SessionConfig(provider=provider, options=opts)).base_url() == url
    assert make_vendor(provider, SessionConfig(provider=provider)).base_url() != url


@pytest.mark.parametrize(("argv", "expected"), [
    (["--provider", "speechmatics", "--option", "batch_diarization=speakers"],
     "one of speaker, channel, none"),
    (["--provider", "assemblyai", "--option", "batch_speech_models=nano"],
     "one of universal-3-5-pro, universal-2"),
    (["--provider", "revai", "--option", "batch_speakers_count=many"], "a whole number"),
    (["--provider", "deepgram", "--option", "batch_region=asia"], "one of us, eu"),
    (["--provider", "speechmatics", "--option", "batch_translation=a,b,c,d,e,f"], "at most 5"),
])
def test_bad_batch_options_exit_2_with_the_choices(argv, expected, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["transcribe", str(WAV), *argv])
    assert exited.value.code == 2
    assert expected in capsys.readouterr().err


def test_providers_lists_the_batch_options(capsys) -> None:
    assert cli.main(["providers"]) == 0
    out = capsys.readouterr().out
    for provider in CASES:
        for spec in specs(options_class(provider)):
            if spec.name.startswith("batch_"):
                assert f"--option {spec.name}=…" in out
                assert spec.help.startswith("recorded files (batch API): ")
    assert "--option batch_speech_models=…  default universal-3-5-pro,universal-2" in out


def test_every_batch_option_is_on_the_wire_test() -> None:
    """A new ``batch_*`` option must be added to the cases above."""
    for provider, case in CASES.items():
        batch = {s.name for s in specs(options_class(provider)) if s.name.startswith("batch_")}
        missing = batch - set(case.options) - DEDICATED
        assert not missing, f"{provider}: {sorted(missing)} not on the wire test"


def test_no_batch_client_reads_an_option_by_name() -> None:
    """The batch clients read typed fields, never ``getattr``/mapping look-ups of options."""
    for module in Path(REPO / "captioner" / "batch").glob("*.py"):
        text = module.read_text()
        assert "option(" not in text and "getattr(self.opts" not in text, module.name


def test_improve_cli_batch_options_reach_the_request(tmp_path) -> None:
    """``captioner improve SESSION --provider revai --option …``: the same typed options."""
    from captioner.testing.fake_revai_batch import FakeRevAiBatch
    from captioner.transcript import store
    from tests.integration.test_improve_vendor import KEY as REV_KEY
    from tests.integration.test_improve_vendor import LIVE, SCRIPT, STRETCHES
    from tests.recorded import recorded_session

    recorded_session(tmp_path / "sessions", STRETCHES[:1], LIVE[:1])
    [summary] = store.list_sessions(tmp_path / "sessions")
    with FakeRevAiBatch(keys=[REV_KEY], script=SCRIPT) as fake:
        done = subprocess.run(
            [sys.executable, "-m", "captioner", "improve", summary.id, "--provider", "revai",
             "--endpoint", fake.base_url, "--option", "batch_transcriber=fusion",
             "--option", "batch_speaker_labels=false"],
            cwd=REPO, env={**env_for("revai", tmp_path, REV_KEY)}, capture_output=True,
            text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        options = json.loads(one(fake, "POST", "/jobs").form["options"][2])
    assert options["transcriber"] == "fusion" and options["skip_diarization"] is True


def test_improve_cli_refuses_a_bad_batch_option(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["improve", "20261201-000000-abcd", "--provider", "revai",
                  "--option", "batch_transcriber=human"])
    assert exited.value.code == 2
    assert "one of" in capsys.readouterr().err
