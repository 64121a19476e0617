"""Rev AI batch client against the fake Rev AI async API: what goes on the wire, Rev's own rules.

The behaviour all vendors share (errors, retries, cancel, resume) is in test_batch_vendors.py.
"""

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
from captioner.batch.jobs import job_key
from captioner.config import SessionConfig
from captioner.testing.batch_fakes import FAST
from captioner.testing.batch_fakes import run_bounded as run
from captioner.testing.fake_revai_batch import FakeRevAiBatch

WAV = Path(__file__).parent.parent / "data" / "meeting-2speakers.wav"
KEY = "test-key"


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


def test_rev_saved_job_that_vanished_is_submitted_again(fake, jobs):
    options = make_vendor("revai", SessionConfig(provider="revai")).request_options()
    jobs.put(job_key("revai", fake.base_url, WAV, options), "revai", "gone123", fake.base_url,
             WAV)
    result = run(transcribe(fake, jobs))
    assert result.meta["job_id"] != "gone123"
    assert len(fake.requests_to("POST", "/jobs")) == 1
