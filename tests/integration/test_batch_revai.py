"""Rev AI batch client against the fake Rev AI async API (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from captioner.batch import (
    BatchCancelled,
    BatchError,
    BatchProgress,
    JobStore,
    make_vendor,
    transcribe_file,
)
from captioner.batch.engine import EngineSettings
from captioner.batch.http import RetrySettings
from captioner.batch.jobs import job_key
from captioner.config import SessionConfig
from captioner.retry import RetryPolicy
from captioner.testing.fake_revai_batch import FakeRevAiBatch

WAV = Path(__file__).parent.parent / "data" / "meeting-2speakers.wav"
KEY = "test-key"
FAST = EngineSettings(
    poll=RetryPolicy(initial_s=0.01, factor=1.0, max_s=0.01, jitter=0.0, max_attempts=None),
    retry=RetrySettings(backoff=RetryPolicy(initial_s=0.01, factor=1.0, max_s=0.01, jitter=0.0,
                                            max_attempts=None), timeout_s=10))


def run(coro, timeout_s: float = 30):
    async def bounded():
        async with asyncio.timeout(timeout_s):
            return await coro
    return asyncio.run(bounded())


@pytest.fixture
def fake():
    with FakeRevAiBatch(keys=[KEY]) as server:
        yield server


@pytest.fixture
def jobs(tmp_path) -> JobStore:
    return JobStore(tmp_path / "batch-jobs.json")


def transcribe(fake, jobs, cfg=None, secret=KEY, **kwargs):
    cfg = cfg or SessionConfig(provider="revai")
    return transcribe_file(WAV, "revai", cfg, secret, endpoint=fake.base_url, jobs=jobs,
                           settings=FAST, **kwargs)


def test_rev_job_gives_segments_with_words_speakers_and_times(fake, jobs):
    cfg = SessionConfig(provider="revai", vocabulary=("Kubernetes",), profanity_filter=True)
    progress: list[BatchProgress] = []
    result = run(transcribe(fake, jobs, cfg, captions=("srt", "vtt"),
                            on_progress=progress.append))
    assert [s.speaker for s in result.segments[:4]] == ["S0", "S0", "S1", "S1"]
    first = result.segments[0]
    assert first.text == "This is sentence number 1 of the recording."
    assert first.start_ms == 0 and first.end_ms == 3500
    assert [w.text for w in first.words][-1] == "recording."
    assert all(w.confidence == 0.98 for w in first.words)
    assert result.meta["duration_ms"] == pytest.approx(16_716, abs=2)
    assert result.vendor_captions["srt"].startswith("1\n00:00:00,000 --> ")
    assert result.vendor_captions["vtt"].startswith("WEBVTT")
    post = fake.requests_to("POST", "/jobs")[0]
    assert post.header("authorization") == f"Bearer {KEY}"
    assert post.form["media"][0] == WAV.name and post.form["media"][2] == WAV.read_bytes()
    options = json.loads(post.form["options"][2])
    assert options["custom_vocabularies"] == [{"phrases": ["Kubernetes"]}]
    assert options["filter_profanity"] is True and options["skip_diarization"] is False
    assert fake.violations == []
    uploads = [p for p in progress if p.stage == "uploading"]
    assert uploads[-1].sent_bytes == uploads[-1].total_bytes == WAV.stat().st_size
    assert progress[-1].stage == "done"
    assert jobs.pending() == {}  # forgotten once fetched


def test_rev_failed_job_shows_failure_detail(jobs):
    with FakeRevAiBatch(keys=[KEY], failure="The media file has no audio track") as fake:
        with pytest.raises(BatchError, match="could not transcribe.*no audio track") as info:
            run(transcribe(fake, jobs))
    assert info.value.kind == "failed"
    assert jobs.pending() == {}


def test_rev_bad_key_says_check_the_key_and_never_shows_it(fake, jobs):
    with pytest.raises(BatchError) as info:
        run(transcribe(fake, jobs, secret="wrong-secret-123"))
    assert info.value.kind == "auth" and info.value.status == 401
    assert "Preferences" in str(info.value) and "REV_ACCESS_TOKEN" in str(info.value)
    assert "wrong-secret-123" not in str(info.value)
    assert len(fake.requests_to("POST")) == 1  # an auth failure is not retried


def test_rev_too_large_names_the_limit(jobs):
    with FakeRevAiBatch(keys=[KEY], max_upload_bytes=1000) as fake:
        with pytest.raises(BatchError, match="too large for Rev AI.*2 GB") as info:
            run(transcribe(fake, jobs))
    assert info.value.kind == "too_large"


def test_rev_429_waits_as_long_as_retry_after_says(fake, jobs):
    fake.fail(429, headers={"Retry-After": "1"}, method="POST", times=2)
    run(transcribe(fake, jobs))
    posts = fake.requests_to("POST", "/jobs")
    assert len(posts) == 3
    assert posts[1].at - posts[0].at >= 0.95 and posts[2].at - posts[1].at >= 0.95


def test_rev_503_is_retried_at_most_five_times(fake, jobs):
    fake.fail(503, method="GET", path="/jobs/", times=3)
    run(transcribe(fake, jobs))  # 3 failures, then it works
    fake.fail(503, method="POST", times=10)
    with pytest.raises(BatchError, match="server error") as info:
        run(transcribe(fake, jobs))
    assert info.value.kind == "server"
    assert len(fake.requests_to("POST")) == 1 + 6


def test_rev_500_and_400_are_not_retried(fake, jobs):
    fake.fail(500, method="POST")
    with pytest.raises(BatchError, match="HTTP 500"):
        run(transcribe(fake, jobs))
    fake.fail(400, {"title": "Your request parameters didn't pass validation", "status": 400,
                    "parameters": {"language": ["unsupported language"]}}, method="POST")
    with pytest.raises(BatchError, match="didn't pass validation.*language"):
        run(transcribe(fake, jobs))
    assert len(fake.requests_to("POST")) == 2


def test_rev_cancel_deletes_later_when_rev_refuses_while_in_progress(jobs):
    with FakeRevAiBatch(keys=[KEY], processing_s=None) as fake:
        async def cancel_while_processing():
            cancel = asyncio.Event()

            def on_progress(p: BatchProgress) -> None:
                if p.stage == "processing":
                    cancel.set()
            return await transcribe(fake, jobs, cancel=cancel, on_progress=on_progress)

        with pytest.raises(BatchCancelled, match="next time") as info:
            run(cancel_while_processing())
        assert not info.value.deleted
        (job,) = fake.jobs.values()
        assert not job.deleted and jobs.pending() == {}
        job.processing_s = 0.0  # it finished meanwhile; the next run deletes it
        fake.processing_s = 0.0
        run(transcribe(fake, jobs))
        assert job.deleted
        deletes = [r.path for r in fake.requests_to("DELETE")]
        assert deletes == [f"/speechtotext/v1/jobs/{job.id}"] * 2


def test_rev_restart_resumes_the_saved_job_instead_of_paying_twice(jobs):
    with FakeRevAiBatch(keys=[KEY], processing_s=None) as fake:
        def crash(p: BatchProgress) -> None:
            if p.stage == "processing":
                raise RuntimeError("the app was killed")

        with pytest.raises(RuntimeError):
            run(transcribe(fake, jobs, on_progress=crash))
        (job,) = fake.jobs.values()
        assert [e["job_id"] for e in jobs.pending().values()] == [job.id]
        job.processing_s = 0.0
        seen: list[BatchProgress] = []
        result = run(transcribe(fake, jobs, on_progress=seen.append))
        assert result.meta["job_id"] == job.id and result.segments
        assert len(fake.requests_to("POST", "/jobs")) == 1
        assert all(p.resumed for p in seen if p.stage != "uploading")
        assert jobs.pending() == {}


def test_rev_saved_job_that_vanished_is_submitted_again(fake, jobs):
    options = make_vendor("revai", SessionConfig(provider="revai")).request_options()
    jobs.put(job_key("revai", fake.base_url, WAV, options), "revai", "gone123", fake.base_url,
             WAV)
    result = run(transcribe(fake, jobs))
    assert result.meta["job_id"] != "gone123"
    assert len(fake.requests_to("POST", "/jobs")) == 1
