"""Stop during a reconnect stops at once: the real microphone capture, a cloud stream (the
Rev AI protocol fake on 127.0.0.1) that goes live, drops and then keeps refusing, and the
user's Stop."""

from __future__ import annotations

import asyncio
import time

import pytest

from captioner.config import SessionConfig
from captioner.live import LiveCaptioning
from captioner.providers import make_provider
from captioner.stream import GapAdded, State, StateChanged, StreamEvent
from captioner.testing import Close, Drop, Utterance
from captioner.testing.fake_revai import FakeRevAi
from captioner.transcript import Transcript
from tests.e2e.rig_helpers import VirtualDevices

pytestmark = pytest.mark.rig


def test_stop_while_reconnecting_ends_within_two_seconds(virtual_devices: VirtualDevices):
    transcript = Transcript()
    events: list[StreamEvent] = []
    # connection 0 goes live and drops; every later one is closed at once (server trouble)
    actions = [Drop(at_ms=300, connection=0),
               *(Close(1011, "internal error", at_ms=None, connection=i) for i in range(1, 50))]

    async def scenario() -> float:
        async with FakeRevAi([Utterance("Hello there.", 100, 200)], actions) as server:
            cfg = SessionConfig(provider="revai", endpoint=server.url)
            # without the hot standby, which would caption the outage offline (DEGRADED)
            live = LiveCaptioning(cfg, "test-key", "mic", virtual_devices.mic_id, transcript,
                                  events.append, provider_factory=lambda: make_provider(cfg),
                                  standby=False)
            stop = asyncio.Event()
            run = asyncio.create_task(live.run(stop))
            await asyncio.wait_for(live.started.wait(), 10)
            capture = live.captures["mic"]
            await asyncio.wait_for(capture.first_block.wait(), 5)
            deadline = time.monotonic() + 10
            while not any(isinstance(e, StateChanged) and e.state is State.RECONNECTING
                          for e in events):
                assert time.monotonic() < deadline, f"the stream never reconnected: {events}"
                await asyncio.sleep(0.05)
            await asyncio.wait_for(capture.wait_captured_ms(capture.captured_ms + 500), 5)
            t0 = time.monotonic()
            stop.set()
            await asyncio.wait_for(run, 10)
            return time.monotonic() - t0

    took_s = asyncio.run(scenario())
    print(f"stopped {took_s * 1000:.0f} ms after Stop")
    assert took_s < 2.0
    states = [e.state for e in events if isinstance(e, StateChanged)]
    assert states[-1] is State.STOPPED, states
    # the audio that never reached the vendor is marked, not silently lost
    gaps = [e.gap for e in events if isinstance(e, GapAdded)]
    assert gaps and gaps[-1].reason == "stopped while reconnecting", gaps
