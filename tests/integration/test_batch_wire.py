"""What the AssemblyAI, Speechmatics and Deepgram batch clients put on the wire, checked by the
fakes, and that the fakes refuse what the real services refuse."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from captioner.batch import JobStore, transcribe_file
from captioner.config import SessionConfig
from captioner.providers.assemblyai import AssemblyAiOptions
from captioner.providers.deepgram import DeepgramOptions
from captioner.providers.speechmatics import SpeechmaticsOptions
from captioner.testing.batch_fakes import FAKES, FAST
from captioner.testing.batch_fakes import run_bounded as run

WAV = Path(__file__).parent.parent / "data" / "meeting-2speakers.wav"
KEY = "test-key"


@pytest.fixture
def jobs(tmp_path) -> JobStore:
    return JobStore(tmp_path / "batch-jobs.json")


def transcribe(provider, fake, jobs, cfg):
    return transcribe_file(WAV, provider, cfg, KEY, endpoint=fake.base_url, jobs=jobs,
                           settings=FAST)


def test_assemblyai_uploads_then_asks_with_speech_models(jobs):
    cfg = SessionConfig(provider="assemblyai", language="de", vocabulary=("Kubernetes", "K8s"),
                        profanity_filter=True)
    with FAKES["assemblyai"](keys=[KEY]) as fake:
        result = run(transcribe("assemblyai", fake, jobs, cfg))
        upload, create = fake.requests_to("POST")
    assert upload.path == "/v2/upload" and upload.body == WAV.read_bytes()
    assert upload.header("authorization") == KEY  # the key alone, no "Bearer"
    assert upload.header("content-length") == str(WAV.stat().st_size)
    body = create.json()
    assert body["speech_models"] == ["universal-3-5-pro", "universal-2"]
    assert body["audio_url"].startswith("https://cdn.assemblyai.com/upload/")
    assert body["language_code"] == "de" and "language_detection" not in body
    assert body["keyterms_prompt"] == ["Kubernetes", "K8s"]
    assert body["speaker_labels"] is True and body["filter_profanity"] is True
    assert result.meta["model"] == "universal-3-5-pro"
    assert {s.speaker for s in result.segments} == {"A", "B"}


def test_assemblyai_model_option_and_language_detection(jobs):
    cfg = SessionConfig(provider="assemblyai", language="auto",
                        options=AssemblyAiOptions(batch_speech_models=("universal-2",)))
    with FAKES["assemblyai"](keys=[KEY]) as fake:
        run(transcribe("assemblyai", fake, jobs, cfg))
        body = fake.requests_to("POST", "/v2/transcript")[0].json()
    assert body["speech_models"] == ["universal-2"] and body["language_detection"] is True


@pytest.mark.parametrize(("change", "refusal"), [
    ({"speech_models": None}, "speech_models is required"),
    ({"speech_models": None, "speech_model": "best"}, "speech_model is no longer supported"),
    ({"speech_models": ["nano"]}, "Invalid speech_models"),
    ({"word_boost": ["x"]}, "use keyterms_prompt"),
    ({"language_detection": True}, "can't be used with language_detection"),
])
def test_assemblyai_fake_refuses_what_the_service_refuses(change, refusal):
    with FAKES["assemblyai"](keys=[KEY]) as fake:
        body = {"audio_url": "https://cdn.assemblyai.com/upload/x", "language_code": "en",
                "speech_models": ["universal-2"]}
        body.update(change)
        body = {k: v for k, v in body.items() if v is not None}
        reply = httpx.post(fake.url + "/v2/transcript", json=body,
                           headers={"Authorization": KEY})
    assert reply.status_code == 400 and refusal in reply.json()["error"]


def test_speechmatics_sends_config_and_data_file(jobs):
    cfg = SessionConfig(provider="speechmatics", language="zh", vocabulary=("Kubernetes",),
                        options=SpeechmaticsOptions(batch_translation=("en", "fr")))
    with FAKES["speechmatics"](keys=[KEY]) as fake:
        run(transcribe("speechmatics", fake, jobs, cfg))
        (post,) = fake.requests_to("POST")
        (fetch,) = fake.requests_to("GET", "/transcript")
    assert post.header("authorization") == f"Bearer {KEY}"
    assert list(post.form) == ["config", "data_file"]
    assert post.form["data_file"][0] == WAV.name and post.form["data_file"][2] == WAV.read_bytes()
    config = json.loads(post.form["config"][2])
    assert config["type"] == "transcription"
    assert config["transcription_config"] == {
        "language": "cmn", "operating_point": "enhanced", "diarization": "speaker",
        "additional_vocab": [{"content": "Kubernetes"}]}
    assert config["translation_config"] == {"target_languages": ["en", "fr"]}
    assert fetch.param("format") == "json-v2"


def test_speechmatics_fake_refuses_a_bad_config():
    with FAKES["speechmatics"](keys=[KEY]) as fake:
        files = {"data_file": ("a.wav", b"RIFF"),
                 "config": (None, json.dumps({"type": "transcription",
                                              "transcription_config": {
                                                  "language": "en",
                                                  "operating_point": "best"}}))}
        reply = httpx.post(fake.url + "/v2/jobs", files=files,
                           headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == 400 and "operating_point" in reply.json()["detail"]


def test_deepgram_sends_the_file_as_the_body_with_live_options(jobs):
    cfg = SessionConfig(provider="deepgram", vocabulary=("Kubernetes", "K8s"),
                        options=DeepgramOptions(model="nova-3"), remove_disfluencies=True)
    with FAKES["deepgram"](keys=[KEY]) as fake:
        run(transcribe("deepgram", fake, jobs, cfg))
        (post,) = fake.requests
    assert post.header("authorization") == f"Token {KEY}"
    assert post.header("content-type") == "audio/x-wav" and post.body == WAV.read_bytes()
    assert post.param("model") == "nova-3" and post.query["keyterm"] == ["Kubernetes", "K8s"]
    assert post.param("diarize") == "true" and post.param("smart_format") == "true"
    assert "filler_words" not in post.query


def test_deepgram_fake_refuses_keyterm_without_nova3_and_an_empty_body():
    with FAKES["deepgram"](keys=[KEY]) as fake:
        auth = {"Authorization": f"Token {KEY}", "Content-Type": "audio/wav"}
        nova2 = httpx.post(fake.url + "/v1/listen?model=nova-2&keyterm=x", content=b"RIFF",
                           headers=auth)
        empty = httpx.post(fake.url + "/v1/listen?model=nova-3", content=b"", headers=auth)
    assert nova2.status_code == 400 and "Nova-3" in nova2.json()["err_msg"]
    assert empty.status_code == 400 and "corrupt" in empty.json()["err_msg"]


def test_deepgram_refusal_reason_is_shown(jobs):
    cfg = SessionConfig(provider="deepgram", vocabulary=("x",),
                        options=DeepgramOptions(model="nova-2"))
    with FAKES["deepgram"](keys=[KEY]) as fake:
        with pytest.raises(Exception, match="keyterm is only available with Nova-3"):
            run(transcribe("deepgram", fake, jobs, cfg))


def test_speechmatics_temporary_key_keeps_the_long_lived_key_off_the_jobs_api(jobs):
    with FAKES["speechmatics"](keys=[KEY]) as fake:
        cfg = SessionConfig(provider="speechmatics", options=SpeechmaticsOptions(
            temporary_key=True, batch_key_url=fake.url + "/v1/api_keys?type=batch"))
        assert run(transcribe("speechmatics", fake, jobs, cfg)).segments
        (key_request,) = fake.requests_to("POST", "/v1/api_keys")
        (temporary,) = fake.temporary_keys
        job_requests = [r for r in fake.requests if r.path.startswith("/v2/")]
    assert key_request.header("authorization") == f"Bearer {KEY}"
    assert key_request.json()["ttl"] >= 60
    assert {r.header("authorization") for r in job_requests} == {f"Bearer {temporary}"}
