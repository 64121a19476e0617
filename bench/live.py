"""Live benchmark of the offline engine, as the app sees it: wall-clock latencies, CPU, WER.

Starts ``captioner serve`` as a child process, streams WAVs to it over its
Speechmatics RT v2 WebSocket at real time (100 ms frames, ``max_delay`` 2 s,
partials on), and timestamps every message on arrival. Two streams:

- ``recorded``: the real-speech clips (LibriVox + CMU) one after another, each
  with 1 s of room noise before and after (pauses as recorded);
- ``continuous``: the same clips with every pause (in a clip or between clips)
  cut to 0.2 s, the way people talk in meetings.

Figures (wall clock, from the moment the client sent the audio):

- first partial: first partial (or final) after each clip's speech onset;
- final after pause: last final of a clip after that clip's speech end
  (``recorded`` only: the pause there is long enough to end an utterance);
- word -> final: arrival of the final holding a word minus the time that
  word's end (by the engine's word times) was sent, median and p90;
- longest partial in words; WER over the stream (normalised as in
  ``bench/engine.py``); the server process's CPU time over the stream as a
  percentage of one core (``/proc/<pid>/stat``: user + system), its RSS at the
  end and its peak RSS.

Cold start (``cold_start``, measured first on a fresh ``captioner serve``, as
the hot standby starts one when a cloud stream drops): spawn -> listening
(model loaded), -> session started, -> first partial of a clip streamed at
real time from the session start.

Reference onset/end per clip: first/last 10 ms frame at least 15 dB above the
clip's noise floor (as ``bench/engine.py``). Run from the repo root::

    .venv/bin/python bench/live.py                       # both streams, tiny.en
    .venv/bin/python bench/live.py --model base          # multilingual base
    .venv/bin/python bench/live.py --wav es.wav --language auto --text "hola ..."

The 1-minute load average before and after is printed: other work on the
machine slows decoding and shows up in every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.engine import (  # noqa: E402
    DATA_DIR,
    REF_ABOVE_FLOOR_DB,
    frame_levels_db,
    load_references,
    normalize,
    padded_stream,
    read_wav,
    reference_speech_span_ms,
)

SAMPLE_RATE_HZ = 16000
FRAME_MS = 100
FRAME_BYTES = SAMPLE_RATE_HZ * 2 * FRAME_MS // 1000
CUT_PAUSE_MS = 200
COLD_START_CLIP = "librivox-0880.wav"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Clip:
    """One clip's place in the stream (ms) and its reference text."""

    name: str
    onset_ms: int
    end_ms: int
    text: str


@dataclass
class Stream:
    pcm: bytes
    clips: list[Clip] = field(default_factory=list)


def cut_pauses(samples: np.ndarray, keep_ms: int = CUT_PAUSE_MS) -> np.ndarray:
    """Shorten every run of quiet 10 ms frames longer than ``keep_ms`` to ``keep_ms``."""
    levels = frame_levels_db(samples)
    loud = levels >= float(np.percentile(levels, 10)) + REF_ABOVE_FLOOR_DB
    keep = np.ones(len(levels), dtype=bool)
    half = keep_ms // 20
    run_start = None
    for i, is_loud in enumerate(np.append(loud, True)):
        if not is_loud and run_start is None:
            run_start = i
        elif is_loud and run_start is not None:
            if i - run_start > 2 * half:
                keep[run_start + half : i - half] = False
            run_start = None
    frames = samples[: len(levels) * 160].reshape(-1, 160)
    return frames[keep].reshape(-1)


def build_stream(names: list[str], refs: dict[str, str], continuous: bool) -> Stream:
    stream = Stream(b"")
    parts: list[bytes] = []
    at_ms = 0
    for seed, name in enumerate(names):
        samples = read_wav(DATA_DIR / name)
        if continuous:  # pauses at the clip's edges are cut too: 0.1 s + 0.1 s between clips
            samples = cut_pauses(samples)
            onset_ms, end_ms = reference_speech_span_ms(samples)
            pcm = samples.astype("<i2").tobytes()
            stream.clips.append(Clip(name, at_ms + onset_ms, at_ms + end_ms, refs[name]))
        else:
            onset_ms, end_ms = reference_speech_span_ms(samples)
            pcm = padded_stream(samples, seed)
            stream.clips.append(Clip(name, at_ms + 1000 + onset_ms, at_ms + 1000 + end_ms,
                                     refs[name]))
        parts.append(pcm)
        at_ms += len(pcm) // 32
    stream.pcm = b"".join(parts)
    return stream


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def proc_rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024.0
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


def start_server(model: str, threads: int) -> tuple[subprocess.Popen[str], str]:
    """``captioner serve`` on a free port; returns once it listens (its model is loaded)."""
    cmd = [sys.executable, "-m", "captioner", "serve", "--port", "0", "--threads", str(threads),
           "--model", model]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(r"listening on (ws://\S+)", line)
        if match:
            return proc, match.group(1)
    proc.wait()
    raise SystemExit(f"captioner serve exited ({proc.returncode}) before listening")


async def run_session(url: str, pcm: bytes, config: dict[str, Any], pid: int) -> dict[str, Any]:
    """Stream ``pcm`` at real time; every message with its arrival time (s from start)."""
    messages: list[tuple[float, dict[str, Any]]] = []
    sent_at: list[float] = []  # wall time each frame was sent, s from start
    start = {"message": "StartRecognition",
             "audio_format": {"type": "raw", "encoding": "pcm_s16le",
                              "sample_rate": SAMPLE_RATE_HZ},
             "transcription_config": config}
    async with connect(url, max_size=2**22) as ws:
        await ws.send(json.dumps(start))
        json.loads(await ws.recv())
        cpu_before = proc_cpu_s(pid)
        t0 = time.monotonic()
        started_at = t0

        async def receive() -> None:
            async for raw in ws:
                msg = json.loads(raw)
                messages.append((time.monotonic() - t0, msg))
                if msg.get("message") == "EndOfTranscript":
                    return

        receiver = asyncio.create_task(receive())
        n = 0
        for offset in range(0, len(pcm), FRAME_BYTES):
            delay = t0 + n * FRAME_MS / 1000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await ws.send(pcm[offset : offset + FRAME_BYTES])
            sent_at.append(time.monotonic() - t0)
            n += 1
        await ws.send(json.dumps({"message": "EndOfStream", "last_seq_no": n}))
        await asyncio.wait_for(receiver, 120)
        cpu_s = proc_cpu_s(pid) - cpu_before
    return {"messages": messages, "sent_at": sent_at, "cpu_s": cpu_s, "started_at": started_at}


def sent_time(sent_at: list[float], audio_ms: float) -> float:
    """Wall time (s) the frame holding audio time ``audio_ms`` was sent."""
    index = min(len(sent_at) - 1, max(0, int(audio_ms // FRAME_MS)))
    return sent_at[index]


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def analyse(stream: Stream, session: dict[str, Any], has_pauses: bool) -> dict[str, Any]:
    sent_at, messages = session["sent_at"], session["messages"]
    transcripts = [(t, m) for t, m in messages
                   if m.get("message") in ("AddTranscript", "AddPartialTranscript")]
    finals = [(t, m) for t, m in transcripts if m["message"] == "AddTranscript"]
    partial_words = [len(m["metadata"]["transcript"].split()) for _, m in transcripts
                     if m["message"] == "AddPartialTranscript"]
    word_lat = [t - sent_time(sent_at, r["end_time"] * 1000)
                for t, m in finals for r in m["results"] if r["type"] == "word"]
    first_partial: list[float] = []
    after_pause: list[float] = []
    for i, clip in enumerate(stream.clips):
        onset_s = sent_time(sent_at, clip.onset_ms)
        nxt = stream.clips[i + 1].onset_ms if i + 1 < len(stream.clips) else 1e12
        first = next((t for t, m in transcripts if t >= onset_s and m["metadata"]["transcript"]
                      and m["metadata"]["end_time"] * 1000 > clip.onset_ms), None)
        if first is not None:
            first_partial.append(first - onset_s)
        mine = [t for t, m in finals
                if clip.onset_ms - 300 <= m["metadata"]["end_time"] * 1000 < nxt - 300]
        if has_pauses and mine:
            after_pause.append(max(mine) - sent_time(sent_at, clip.end_ms))
    text = " ".join(m["metadata"]["transcript"] for _, m in finals)
    ref = " ".join(c.text for c in stream.clips)
    audio_s = len(stream.pcm) / (SAMPLE_RATE_HZ * 2)
    out: dict[str, Any] = {
        "audio_s": round(audio_s, 1),
        "word_to_final_s_median": pct(word_lat, 50),
        "word_to_final_s_p90": pct(word_lat, 90),
        "word_to_final_s_max": pct(word_lat, 100),
        "longest_partial_words": max(partial_words, default=0),
        "first_partial_s_median": round(statistics.median(first_partial), 3)
        if first_partial else None,
        "wer": round(jiwer.wer(normalize(ref), normalize(text) or "<empty>"), 4),
        "engine_cpu_pct_of_one_core": round(100 * session["cpu_s"] / audio_s, 1),
        "finals": len(finals),
        "partials": len(partial_words),
    }
    if has_pauses:
        out["final_after_pause_s_median"] = (round(statistics.median(after_pause), 3)
                                             if after_pause else None)
    out["hyp"] = text
    return out


async def cold_start(args: argparse.Namespace, config: dict[str, Any]) -> dict[str, Any]:
    """A fresh ``captioner serve``: spawn -> listening -> session started -> first partial.

    The hot standby's question: how soon after the engine is started does it
    caption speech already flowing? The first clip is streamed at real time
    from the moment the session is started; the first partial is timed from
    the spawn and from the clip's speech onset.
    """
    spawned = time.monotonic()
    proc, url = start_server(args.model, args.threads)
    try:
        listening_s = time.monotonic() - spawned
        samples = read_wav(DATA_DIR / COLD_START_CLIP)
        onset_ms, _ = reference_speech_span_ms(samples)
        pcm = samples.astype("<i2").tobytes()
        session = await run_session(url, pcm, config, proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    started_s = session["started_at"] - spawned
    first = next((t for t, m in session["messages"]
                  if m.get("message") in ("AddPartialTranscript", "AddTranscript")
                  and m["metadata"]["transcript"]), None)
    out: dict[str, Any] = {"clip": COLD_START_CLIP, "spawn_to_listening_s": round(listening_s, 2),
                           "spawn_to_session_started_s": round(started_s, 2),
                           "spawn_to_first_partial_s": None, "first_partial_after_onset_s": None}
    if first is not None:
        out["spawn_to_first_partial_s"] = round(started_s + first, 2)
        out["first_partial_after_onset_s"] = round(
            first - sent_time(session["sent_at"], onset_ms), 2)
    return out


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    config: dict[str, Any] = {"language": args.language, "enable_partials": True,
                              "max_delay": args.max_delay,
                              "operating_point": args.operating_point, "model": args.model}
    cold = await cold_start(args, config)
    proc, url = start_server(args.model, args.threads)
    try:
        report: dict[str, Any] = {"model": args.model, "operating_point": args.operating_point,
                                  "max_delay_s": args.max_delay, "threads": args.threads,
                                  "load_avg_1min_at_start": round(os.getloadavg()[0], 2),
                                  "cold_start": cold}
        if args.wav:
            samples = read_wav(Path(args.wav))
            onset_ms, end_ms = reference_speech_span_ms(samples)
            stream = Stream(padded_stream(samples, 0),
                            [Clip(Path(args.wav).name, 1000 + onset_ms, 1000 + end_ms,
                                  args.text or "")])
            streams = {"wav": (stream, True)}
        else:
            refs = load_references()
            names = [n for n in refs if n.startswith(("librivox-", "cmu-cards-"))]
            streams = {"recorded": (build_stream(names, refs, False), True),
                       "continuous": (build_stream(names, refs, True), False)}
        for label, (stream, has_pauses) in streams.items():
            session = await run_session(url, stream.pcm, config, proc.pid)
            report[label] = analyse(stream, session, has_pauses)
        report["rss_mb_end"], report["peak_rss_mb"] = (round(v, 1) for v in proc_rss_mb(proc.pid))
        report["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
        return report
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--operating-point", default="standard",
                        choices=("standard", "enhanced"))
    parser.add_argument("--max-delay", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--language", default="en")
    parser.add_argument("--wav", help="stream this 16 kHz mono WAV instead of the test set")
    parser.add_argument("--text", help="reference text of --wav, for its WER")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args)), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
