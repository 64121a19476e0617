"""Improve transcript with the offline engine: a recorded session gets a second, better version.

A real ``captioner serve`` child transcribes the recorded real-speech WAVs; the
improved text is compared with the reference transcripts (WER), the sources
stay apart and in session time, the live journal is untouched, and both
versions export in every format.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import jiwer
import pytest

from captioner.config import SessionConfig
from captioner.improve import ImproveCancelled, Progress, improve_session
from captioner.transcript import Segment, codec, store
from captioner.transcript import export as exporter
from captioner.transcript.improved import load_version
from tests import recorded
from tests.conftest import DATA, REPO, reference_text
from tests.recorded import recorded_session

engine_url = recorded.engine_url  # the fixture

LIVE = [Segment("mic-1", "and mister john dash would", 300, 3000),
        Segment("system-2", "had he married a more", 9300, 11000, source="system")]
STRETCHES = [("mic", DATA / "librivox-0870.wav", 0),
             ("system", DATA / "librivox-0920.wav", 9000),
             ("mic", DATA / "cmu-cards-005.wav", 30_000)]  # a run resumed after a pause


_NUMBERS = dict(enumerate("zero one two three four five six seven eight nine ten".split()))


def _wer(reference: str, text: str) -> float:
    """WER with numbers as words: Whisper base (installed in CI) writes "8 of spades"."""
    norm = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(),
                          jiwer.RemoveMultipleSpaces(), jiwer.Strip()])
    spelled = " ".join(_NUMBERS.get(int(w), w) if w.isdigit() else w for w in norm(text).split())
    return jiwer.wer(norm(reference), spelled)


def _improve(journal_path: Path, url: str, **kwargs: object) -> store.SessionRecord:
    cfg = SessionConfig(provider="local", endpoint=url)
    return asyncio.run(asyncio.wait_for(improve_session(journal_path, cfg, None, **kwargs), 240))


def test_offline_improve_is_close_to_the_reference_and_keeps_sources_apart(
        tmp_path: Path, engine_url: str) -> None:
    journal = recorded_session(tmp_path, STRETCHES, LIVE)
    live_bytes = journal.path.read_bytes()
    progress: list[Progress] = []

    improved = _improve(journal.path, engine_url, on_progress=progress.append)

    assert journal.path.read_bytes() == live_bytes  # the live version stays as it was
    mic = [s for s in improved.segments if s.source == "mic"]
    system = [s for s in improved.segments if s.source == "system"]
    first_mic = " ".join(s.text for s in mic if s.start_ms < 30_000)
    later_mic = " ".join(s.text for s in mic if s.start_ms >= 30_000)
    assert _wer(reference_text("librivox-0870.wav"), first_mic) <= 0.15
    assert _wer(reference_text("librivox-0920.wav"), " ".join(s.text for s in system)) <= 0.15
    assert _wer(reference_text("cmu-cards-005.wav"), later_mic) <= 0.3
    assert all(9000 <= s.start_ms < 9000 + 8000 for s in system)  # in session time
    assert all(w.start_ms >= 30_000 for s in mic if s.start_ms >= 30_000 for w in s.words)
    assert [s.id for s in mic] == [f"mic-{i}" for i in range(1, len(mic) + 1)]
    assert improved.meta["improved"]["operating_point"] == "enhanced"
    assert improved.meta["started_at"] == journal.header["started_at"]
    fractions = [p.fraction for p in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(p.message.startswith("Others:") for p in progress)

    [summary] = store.list_sessions(tmp_path)  # the improved file is not a session of its own
    assert summary.recorded and summary.improved
    assert load_version(journal.path).meta.get("improved")
    assert load_version(journal.path, "live").segments == tuple(LIVE)
    for fmt in exporter.FORMATS:  # both versions export
        better = exporter.export(load_version(journal.path), fmt)
        worse = exporter.export(load_version(journal.path, "live"), fmt)
        assert "Dashwood" in better and "dash would" in worse

    assert store.delete_session(tmp_path, journal.id)
    assert list(tmp_path.iterdir()) == []  # recording and improved version went with it


def test_cancel_leaves_no_improved_version(tmp_path: Path, engine_url: str) -> None:
    journal = recorded_session(tmp_path, STRETCHES[:1], LIVE[:1])
    cancel = asyncio.Event()

    def on_progress(progress: Progress) -> None:
        if progress.fraction > 0.1:
            cancel.set()

    with pytest.raises(ImproveCancelled):
        _improve(journal.path, engine_url, on_progress=on_progress, cancel=cancel)
    assert not codec.improved_path(tmp_path, journal.id).exists()
    assert not store.list_sessions(tmp_path)[0].improved


def _captioner(data_dir: Path, *args: str, url: str | None = None,
               ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CAPTIONER_DATA_DIR": str(data_dir)}
    extra = ["--endpoint", url] if url else []
    return subprocess.run([sys.executable, "-m", "captioner", *args, *extra], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)


def test_cli_improve_then_export_either_version(tmp_path: Path, engine_url: str) -> None:
    recorded_session(tmp_path / "sessions", STRETCHES[:2], LIVE)
    [summary] = store.list_sessions(tmp_path / "sessions")

    listed = _captioner(tmp_path, "sessions")
    assert "complete, recorded" in listed.stdout and "improved" not in listed.stdout

    result = _captioner(tmp_path, "improve", summary.id, url=engine_url)
    assert result.returncode == 0, result.stderr
    assert f"improved transcript of {summary.id} saved" in result.stderr
    assert "\r" not in result.stderr  # no progress bar when piped

    assert "complete, recorded, improved" in _captioner(tmp_path, "sessions").stdout
    improved = _captioner(tmp_path, "export", summary.id).stdout
    assert "Me: And Mr. John Dashwood" in improved or "Me: and mister john" in improved.lower()
    assert "Others:" in improved
    live = _captioner(tmp_path, "export", summary.id, "--version", "live", "--format", "json")
    assert [s["text"] for s in json.loads(live.stdout)["segments"]] == [s.text for s in LIVE]
    out = tmp_path / "improved.srt"
    written = _captioner(tmp_path, "export", summary.id, "--format", "srt", "-o", str(out))
    assert written.returncode == 0 and "Dashwood" in out.read_text()


def test_cli_improve_without_a_recording_is_one_clear_line(tmp_path: Path) -> None:
    journal = recorded_session(tmp_path / "sessions", [], LIVE[:1])
    result = _captioner(tmp_path, "improve", journal.id)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"captioner: error: Session {journal.id} has no recording to improve. Turn on "
        "recording (Preferences, or --record) before captioning.")
    missing = _captioner(tmp_path, "export", journal.id, "--version", "improved")
    assert missing.returncode == 1 and "has no improved transcript" in missing.stderr
