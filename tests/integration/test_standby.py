"""Hot standby against the protocol fakes: a cloud drop is captioned by the offline engine.

The cloud (the Speechmatics fake behind an outage proxy) and the "offline engine"
(a second Speechmatics-protocol fake standing in for ``captioner serve``, which
speaks the same protocol but can't read timecoded audio) both hear timecoded
continuous speech. The network goes away after the first final and comes back
once the offline engine has delivered finals; every scripted word must be in the
transcript exactly once.
"""

from __future__ import annotations

import asyncio
import time

from captioner.audio.buffer import AudioBuffer
from captioner.config import SessionConfig
from captioner.pacing import STAY_LIVE
from captioner.providers import make_provider
from captioner.providers.base import Handshake
from captioner.providers.local import LocalProvider
from captioner.stream import State, StateChanged, StreamEvent, TranscriptChanged, VendorStream
from captioner.testing.drill import BLOCK_MS, KEY, script, summarize
from captioner.testing.fake_speechmatics import FakeSpeechmatics
from captioner.testing.outage import OutageProxy
from captioner.testing.timecode import timecode_pcm
from captioner.transcript import Transcript

DURATION_MS = 14_000
TIMEOUT_S = 10.0


class FakeOfflineEngine(LocalProvider):
    """The offline engine's provider, pointed at a fake that wants the test key."""

    def handshake(self, secret: str | None) -> Handshake:
        return super().handshake(KEY)


async def drill() -> dict[str, object]:
    speech = script(DURATION_MS)
    cloud = FakeSpeechmatics(speech, keys=(KEY,), timecoded=True)
    offline = FakeSpeechmatics(speech, keys=(KEY,), timecoded=True)
    async with cloud, offline, OutageProxy(cloud.port) as proxy:
        cfg = SessionConfig(provider="speechmatics", endpoint=proxy.url)
        offline_cfg = SessionConfig(provider="local", endpoint=f"ws://127.0.0.1:{offline.port}")
        audio = AudioBuffer()
        transcript = Transcript()
        states: list[StateChanged] = []
        finals_down: list[float] = []  # seconds after the cut, for finals while the cloud is down
        captions_down: list[float] = []  # the same for any caption (partial or final)
        finals_after: list[int] = []  # end_ms of finals once the cloud is back
        first_final, offline_finals, degraded = asyncio.Event(), asyncio.Event(), asyncio.Event()
        cut_at = [0.0]

        def on_event(event: StreamEvent) -> None:
            if isinstance(event, StateChanged):
                states.append(event)
                if event.state is State.DEGRADED:
                    degraded.set()
            elif isinstance(event, TranscriptChanged) and event.change.segment is not None \
                    and proxy.down:
                captions_down.append(time.monotonic() - cut_at[0])
            if isinstance(event, TranscriptChanged) and event.change.segment is not None \
                    and event.change.segment.is_final:
                first_final.set()
                if proxy.down:
                    finals_down.append(time.monotonic() - cut_at[0])
                    if len(finals_down) >= 2:
                        offline_finals.set()
                elif cut_at[0]:
                    finals_after.append(event.change.segment.end_ms)

        stream = VendorStream(lambda: make_provider(cfg), audio, transcript, secret=KEY,
                              listener=on_event, title="Speechmatics", live=True,
                              catch_up=STAY_LIVE,
                              standby=lambda: FakeOfflineEngine(offline_cfg))

        async def feed() -> None:
            t0 = time.monotonic()
            for pos_ms in range(0, DURATION_MS, BLOCK_MS):
                wait_s = t0 + pos_ms / 1000 - time.monotonic()
                if wait_s > 0:
                    await asyncio.sleep(wait_s)  # real-time capture pace, not a wait
                audio.put(timecode_pcm(pos_ms, BLOCK_MS))
            audio.close()

        async def outage() -> None:
            await asyncio.wait_for(first_final.wait(), TIMEOUT_S)
            cut_at[0] = time.monotonic()
            await proxy.cut()
            await asyncio.wait_for(degraded.wait(), TIMEOUT_S)
            await asyncio.wait_for(offline_finals.wait(), TIMEOUT_S)
            await proxy.restore()

        feeder = asyncio.create_task(feed())
        cutter = asyncio.create_task(outage())
        final_state = await asyncio.wait_for(stream.run(), 60)
        await asyncio.gather(feeder, cutter)
        result = summarize("speechmatics", STAY_LIVE, stream, transcript, speech, [], [],
                           0.0, 0.0, DURATION_MS / 1000)
        return {**result, "state": final_state, "states": states, "finals_down": finals_down,
                "captions_down": captions_down,
                "finals_after": finals_after, "cloud_connections": len(cloud.connections),
                "offline_connections": len(offline.connections),
                "violations": cloud.violations + offline.violations}


def test_offline_engine_captions_the_outage_and_the_cloud_takes_over_cleanly() -> None:
    r = asyncio.run(drill())
    assert r["state"] is State.STOPPED, r
    assert r["violations"] == []
    degraded = [s for s in r["states"] if s.state is State.DEGRADED]
    assert degraded and degraded[0].replaced_provider == "speechmatics"
    assert "offline engine" in degraded[0].message
    assert r["offline_connections"] == 1 and r["cloud_connections"] >= 2
    # captions go on during the outage, the first within 3 s of the drop
    assert r["captions_down"] and r["captions_down"][0] < 3.0, r["captions_down"]
    assert len(r["finals_down"]) >= 2
    # the cloud is back: LIVE after DEGRADED, and it delivers the rest
    after = r["states"][r["states"].index(degraded[-1]):]
    assert any(s.state is State.LIVE for s in after)
    assert r["finals_after"], r
    assert r["words_lost"] == 0 and r["words_duplicated"] == 0, r
    assert r["gaps"] == [], r["gaps"]
