"""Benchmark of the offline recognizer: WER, real-time factor, latency, memory.

Each test WAV is streamed as a live session would send it: 100 ms chunks,
with 1 s of room noise (Gaussian, at the clip's own noise floor) before and
after. Prints one JSON object. Run from the repo root::

    .venv/bin/python bench/engine.py                 # accuracy/speed/latency
    .venv/bin/python bench/engine.py --soak-minutes 10   # memory soak

Latency is in audio time: how much audio had been fed when a hypothesis came
out, minus the reference speech onset (first partial) or speech end (final).
Reference onset/end come from the clip's signal energy alone: the first/last
10 ms frame at least 15 dB above the clip's noise floor (its 10th-percentile
frame level), so they do not depend on the recognizer.

Timings are wall clock on a shared machine: the 1-minute load average at
start and end is printed so contention from other work can be seen.

WER normalisation (applied to reference and hypothesis alike): lower case,
"%" -> "percent", digits -> English words, "mr"/"mrs" -> "mister"/"missus",
hyphens -> spaces, other punctuation removed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import sys
import time
import wave
from pathlib import Path

import jiwer
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from captioner.engine.recognizer import WhisperRecognizer, load_model  # noqa: E402

DATA_DIR = REPO / "tests" / "data"
SAMPLE_RATE_HZ = 16000
CHUNK_MS = 100
CHUNK_BYTES = SAMPLE_RATE_HZ * 2 * CHUNK_MS // 1000
PAD_MS = 1000
REF_FRAME_SAMPLES = 160
REF_ABOVE_FLOOR_DB = 15.0

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_to_words(n: int) -> str:
    """English words for 0 <= n < 10**12 ("10" -> "ten", "2024" -> "two thousand twenty four")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_to_words(rest))
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= size:
            rest = n % size
            head = number_to_words(n // size) + " " + name
            return head + ("" if rest == 0 else " " + number_to_words(rest))
    raise ValueError(n)


def normalize(text: str) -> str:
    """Text normalisation for WER (see module docstring)."""
    text = text.lower().replace("%", " percent ").replace("-", " ")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    text = re.sub(r"\d+", lambda m: " " + number_to_words(int(m.group())) + " ", text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    words = [
        {"mr": "mister", "mrs": "missus"}.get(w.strip("'"), w.strip("'")) for w in text.split()
    ]
    return " ".join(w for w in words if w)


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as handle:
        assert handle.getframerate() == SAMPLE_RATE_HZ and handle.getnchannels() == 1
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").copy()


def frame_levels_db(samples: np.ndarray) -> np.ndarray:
    x = samples.astype(np.float64) / 32768.0
    n = len(x) // REF_FRAME_SAMPLES
    frames = x[: n * REF_FRAME_SAMPLES].reshape(n, REF_FRAME_SAMPLES)
    return 10.0 * np.log10((frames**2).mean(axis=1) + 1e-10)


def reference_speech_span_ms(samples: np.ndarray) -> tuple[int, int]:
    """First/last 10 ms frame >= 15 dB above the clip's noise floor."""
    levels = frame_levels_db(samples)
    floor = float(np.percentile(levels, 10))
    loud = np.flatnonzero(levels >= floor + REF_ABOVE_FLOOR_DB)
    return int(loud[0]) * 10, (int(loud[-1]) + 1) * 10


def padded_stream(samples: np.ndarray, seed: int) -> bytes:
    """Clip with PAD_MS of noise at the clip's own floor before and after."""
    level_db = float(np.clip(np.percentile(frame_levels_db(samples), 5), -75.0, -40.0))
    rng = np.random.default_rng(seed)
    pad_samples = PAD_MS * SAMPLE_RATE_HZ // 1000
    noise = rng.standard_normal(2 * pad_samples) * (10 ** (level_db / 20.0)) * 32768.0
    noise = np.clip(noise, -32768, 32767).astype("<i2")
    return (
        np.concatenate([noise[:pad_samples], samples, noise[pad_samples:]]).astype("<i2").tobytes()
    )


def stream(recognizer: WhisperRecognizer, pcm: bytes) -> tuple[list[tuple[int, object]], float]:
    """Feed ``pcm`` in CHUNK_MS blocks; returns (fed_ms at emission, hypothesis) and wall s."""
    events: list[tuple[int, object]] = []
    wall_s = 0.0
    for offset in range(0, len(pcm), CHUNK_BYTES):
        chunk = pcm[offset : offset + CHUNK_BYTES]
        started = time.perf_counter()
        hyps = recognizer.accept(chunk)
        wall_s += time.perf_counter() - started
        fed_ms = (offset + len(chunk)) * 1000 // (SAMPLE_RATE_HZ * 2)
        events.extend((fed_ms, h) for h in hyps)
    started = time.perf_counter()
    hyps = recognizer.finish()
    wall_s += time.perf_counter() - started
    events.extend((len(pcm) * 1000 // (SAMPLE_RATE_HZ * 2), h) for h in hyps)
    return events, wall_s


def current_rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def process_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_references() -> dict[str, str]:
    lines = (DATA_DIR / "transcripts.tsv").read_text().splitlines()[1:]
    return dict(line.split("\t", 1) for line in lines if line.strip())


def run_eval(model, threads: int) -> dict:
    refs = load_references()
    real = [name for name in refs if name.startswith(("librivox-", "cmu-cards-"))]
    files: dict[str, dict] = {}
    total_audio_ms = total_wall_s = total_wall_nopartials_s = 0.0
    for seed, name in enumerate(real + ["meeting-2speakers.wav"]):
        samples = read_wav(DATA_DIR / name)
        pcm = padded_stream(samples, seed)
        audio_ms = len(pcm) * 1000 // (SAMPLE_RATE_HZ * 2)
        onset_ms, end_ms = (PAD_MS + t for t in reference_speech_span_ms(samples))
        events, wall_s = stream(WhisperRecognizer(model), pcm)
        _, wall_nop_s = stream(WhisperRecognizer(model, partials=False), pcm)
        finals = [(t, h) for t, h in events if h.is_final]
        partials = [(t, h) for t, h in events if not h.is_final and h.text]
        text = " ".join(h.text for _, h in finals)
        wer = jiwer.wer(normalize(refs[name]), normalize(text) or "<empty>")
        entry = {
            "wer": round(wer, 4),
            "hyp": text,
            "rtf": round(wall_s / (audio_ms / 1000), 3),
            "rtf_no_partials": round(wall_nop_s / (audio_ms / 1000), 3),
            "partials": len(partials),
            "finals": len(finals),
            "first_partial_latency_ms": partials[0][0] - onset_ms if partials else None,
            "final_latency_ms": finals[-1][0] - end_ms if finals else None,
        }
        files[name] = entry
        if name in real:
            total_audio_ms += audio_ms
            total_wall_s += wall_s
            total_wall_nopartials_s += wall_nop_s
    real_entries = [files[n] for n in real]
    hyps = [normalize(files[n]["hyp"]) or "<empty>" for n in real]

    def median(key: str) -> float | None:
        values = [e[key] for e in real_entries if e[key] is not None]
        return statistics.median(values) if values else None

    return {
        "threads": threads,
        "chunk_ms": CHUNK_MS,
        "median_wer": median("wer"),
        "corpus_wer": round(jiwer.wer([normalize(refs[n]) for n in real], hyps), 4),
        "rtf_with_partials": round(total_wall_s / (total_audio_ms / 1000), 3),
        "rtf_no_partials": round(total_wall_nopartials_s / (total_audio_ms / 1000), 3),
        "median_first_partial_latency_ms": median("first_partial_latency_ms"),
        "median_final_latency_ms": median("final_latency_ms"),
        "max_first_partial_latency_ms": max(
            e["first_partial_latency_ms"] or 0 for e in real_entries
        ),
        "max_final_latency_ms": max(e["final_latency_ms"] or 0 for e in real_entries),
        "latency_definition": (
            "audio fed (ms, 100 ms chunks) when the hypothesis was returned minus the "
            "reference speech onset (first partial) / speech end (last final); reference "
            f"onset/end = first/last 10 ms frame >= {REF_ABOVE_FLOOR_DB:.0f} dB above the "
            "clip's 10th-percentile frame level"
        ),
        "aggregates_over": "librivox-*.wav + cmu-cards-*.wav (meeting-2speakers.wav: listed only)",
        "files": files,
    }


def run_soak(model, minutes: float) -> dict:
    """Loop speech + 1.5 s silences for ``minutes`` of audio; RSS must stay flat.

    RSS climbs during the first minute or two (CTranslate2's allocator caches
    buffers for the largest decode so far), then must not grow: compare the
    halfway and end values.
    """
    refs = load_references()
    rng = np.random.default_rng(7)
    gap = (rng.standard_normal(24000) * 10 ** (-60 / 20) * 32768).astype("<i2").tobytes()
    loop = b"".join(read_wav(DATA_DIR / name).tobytes() + gap for name in refs)
    recognizer = WhisperRecognizer(model)
    target_bytes = int(minutes * 60 * SAMPLE_RATE_HZ * 2)
    fed = finals = partials = 0
    wall_s = 0.0
    rss_samples: list[tuple[float, float]] = []
    next_report = 0
    while fed < target_bytes:
        for offset in range(0, len(loop), CHUNK_BYTES):
            started = time.perf_counter()
            hyps = recognizer.accept(loop[offset : offset + CHUNK_BYTES])
            wall_s += time.perf_counter() - started
            finals += sum(h.is_final for h in hyps)
            partials += sum(not h.is_final for h in hyps)
            fed += len(loop[offset : offset + CHUNK_BYTES])
            if fed >= next_report:
                rss_samples.append(
                    (round(fed / (SAMPLE_RATE_HZ * 2) / 60, 2), round(current_rss_mb(), 1))
                )
                next_report += 60 * SAMPLE_RATE_HZ * 2
            if fed >= target_bytes:
                break
    recognizer.finish()
    rss_samples.append((round(fed / (SAMPLE_RATE_HZ * 2) / 60, 2), round(current_rss_mb(), 1)))
    half_mb = rss_samples[len(rss_samples) // 2][1]  # decode buffers have peaked by then
    return {
        "soak_audio_minutes": round(fed / (SAMPLE_RATE_HZ * 2) / 60, 2),
        "rtf": round(wall_s / (fed / (SAMPLE_RATE_HZ * 2)), 3),
        "finals": finals,
        "partials": partials,
        "rss_mb_by_audio_minute": " ".join(f"{m:g}:{mb:g}" for m, mb in rss_samples),
        "rss_mb_start": rss_samples[0][1],
        "rss_mb_halfway": half_mb,
        "rss_mb_end": rss_samples[-1][1],
        "rss_growth_mb_second_half": round(rss_samples[-1][1] - half_mb, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--soak-minutes", type=float, default=0.0, help="run the memory soak instead"
    )
    args = parser.parse_args()
    rss_before_mb = current_rss_mb()
    started = time.perf_counter()
    model = load_model(threads=args.threads)
    load_s = time.perf_counter() - started
    report: dict = {"model_load_s": round(load_s, 3), "rss_mb_before_load": round(rss_before_mb, 1)}
    report["load_avg_1min_at_start"] = round(os.getloadavg()[0], 2)
    cpu_before_s = process_cpu_s()
    report["rss_mb_after_load"] = round(current_rss_mb(), 1)
    if args.soak_minutes > 0:
        report.update(run_soak(model, args.soak_minutes))
    else:
        report.update(run_eval(model, args.threads))
        report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    report["process_cpu_s"] = round(process_cpu_s() - cpu_before_s, 1)
    report["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
