"""``captioner transcribe FILE --provider X`` through the batch API, as a user runs it: a
subprocess against a fake vendor; Ctrl-C (SIGINT) cancels and deletes; a killed run resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from captioner.testing.batch_fakes import FAKES

REPO = Path(__file__).parent.parent.parent
WAV = REPO / "tests" / "data" / "meeting-2speakers.wav"
KEY = "cli-test-key-42"
ENV_VARS = {"revai": "REV_ACCESS_TOKEN", "assemblyai": "ASSEMBLYAI_API_KEY",
            "speechmatics": "SPEECHMATICS_API_KEY", "deepgram": "DEEPGRAM_API_KEY"}


def env_for(provider: str, data_dir: Path, key: str = KEY) -> dict[str, str]:
    return {**os.environ, "CAPTIONER_DATA_DIR": str(data_dir), ENV_VARS[provider]: key,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}


def start(provider: str, fake, data_dir: Path, *args: str, key: str = KEY) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "captioner", "transcribe", str(WAV), "--provider", provider,
         "--endpoint", fake.base_url, *args],
        cwd=REPO, env=env_for(provider, data_dir, key), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout_s: float = 60) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err


def polled(fake) -> bool:
    return any(r.method == "GET" for r in fake.requests)


@pytest.mark.parametrize("provider", tuple(FAKES))
def test_transcribe_file_writes_speaker_labelled_srt(provider, tmp_path):
    out = tmp_path / "talk.srt"
    with FAKES[provider](keys=[KEY]) as fake:
        code, stdout, stderr = finish(start(provider, fake, tmp_path, "--format", "srt",
                                            "-o", str(out)))
    assert code == 0, stderr
    srt = out.read_text()
    assert "00:00:00,000 --> 00:00:03,500\nSpeaker 1: This is sentence" in srt
    assert "Speaker 2: This is sentence" in srt
    assert f"wrote {out}" in stderr and "\r" not in stderr  # no progress bar when piped
    assert KEY not in stdout + stderr


def test_transcribe_prints_the_transcript_to_stdout_when_piped(tmp_path):
    with FAKES["revai"](keys=[KEY]) as fake:
        code, stdout, stderr = finish(start("revai", fake, tmp_path))
    assert code == 0, stderr
    assert stdout.splitlines()[0] == "Speaker 1: This is sentence number 1 of the recording."
    assert stderr == ""


def test_vendor_captions_are_saved_as_they_came(tmp_path):
    out = tmp_path / "talk.vtt"
    with FAKES["assemblyai"](keys=[KEY]) as fake:
        code, _, stderr = finish(start("assemblyai", fake, tmp_path, "--format", "vtt",
                                       "--vendor-captions", "-o", str(out)))
        assert fake.requests_to("GET", "/vtt")
    assert code == 0, stderr
    assert out.read_text().startswith("WEBVTT\n\n00:00:00.000 --> 00:00:03.500\nThis is")


def test_bad_key_is_one_line_exit_1_without_the_key(tmp_path):
    with FAKES["speechmatics"](keys=[KEY]) as fake:
        code, stdout, stderr = finish(start("speechmatics", fake, tmp_path,
                                            key="wrong-marker-key"))
    assert code == 1
    assert stderr.count("\n") == 1 and "rejected the API key" in stderr
    assert "wrong-marker-key" not in stdout + stderr


def test_ctrl_c_cancels_and_deletes_the_job(tmp_path):
    with FAKES["speechmatics"](keys=[KEY], processing_s=None) as fake:
        proc = start("speechmatics", fake, tmp_path)
        try:
            assert fake.wait_for(lambda: polled(fake), 30), "the job was never polled"
        finally:
            proc.send_signal(signal.SIGINT)
        code, _, stderr = finish(proc)
        (job,) = fake.jobs.values()
        assert job.deleted
    assert code == 130, stderr
    assert f"job {job.id} was deleted at Speechmatics" in stderr


def test_killed_run_resumes_the_same_job_when_run_again(tmp_path):
    with FAKES["revai"](keys=[KEY], processing_s=None) as fake:
        proc = start("revai", fake, tmp_path)
        try:
            assert fake.wait_for(lambda: polled(fake), 30), "the job was never polled"
        finally:
            proc.kill()  # no clean-up at all, as a crash or power cut
        finish(proc)
        (job,) = fake.jobs.values()
        job.processing_s = 0.0
        code, stdout, stderr = finish(start("revai", fake, tmp_path))
        assert len(fake.requests_to("POST", "/jobs")) == 1  # not paid twice
    assert code == 0, stderr
    assert "This is sentence number 1" in stdout


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("endpoint", ["ftp://api.rev.ai", "https://host:70000", "closed",
                                      "http://bad host/x?token=marker"])
@pytest.mark.parametrize("provider", tuple(FAKES))
def test_wrong_endpoint_fails_fast_in_one_line_without_the_key(provider, endpoint, tmp_path):
    """Attempts are counted (the wall time is bench/failfast.py --batch's to measure)."""
    url = f"http://127.0.0.1:{closed_port()}" if endpoint == "closed" else endpoint
    proc = subprocess.run(
        [sys.executable, "-m", "captioner", "-vv", "transcribe", str(WAV), "--provider",
         provider, "--endpoint", url], cwd=REPO, env=env_for(provider, tmp_path, "marker-key-x"),
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("captioner: error: ") and ("endpoint" in last or "reach" in last)
    if endpoint == "closed":
        assert "connection refused, 3 attempts" in last  # two quick retries, no backoff
    assert "marker-key-x" not in proc.stdout + proc.stderr and "marker" not in last
