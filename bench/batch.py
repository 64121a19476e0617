"""Benchmark of batch transcription against each vendor's fake; prints JSON.

For every batch vendor it starts the vendor's fake (a real HTTP server on
127.0.0.1) with a processing delay of 0, sends a 5-minute WAV (real speech
from ``tests/data`` repeated, 16 kHz mono) through
:func:`captioner.batch.transcribe_file` with the engine's real timing, and
reports wall time over audio time, the upload rate, how many requests it took,
and what came back (segments, words, speakers) after exporting it in all four
formats. The fake's "recognized" speech is its default script (a sentence every
4 s, two speakers), so this measures captioner's client side: multipart/raw
upload from disk, polling, parsing, grouping into segments and exporting.

Run: ``.venv/bin/python bench/batch.py [--minutes 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from captioner.audio.wavfile import read_audio  # noqa: E402
from captioner.batch import JobStore, transcribe_file  # noqa: E402
from captioner.config import SessionConfig  # noqa: E402
from captioner.testing.batch_fakes import FAKES  # noqa: E402
from captioner.transcript import export as exporter  # noqa: E402

KEY = "bench-key"


def make_wav(path: Path, minutes: float) -> float:
    """A ``minutes`` long 16 kHz mono WAV of real speech; returns its length in seconds."""
    speech = b"".join(read_audio(p) for p in sorted((REPO / "tests" / "data").glob("*.wav")))
    target = int(minutes * 60 * 16_000) * 2
    pcm = (speech * (target // len(speech) + 1))[:target]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(pcm)
    return len(pcm) / 32_000


def bench_vendor(provider: str, wav: Path, audio_s: float, jobs_dir: Path) -> dict[str, Any]:
    with FAKES[provider](keys=[KEY], processing_s=0.0) as fake:
        t0 = time.perf_counter()
        result = asyncio.run(transcribe_file(
            wav, provider, SessionConfig(provider=provider), KEY, endpoint=fake.base_url,
            jobs=JobStore(jobs_dir / f"{provider}.json")))
        wall_s = time.perf_counter() - t0
        requests = len(fake.requests)
    t1 = time.perf_counter()
    sizes = {fmt: len(exporter.export(result.segments, fmt, meta=result.meta))
             for fmt in exporter.FORMATS}
    export_s = time.perf_counter() - t1
    return {
        "vendor": provider,
        "audio_s": round(audio_s, 1),
        "wall_s": round(wall_s, 3),
        "wall_over_audio": round(wall_s / audio_s, 5),
        "upload_mb_per_s": round(wav.stat().st_size / 1e6 / wall_s, 1),
        "requests": requests,
        "segments": len(result.segments),
        "words": sum(len(s.words) for s in result.segments),
        "speakers": len({s.speaker for s in result.segments}),
        "export_bytes": sizes,
        "export_all_formats_s": round(export_s, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the test file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="captioner-bench-batch-") as tmp:
        wav = Path(tmp) / "five-minutes.wav"
        audio_s = make_wav(wav, args.minutes)
        results = [bench_vendor(p, wav, audio_s, Path(tmp)) for p in FAKES]
    print(json.dumps({"benchmark": "batch", "file_mb": round(audio_s * 32_000 / 1e6, 1),
                      "vendors": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
