"""Benchmark of hot standby's first caption: from a cloud stream's network drop to the first
caption from the real offline engine; prints JSON.

A cloud stream (the Rev AI protocol fake behind an outage proxy, 127.0.0.1) captions a real
speech WAV fed at real time, as capture feeds it; ``--cut-s`` into the speech the network
goes away (open connections aborted, new ones refused) and the offline engine stands in
(:mod:`captioner.standby`). Two ways to start it, each ``--runs`` times, each run with its
own fresh ``captioner serve`` child:

* ``cold``: the engine is started when the drop happens (main before the pre-warm);
* ``warm``: :func:`captioner.standby.prewarm` readied it when the cloud stream started, as
  :class:`captioner.live.LiveCaptioning` now does.

Measured per run (seconds from the cut): ``degraded_s`` (the stream reports DEGRADED, what
the overlay shows), ``first_caption_s`` (first partial or final from the offline engine),
``first_final_s``; and ``engine_start_s`` (the child's cold start, for ``warm`` done before
the cut). The 1-minute load average is printed next to the wall-clock figures: re-measure
on a quiet machine. Run: ``nice .venv/bin/python bench/standby.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import wave
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from captioner.audio.buffer import AudioBuffer  # noqa: E402
from captioner.config import BYTES_PER_MS, SessionConfig  # noqa: E402
from captioner.pacing import STAY_LIVE  # noqa: E402
from captioner.providers import make_provider  # noqa: E402
from captioner.providers.local import LocalEngine, LocalProvider  # noqa: E402
from captioner.standby import prewarm  # noqa: E402
from captioner.stream import (  # noqa: E402
    State,
    StateChanged,
    StreamEvent,
    TranscriptChanged,
    VendorStream,
)
from captioner.testing.fake_revai import FakeRevAi  # noqa: E402
from captioner.testing.outage import OutageProxy  # noqa: E402
from captioner.transcript import Transcript  # noqa: E402

WAV = REPO / "tests" / "data" / "librivox-0870.wav"
KEY = "bench-key"
BLOCK_MS = 50


def pcm_of(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        return w.readframes(w.getnframes())


class TimedProvider(LocalProvider):
    """The offline engine's provider, noting when its engine first answered ready."""

    ready_at: list[float]

    def base_url(self) -> str:
        url = super().base_url()
        if not self.ready_at:
            self.ready_at.append(time.monotonic())
        return url


async def one_run(mode: str, cut_s: float, pcm: bytes) -> dict[str, Any]:
    engine = LocalEngine(threads=2, max_sessions=2)
    offline_cfg = SessionConfig(provider="local")
    ready_at: list[float] = []

    def offline() -> LocalProvider:
        provider = TimedProvider(offline_cfg, engine=engine)
        provider.ready_at = ready_at
        return provider

    result: dict[str, Any] = {"mode": mode}
    try:
        async with FakeRevAi([], keys=(KEY,)) as cloud, OutageProxy(cloud.port) as proxy:
            cfg = SessionConfig(provider="revai", endpoint=proxy.url)
            audio = AudioBuffer()
            cut_at = [0.0]
            marks: dict[str, float] = {}
            live = asyncio.Event()

            def on_event(event: StreamEvent) -> None:
                now = time.monotonic()
                if isinstance(event, StateChanged):
                    if event.state is State.LIVE:
                        live.set()
                    if event.state is State.DEGRADED and cut_at[0]:
                        marks.setdefault("degraded_s", now - cut_at[0])
                seg = event.change.segment if isinstance(event, TranscriptChanged) else None
                if seg is not None and cut_at[0]:
                    marks.setdefault("first_caption_s", now - cut_at[0])
                    if seg.is_final:
                        marks.setdefault("first_final_s", now - cut_at[0])

            stream = VendorStream(lambda: make_provider(cfg), audio, Transcript(), secret=KEY,
                                  listener=on_event, title="Rev AI", live=True,
                                  catch_up=STAY_LIVE, standby=offline)
            run = asyncio.create_task(stream.run())
            t_warm = time.monotonic()
            warming = asyncio.create_task(prewarm(offline)) if mode == "warm" else None
            await asyncio.wait_for(live.wait(), 30)
            if warming is not None:  # a drop comes later than the engine's start
                await asyncio.wait_for(warming, 120)
            step = BLOCK_MS * BYTES_PER_MS
            t0 = time.monotonic()
            for i, pos in enumerate(range(0, len(pcm), step)):
                wait_s = t0 + i * BLOCK_MS / 1000 - time.monotonic()
                if wait_s > 0:
                    await asyncio.sleep(wait_s)  # real-time capture pace, not a wait
                audio.put(pcm[pos:pos + step])
                if not cut_at[0] and i * BLOCK_MS >= cut_s * 1000:
                    cut_at[0] = time.monotonic()
                    await proxy.cut()
            audio.close()
            await asyncio.wait_for(run, 120)
            # the engine's start, from the cut (cold) or from the stream's start (warm)
            start = cut_at[0] if mode == "cold" else t_warm
            if ready_at:
                result["engine_start_s"] = round(ready_at[0] - start, 3)
            result.update({k: round(v, 3) for k, v in marks.items()})
    finally:
        await asyncio.to_thread(engine.stop)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cut-s", type=float, default=2.0, help="seconds into the speech")
    args = parser.parse_args()
    pcm = pcm_of(WAV)
    load_before = os.getloadavg()[0]
    runs = []
    for _ in range(args.runs):
        for mode in ("cold", "warm"):
            runs.append(asyncio.run(one_run(mode, args.cut_s, pcm)))
    summary = {}
    for mode in ("cold", "warm"):
        mine = [r for r in runs if r["mode"] == mode]
        summary[mode] = {key: round(statistics.median(r[key] for r in mine if key in r), 3)
                         for key in ("degraded_s", "first_caption_s", "first_final_s",
                                     "engine_start_s") if any(key in r for r in mine)}
    print(json.dumps({"benchmark": "standby", "wav": WAV.name, "cut_s": args.cut_s,
                      "runs": runs, "median": summary,
                      "loadavg_1min": [load_before, os.getloadavg()[0]]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
