"""Benchmark of the live capture path; prints JSON.

For each source it captures while a WAV plays (the rig's virtual microphone,
``virtmic``, fed through ``virtmic_sink``; system audio is ``speakers.monitor``,
fed through ``speakers``) and measures:

* CPU time per second of audio: PortAudio's callback, and ``_deliver`` on the
  loop thread (resample + level meter + buffer put, levels also alone), each
  measured with ``time.thread_time_ns`` on its own thread, plus the whole
  process's CPU time (PortAudio/ALSA/libpulse threads, the loop, the consumer);
* latency from the PortAudio callback to the block being taken from the
  AudioBuffer by a consumer coroutine (what a session's sender does): median,
  p99 and max.

Needs PulseAudio (``source /tmp/captioner-rig/env``). Run:
``.venv/bin/python bench/capture.py [--wav FILE] [--sources mic,system]``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from captioner.audio.buffer import AudioBuffer  # noqa: E402
from captioner.audio.capture import CaptureStream  # noqa: E402

log = logging.getLogger(__name__)

SINKS = {"mic": ("pulse:virtmic", "virtmic_sink"), "system": ("pulse:speakers.monitor", "speakers")}


class TimedBuffer(AudioBuffer):
    """Records, per block, the PortAudio callback time of the block that produced it."""

    def __init__(self) -> None:
        super().__init__()
        self.capture: CaptureStream | None = None
        self._times: collections.deque[float] = collections.deque()
        self.latencies_s: list[float] = []

    def put(self, block: bytes) -> None:
        if block and not self.closed and self.capture is not None:
            self._times.append(self.capture.last_callback_t)
        super().put(block)

    def get_nowait(self) -> bytes | None:
        block = super().get_nowait()
        if block is not None and self._times:
            self.latencies_s.append(time.monotonic() - self._times.popleft())
        return block


class CpuMeter:
    """Sums the calling thread's CPU time spent in wrapped functions."""

    def __init__(self) -> None:
        self.ns = 0
        self.calls = 0

    def wrap(self, func: Any) -> Any:
        def timed(*args: Any) -> Any:
            t0 = time.thread_time_ns()
            try:
                return func(*args)
            finally:
                self.ns += time.thread_time_ns() - t0
                self.calls += 1

        return timed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(source: str, wav: Path, block_ms: int) -> dict[str, Any]:
    device, sink = SINKS[source]
    loop = asyncio.get_running_loop()
    buffer = TimedBuffer()
    capture = CaptureStream(source, device, buffer, loop, block_ms=block_ms)
    buffer.capture = capture
    callback_cpu, deliver_cpu, levels_cpu = CpuMeter(), CpuMeter(), CpuMeter()
    # wrap before start(): the callback binds _deliver when the stream opens
    make_callback = capture._make_callback
    capture._make_callback = lambda opened: callback_cpu.wrap(make_callback(opened))
    capture._deliver = deliver_cpu.wrap(capture._deliver)
    capture.levels.update = levels_cpu.wrap(capture.levels.update)

    async def consume() -> None:
        while await buffer.get() is not None:
            pass

    capture.start()
    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(capture.first_block.wait(), 5)
    cpu0, ms0 = time.process_time(), capture.captured_ms
    player = await asyncio.create_subprocess_exec("paplay", f"--device={sink}", str(wav))
    await player.wait()
    await asyncio.wait_for(capture.wait_captured_ms(capture.captured_ms + 300), 5)
    cpu_s = time.process_time() - cpu0
    audio_s = (capture.captured_ms - ms0) / 1000
    await capture.aclose()
    buffer.close()
    await consumer
    total_audio_s = capture.captured_ms / 1000
    info = capture._want
    lat_ms = [x * 1000 for x in buffer.latencies_s]

    def per_audio_s(meter: CpuMeter) -> float:
        return round(meter.ns / 1e6 / total_audio_s, 3)

    return {
        "device": capture.device_name,
        "rate_hz": info.default_rate if info else None,
        "channels": min(2, info.channels) if info else None,
        "audio_s": round(total_audio_s, 2),
        "cpu_ms_per_audio_s": {
            "callback": per_audio_s(callback_cpu),
            "deliver": per_audio_s(deliver_cpu),
            "of_which_levels": per_audio_s(levels_cpu),
            "capture_path": round((callback_cpu.ns + deliver_cpu.ns) / 1e6 / total_audio_s, 3),
            "whole_process": round(cpu_s * 1000 / audio_s, 3),
        },
        "callback_to_consumer_latency_ms": {
            "median": round(statistics.median(lat_ms), 3),
            "p99": round(percentile(lat_ms, 0.99), 3),
            "max": round(max(lat_ms), 3),
            "blocks": len(lat_ms),
        },
        "callbacks": callback_cpu.calls,
        "dropped_blocks": capture.dropped_blocks,
        "buffer_dropped_bytes": buffer.dropped_bytes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wav", type=Path, default=REPO / "tests/data/librivox-0870.wav")
    parser.add_argument("--sources", default="mic,system")
    parser.add_argument("--block-ms", type=int, default=50)
    args = parser.parse_args(argv)
    if subprocess.run(["pactl", "info"], capture_output=True, check=False).returncode != 0:
        print("bench/capture.py needs PulseAudio: source /tmp/captioner-rig/env", file=sys.stderr)
        return 2
    results = {source: asyncio.run(measure(source, args.wav, args.block_ms))
               for source in args.sources.split(",")}
    print(json.dumps({"bench": "capture", "wav": args.wav.name, "block_ms": args.block_ms,
                      "sources": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
