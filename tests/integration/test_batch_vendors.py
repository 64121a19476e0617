"""Every batch vendor against its fake (real HTTP servers on 127.0.0.1): the documented behaviour
for a good job, a bad key, a file too large, rate limits, server errors, a failed job, cancel
and restart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from captioner.batch import BatchCancelled, BatchError, BatchProgress, JobStore, transcribe_file
from captioner.config import SessionConfig
from captioner.testing.batch_fakes import FAKES, FAST
from captioner.testing.batch_fakes import run_bounded as run
from captioner.transcript import export as exporter

WAV = Path(__file__).parent.parent / "data" / "meeting-2speakers.wav"
KEY = "test-key-abcdef"
VENDORS = tuple(FAKES)
JOB_VENDORS = ("revai", "assemblyai", "speechmatics")


@pytest.fixture
def jobs(tmp_path) -> JobStore:
    return JobStore(tmp_path / "batch-jobs.json")


def transcribe(provider, fake, jobs, secret=KEY, cfg=None, **kwargs):
    cfg = cfg or SessionConfig(provider=provider)
    return transcribe_file(WAV, provider, cfg, secret, endpoint=fake.base_url, jobs=jobs,
                           settings=FAST, **kwargs)


@pytest.mark.parametrize("provider", VENDORS)
def test_file_gives_words_times_and_speakers_in_every_export_format(provider, jobs):
    with FAKES[provider](keys=[KEY]) as fake:
        result = run(transcribe(provider, fake, jobs))
    segs = result.segments
    assert [s.text for s in segs[:2]] == ["This is sentence number 1 of the recording.",
                                          "This is sentence number 2 of the recording."]
    assert segs[0].start_ms == 0 and segs[0].end_ms == 3500 and segs[2].start_ms == 8000
    assert len({s.speaker for s in segs}) == 2 and all(s.speaker for s in segs)
    assert segs[0].speaker != segs[2].speaker
    assert len(segs[0].words) == 8 and segs[0].words[-1].text == "recording."
    assert all(s.is_final and s.source == "mic" for s in segs)
    assert result.meta["provider"] == provider and result.meta["duration_ms"] >= 16_000
    txt = exporter.export(segs, "txt")
    assert "Speaker 1: This is sentence number 1" in txt
    assert "Speaker 2: This is sentence number 3" in txt
    assert "00:00:08,000 --> " in exporter.export(segs, "srt")
    assert "<v Speaker 2>" in exporter.export(segs, "vtt")
    data = json.loads(exporter.export(segs, "json", meta=result.meta))
    assert data["segments"][0]["words"][0]["start_ms"] == 0


@pytest.mark.parametrize("provider", VENDORS)
def test_bad_key_says_check_the_key_and_never_repeats_it(provider, jobs):
    with FAKES[provider](keys=[KEY]) as fake:
        with pytest.raises(BatchError) as info:
            run(transcribe(provider, fake, jobs, secret="marker-secret-999"))
        assert len(fake.requests) == 1  # not retried
    assert info.value.kind == "auth" and "check the key" in str(info.value)
    assert "marker-secret-999" not in str(info.value)


@pytest.mark.parametrize("provider", VENDORS)
def test_file_too_large_says_the_vendor_limit(provider, jobs):
    with FAKES[provider](keys=[KEY], max_upload_bytes=1000) as fake:
        with pytest.raises(BatchError, match=r"too large for .* accepts files up to \d") as info:
            run(transcribe(provider, fake, jobs))
    assert info.value.kind == "too_large"


@pytest.mark.parametrize("provider", VENDORS)
def test_no_credit_says_add_credit(provider, jobs):
    with FAKES[provider](keys=[KEY]) as fake:
        fake.fail(402, method="POST")
        with pytest.raises(BatchError, match="no credit left") as info:
            run(transcribe(provider, fake, jobs))
    assert info.value.kind == "credit"


@pytest.mark.parametrize("provider", VENDORS)
def test_rate_limit_is_waited_out_with_retry_after(provider, jobs):
    with FAKES[provider](keys=[KEY]) as fake:
        fake.fail(429, headers={"Retry-After": "1"}, method="POST", times=1)
        result = run(transcribe(provider, fake, jobs))
        posts = fake.requests_to("POST")
    assert result.segments
    assert posts[1].at - posts[0].at >= 0.95  # waited as told, then sent again


@pytest.mark.parametrize("provider", VENDORS)
def test_server_errors_are_retried_five_times_then_explained(provider, jobs):
    with FAKES[provider](keys=[KEY]) as fake:
        fake.fail(502, method="POST", times=2)
        assert run(transcribe(provider, fake, jobs)).segments
        first = len(fake.requests_to("POST"))
        fake.fail(503, method="POST", times=50)
        with pytest.raises(BatchError, match="server error .*HTTP 503.*try again later") as info:
            run(transcribe(provider, fake, jobs))
        assert len(fake.requests_to("POST")) - first == 6  # first try + 5 retries
    assert info.value.kind == "server"


@pytest.mark.parametrize("provider", VENDORS)
def test_failed_job_shows_the_vendor_reason(provider, jobs):
    with FAKES[provider](keys=[KEY], failure="File does not appear to contain audio") as fake:
        with pytest.raises(BatchError, match="File does not appear to contain audio"):
            run(transcribe(provider, fake, jobs))
    assert jobs.pending() == {}


async def _cancel_when(stage: str, provider, fake, jobs, **kwargs):
    cancel = asyncio.Event()

    def on_progress(p: BatchProgress) -> None:
        if p.stage == stage:
            cancel.set()
    return await transcribe(provider, fake, jobs, cancel=cancel, on_progress=on_progress,
                            **kwargs)


def test_cancel_deletes_a_running_speechmatics_job(jobs):
    with FAKES["speechmatics"](keys=[KEY], processing_s=None) as fake:
        with pytest.raises(BatchCancelled, match="deleted at Speechmatics") as info:
            run(_cancel_when("processing", "speechmatics", fake, jobs))
        (job,) = fake.jobs.values()
        assert job.deleted and info.value.deleted
        (delete,) = fake.requests_to("DELETE")
        assert delete.param("force") == "true"
    assert jobs.pending() == {}


def test_cancel_of_a_queued_assemblyai_job_deletes_it_on_the_next_run(jobs):
    with FAKES["assemblyai"](keys=[KEY], processing_s=None) as fake:
        with pytest.raises(BatchCancelled, match="next time") as info:
            run(_cancel_when("queued" if fake.queued_s else "processing", "assemblyai", fake,
                             jobs))
        assert not info.value.deleted
        (job,) = fake.jobs.values()
        job.processing_s = fake.processing_s = 0.0
        run(transcribe("assemblyai", fake, jobs))
        assert job.deleted


def test_cancel_aborts_a_deepgram_request(jobs):
    with FAKES["deepgram"](keys=[KEY], processing_s=None) as fake:
        with pytest.raises(BatchCancelled, match="nothing was left"):
            run(_cancel_when("uploading", "deepgram", fake, jobs))


def test_task_cancel_deletes_too(jobs):
    """Ctrl-C in asyncio.run cancels the task rather than setting the event."""
    with FAKES["speechmatics"](keys=[KEY], processing_s=None) as fake:
        async def main():
            started = asyncio.Event()

            def on_progress(p: BatchProgress) -> None:
                if p.stage == "processing":
                    started.set()
            task = asyncio.create_task(transcribe("speechmatics", fake, jobs,
                                                  on_progress=on_progress))
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        run(main())
        (job,) = fake.jobs.values()
        assert job.deleted


@pytest.mark.parametrize("provider", JOB_VENDORS)
def test_restart_resumes_the_saved_job(provider, jobs):
    with FAKES[provider](keys=[KEY], processing_s=None) as fake:
        def crash(p: BatchProgress) -> None:
            if p.stage in ("queued", "processing"):
                raise RuntimeError("the app was killed")

        with pytest.raises(RuntimeError):
            run(transcribe(provider, fake, jobs, on_progress=crash))
        (job,) = fake.jobs.values()
        assert [e["job_id"] for e in jobs.pending().values()] == [job.id]
        job.processing_s = 0.0
        result = run(transcribe(provider, fake, jobs))
        assert result.meta["job_id"] == job.id and result.segments
        assert len(fake.jobs) == 1
    assert jobs.pending() == {}


@pytest.mark.parametrize("provider", ("revai", "assemblyai", "speechmatics"))
def test_vendor_captions_and_delete_after(provider, jobs):
    with FAKES[provider](keys=[KEY]) as fake:
        result = run(transcribe(provider, fake, jobs, captions=("srt", "vtt"),
                                delete_after=True))
        (job,) = fake.jobs.values()
        assert job.deleted
    assert result.vendor_captions["srt"].startswith("1\n00:00:00,000 --> 00:00:03,500\n")
    if provider != "speechmatics":  # Speechmatics offers SRT and TXT only
        assert result.vendor_captions["vtt"].startswith("WEBVTT")
    else:
        assert "vtt" not in result.vendor_captions
