"""Improve transcript with a cloud vendor's batch API, against each vendor's fake batch API.

Each recorded stretch of each source is its own job (the FLAC file as it is);
the vendor's words come back in session time with their source and speakers,
both versions export, and cancelling deletes the vendor's job.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from captioner.config import SessionConfig
from captioner.improve import ImproveCancelled, Progress, improve_session
from captioner.testing.batch_fakes import FAKES
from captioner.testing.fake_http import FakeHttpServer
from captioner.testing.fake_revai_batch import FakeRevAiBatch
from captioner.testing.fakes import Utterance
from captioner.transcript import Segment, codec, store
from captioner.transcript import export as exporter
from captioner.transcript.improved import load_version
from tests.conftest import DATA, REPO
from tests.recorded import recorded_session

KEY = "rev-test-key"
SCRIPT = [Utterance("Good morning, everyone.", 200, 1800, speaker=0),
          Utterance("Shall we begin?", 2000, 3200, speaker=1)]
LIVE = [Segment("mic-1", "good morning every one", 250, 1900),
        Segment("system-2", "shall we be gin", 9050, 10300, source="system")]
STRETCHES = [("mic", DATA / "librivox-0870.wav", 0),
             ("system", DATA / "librivox-0880.wav", 9000)]


def _improve(journal_path: Path, fake: FakeHttpServer, provider: str = "revai",
             **kwargs: object) -> store.SessionRecord:
    cfg = SessionConfig(provider=provider, speaker_labels=True)

    async def bounded() -> store.SessionRecord:
        async with asyncio.timeout(60):
            return await improve_session(journal_path, cfg, KEY, endpoint=fake.base_url,
                                         **kwargs)

    return asyncio.run(bounded())


@pytest.mark.parametrize("provider", tuple(FAKES))
def test_vendor_improve_runs_one_job_per_source_and_keeps_them_apart(tmp_path: Path,
                                                                     provider: str) -> None:
    journal = recorded_session(tmp_path, STRETCHES, LIVE)
    progress: list[Progress] = []
    flacs = {src: codec.audio_path(tmp_path, journal.id, src, start).read_bytes()
             for src, _wav, start in STRETCHES}
    with FAKES[provider](keys=[KEY], script=SCRIPT) as fake:
        improved = _improve(journal.path, fake, provider, on_progress=progress.append)
        uploads = [r for r in fake.requests if any(flac in r.body for flac in flacs.values())]
    # Me and Others are separate jobs, each its FLAC file as it is
    assert sorted(src for r in uploads for src, flac in flacs.items() if flac in r.body) == \
        ["mic", "system"]
    by_source = {src: [s for s in improved.segments if s.source == src]
                 for src in ("mic", "system")}
    assert [s.text for s in by_source["mic"]] == ["Good morning, everyone.", "Shall we begin?"]
    assert [s.start_ms for s in by_source["mic"]] == [200, 2000]
    assert [s.start_ms for s in by_source["system"]] == [9200, 11000]  # shifted into session time
    assert all(w.start_ms >= 9000 for s in by_source["system"] for w in s.words)
    speakers = [s.speaker for s in by_source["system"]]
    assert all(speakers) and speakers[0] != speakers[1]  # the vendor's diarization, as asked
    assert [s.id for s in by_source["system"]] == ["system-1", "system-2"]
    assert improved.meta["improved"]["provider"] == provider
    assert any("uploading" in p.message for p in progress)
    assert progress[-1].fraction == 1.0

    for fmt in exporter.FORMATS:  # both versions export
        assert "Shall we begin?" in exporter.export(load_version(journal.path), fmt)
        assert "shall we be gin" in exporter.export(load_version(journal.path, "live"), fmt)


def test_cancel_deletes_the_vendor_job_and_saves_nothing(tmp_path: Path) -> None:
    journal = recorded_session(tmp_path, STRETCHES[:1], LIVE[:1])
    cancel = asyncio.Event()

    def on_progress(progress: Progress) -> None:
        if "processing" in progress.message:
            cancel.set()

    with FakeRevAiBatch(keys=[KEY], script=SCRIPT, processing_s=None) as fake:
        with pytest.raises(ImproveCancelled):
            _improve(journal.path, fake, on_progress=on_progress, cancel=cancel)
        (job,) = fake.jobs.values()
        assert fake.requests_to("DELETE")  # asked the vendor to drop it
    assert not codec.improved_path(tmp_path, journal.id).exists()


def test_cli_improve_with_a_vendor_then_export_either_version(tmp_path: Path) -> None:
    recorded_session(tmp_path / "sessions", STRETCHES, LIVE)
    [summary] = store.list_sessions(tmp_path / "sessions")
    env = {**os.environ, "CAPTIONER_DATA_DIR": str(tmp_path), "REV_ACCESS_TOKEN": KEY}

    def captioner(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "captioner", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)

    with FakeRevAiBatch(keys=[KEY], script=SCRIPT) as fake:
        result = captioner("improve", summary.id, "--provider", "revai", "--endpoint",
                           fake.base_url)
        bad_key = subprocess.run(
            [sys.executable, "-m", "captioner", "improve", summary.id, "--provider", "revai",
             "--endpoint", fake.base_url], cwd=REPO, capture_output=True, text=True,
            timeout=120, env={**env, "REV_ACCESS_TOKEN": "wrong"})
    assert result.returncode == 0, result.stderr
    assert "complete, recorded, improved" in captioner("sessions").stdout
    improved = captioner("export", summary.id).stdout
    assert "Me: Good morning, everyone." in improved and "Others:" in improved
    live = json.loads(captioner("export", summary.id, "--version", "live", "--format",
                                "json").stdout)
    assert [s["text"] for s in live["segments"]] == [s.text for s in LIVE]
    assert bad_key.returncode == 1  # one clear line, and the improved version is kept
    assert bad_key.stderr.count("\n") == 1 and "wrong" not in bad_key.stderr
    assert "Good morning" in captioner("export", summary.id).stdout
