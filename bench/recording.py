"""Benchmark of session recording and offline improvement; prints JSON.

* recording: the real-speech set (``tests/data``), looped to ``--minutes`` of
  audio, goes through a :class:`SourceTap` in 50 ms blocks as the capture path
  does; measured are the cost of ``tap.put`` on the caller's thread (median,
  p99), the writer thread's CPU per audio second (``time.thread_time`` on that
  thread), the FLAC size per audio minute and the ratio to raw PCM, and drops.
* improving: a session recorded from the same speech is improved with the
  offline engine (a real ``captioner serve`` child, enhanced operating point);
  measured are wall time / audio time and the WER against the references
  (normalised as ``bench/engine.py`` does: numbers as words, "mr" as "mister").

Run: ``.venv/bin/python bench/recording.py [--minutes 10] [--improve-minutes 1]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from captioner.audio import recorder as rec  # noqa: E402
from captioner.audio.wavfile import read_audio  # noqa: E402
from captioner.config import BYTES_PER_MS, SessionConfig  # noqa: E402
from captioner.transcript import codec  # noqa: E402

DATA = REPO / "tests" / "data"
BLOCK_BYTES = 50 * BYTES_PER_MS
SILENCE_1S = bytes(1000 * BYTES_PER_MS)


def speech_set() -> tuple[bytes, str]:
    """All reference WAVs with 1 s pauses, and their reference text in the same order."""
    refs = dict(line.split("\t", 1) for line in
                (DATA / "transcripts.tsv").read_text().splitlines()[1:])
    names = sorted(n for n in refs if n.startswith(("librivox", "cmu")))
    pcm = SILENCE_1S.join(read_audio(str(DATA / n)) for n in names) + SILENCE_1S
    return pcm, " ".join(refs[n] for n in names)


def bench_recording(pcm: bytes, minutes: float, folder: Path) -> dict[str, float]:
    total = pcm * max(1, int(minutes * 60_000 * BYTES_PER_MS // len(pcm) + 1))
    total = total[: int(minutes * 60_000) * BYTES_PER_MS]
    cpu_s: list[float] = []
    original_run = rec.Recorder._run

    def timed_run(self: rec.Recorder) -> None:
        start = time.thread_time()
        try:
            original_run(self)
        finally:
            cpu_s.append(time.thread_time() - start)

    rec.Recorder._run = timed_run  # type: ignore[method-assign]
    try:
        recorder = rec.Recorder(folder, "bench")
        tap = recorder.tap("mic", 0)
        put_us = []
        for pos in range(0, len(total), BLOCK_BYTES):
            block = total[pos:pos + BLOCK_BYTES]
            t0 = time.perf_counter_ns()
            tap.put(block)
            put_us.append((time.perf_counter_ns() - t0) / 1000)
            if pos % (BLOCK_BYTES * 200) == 0:  # keep pace with a fast writer, as live audio does
                recorder.wait_written("mic", pos / BYTES_PER_MS - 5000, 10)
        tap.finish()
        recorder.close(60)
    finally:
        rec.Recorder._run = original_run  # type: ignore[method-assign]
    [(_s, _start, path)] = codec.audio_parts(folder, "bench")
    audio_s = len(total) / BYTES_PER_MS / 1000
    size = path.stat().st_size
    assert rec.read_pcm(path) == total
    put_us.sort()
    return {
        "audio_minutes": round(audio_s / 60, 1),
        "tap_put_us_median": round(statistics.median(put_us), 1),
        "tap_put_us_p99": round(put_us[int(len(put_us) * 0.99)], 1),
        "writer_cpu_ms_per_audio_s": round(sum(cpu_s) / audio_s * 1000, 2),
        "flac_mb_per_hour": round(size / audio_s * 3600 / 1e6, 1),
        "flac_to_pcm_ratio": round(size / len(total), 3),
        "dropped_ms": recorder.dropped_ms,
    }


def bench_improve(pcm: bytes, reference: str, minutes: float, folder: Path) -> dict[str, float]:
    import jiwer

    from captioner.improve import improve_session
    from captioner.providers.local import LocalEngine
    from captioner.transcript.journal import Journal

    repeats = max(1, round(minutes * 60_000 * BYTES_PER_MS / len(pcm)))
    journal = Journal.create(folder, {"provider": "local", "language": "en",
                                      "sources": ["mic"]})
    recorder = rec.Recorder(journal.dir, journal.id, max_pending_ms=10**9)  # no drops
    tap = recorder.tap("mic", 0)
    audio = pcm * repeats
    for pos in range(0, len(audio), BLOCK_BYTES):
        tap.put(audio[pos:pos + BLOCK_BYTES])
    tap.finish()
    recorder.close(60)
    journal.close()
    engine = LocalEngine()
    try:
        cfg = SessionConfig(provider="local", endpoint=engine.ensure_running())
        t0 = time.perf_counter()
        improved = asyncio.run(improve_session(journal.path, cfg, None))
        wall_s = time.perf_counter() - t0
    finally:
        engine.stop()
    from bench.engine import normalize as norm  # the engine benchmark's WER normalisation

    hypothesis = " ".join(s.text for s in improved.segments)
    audio_s = len(audio) / BYTES_PER_MS / 1000
    return {
        "audio_s": round(audio_s, 1),
        "wall_per_audio_s": round(wall_s / audio_s, 3),
        "wer": round(jiwer.wer(norm(" ".join([reference] * repeats)), norm(hypothesis)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="audio recorded")
    parser.add_argument("--improve-minutes", type=float, default=1.0, help="audio improved")
    args = parser.parse_args()
    pcm, reference = speech_set()
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out["recording"] = bench_recording(pcm, args.minutes, Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        out["improve_offline"] = bench_improve(pcm, reference, args.improve_minutes, Path(tmp))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
