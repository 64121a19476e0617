"""Device loss while captioning: the microphone's PulseAudio module is unloaded and loaded
again (an unplugged and replugged headset), or its stream stalls. Capture reports it,
reopens the device, audio flows again and no caption is lost."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess

import pytest

from captioner.audio.buffer import AudioBuffer
from captioner.audio.capture import CaptureStatus, CaptureStream
from captioner.config import SessionConfig
from captioner.live import LiveCaptioning
from captioner.providers.local import LocalEngine, LocalProvider
from captioner.stream import State, StreamEvent, TranscriptChanged
from captioner.transcript import Transcript
from tests.e2e.rig_helpers import DATA, VirtualDevices, drain, pactl, play

pytestmark = pytest.mark.rig

BEFORE_WAV = DATA / "librivox-0880.wav"  # "he was not an ill disposed young man"
AFTER_WAV = DATA / "cmu-cards-005.wav"  # "eight of spades four of clubs seven of hearts"
BEFORE_WORDS = {"he", "was", "not", "young", "man"}
AFTER_WORDS = {"eight", "spades", "four", "seven", "hearts"}
TAIL_MS = 800


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def test_unplugged_microphone_is_reported_reopened_and_no_final_is_lost(
        virtual_devices: VirtualDevices, engine: LocalEngine) -> None:
    cfg = SessionConfig(provider="local")
    transcript = Transcript()
    events: list[StreamEvent] = []

    async def scenario() -> tuple[LiveCaptioning, list[CaptureStatus], str]:
        statuses: asyncio.Queue[CaptureStatus] = asyncio.Queue()
        seen: list[CaptureStatus] = []
        finals: asyncio.Queue[str] = asyncio.Queue()

        def on_event(event: StreamEvent) -> None:
            events.append(event)
            seg = event.change.segment if isinstance(event, TranscriptChanged) else None
            if seg is not None and seg.is_final:
                finals.put_nowait(seg.text)

        def on_status(status: CaptureStatus) -> None:
            seen.append(status)
            statuses.put_nowait(status)

        live = LiveCaptioning(cfg, None, "mic", virtual_devices.mic_id, transcript, on_event,
                              on_status=on_status,
                              provider_factory=lambda: LocalProvider(cfg, engine=engine))
        stop = asyncio.Event()
        run = asyncio.create_task(live.run(stop))
        await asyncio.wait_for(live.started.wait(), 10)
        capture = live.captures["mic"]
        await asyncio.wait_for(capture.first_block.wait(), 5)
        await play(virtual_devices.mic_sink, BEFORE_WAV)
        # captioned before the unplug: the final is shown...
        before = await asyncio.wait_for(finals.get(), 15)

        virtual_devices.unplug_mic()
        lost = await asyncio.wait_for(statuses.get(), 5)
        assert lost.kind == "lost", lost
        assert lost.message == (f"Lost the microphone '{virtual_devices.mic_name}'. "
                                "Captioning pauses until it is back.")
        assert capture.lost and live.sessions["mic"].state is State.LIVE  # the session goes on
        virtual_devices.plug_mic()
        resumed = await asyncio.wait_for(statuses.get(), 5)
        assert resumed.kind == "resumed" and not resumed.fell_back, resumed
        assert capture.device_name == virtual_devices.mic_name

        blocks = capture.blocks
        await play(virtual_devices.mic_sink, AFTER_WAV)
        await asyncio.wait_for(capture.wait_captured_ms(capture.captured_ms + TAIL_MS), 5)
        assert capture.blocks > blocks  # audio flows again
        stop.set()
        await asyncio.wait_for(run, 30)
        return live, seen, before

    live, statuses, before = asyncio.run(scenario())
    assert [s.kind for s in statuses] == ["lost", "resumed"]
    assert live.sessions["mic"].state is State.STOPPED
    texts = [s.text for s in transcript.finals]
    print(texts)
    assert before in texts  # ...and still there at the end
    everything = words(" ".join(texts))
    assert len(everything & BEFORE_WORDS) >= 3 and len(everything & AFTER_WORDS) >= 3
    first_after = next(i for i, t in enumerate(texts) if words(t) & AFTER_WORDS)
    assert texts.index(before) < first_after
    assert transcript.gaps == ()


@contextlib.asynccontextmanager
async def watched_capture(devices: VirtualDevices, **kwargs):
    """A running capture of the test microphone, drained, whose statuses are queued.

    Yields (capture, status queue, every status seen).
    """
    statuses: asyncio.Queue[CaptureStatus] = asyncio.Queue()
    seen: list[CaptureStatus] = []
    buffer = AudioBuffer()
    capture = CaptureStream("mic", devices.mic_id, buffer, asyncio.get_running_loop(),
                            on_status=lambda s: (seen.append(s), statuses.put_nowait(s)),
                            **kwargs)
    capture.start()
    consumer = asyncio.create_task(drain(buffer, []))
    try:
        await asyncio.wait_for(capture.first_block.wait(), 5)
        yield capture, statuses, seen
    finally:
        await capture.aclose()
        buffer.close()
        await consumer


def test_a_stalled_stream_is_reported_and_recovers(virtual_devices: VirtualDevices) -> None:
    """No callbacks for 2 s (a suspended source) counts as lost; capture retries until
    audio flows again."""

    async def scenario() -> list[CaptureStatus]:
        async with watched_capture(virtual_devices) as (capture, statuses, seen):
            pactl("suspend-sink", virtual_devices.mic_sink, "1")
            try:
                lost = await asyncio.wait_for(statuses.get(), 6)
                assert lost.kind == "lost", lost
            finally:
                pactl("suspend-sink", virtual_devices.mic_sink, "0")
            resumed = await asyncio.wait_for(statuses.get(), 8)
            assert resumed.kind == "resumed" and not resumed.fell_back, resumed
            await asyncio.wait_for(capture.wait_captured_ms(capture.captured_ms + 500), 5)
        return seen

    assert [s.kind for s in asyncio.run(scenario())] == ["lost", "resumed"]


def own_source_output(source_name: str) -> str:
    """The index of this process's recording stream on ``source_name``."""
    sources = json.loads(pactl("-f", "json", "list", "sources"))
    index = next(s["index"] for s in sources if s["name"] == source_name)
    outputs = json.loads(pactl("-f", "json", "list", "source-outputs"))
    mine = [o for o in outputs if o["source"] == index
            and o["properties"].get("application.process.id") == str(os.getpid())]
    assert len(mine) == 1, mine
    return str(mine[0]["index"])


def test_a_stream_killed_by_the_sound_server_is_reported_and_reopened(
        virtual_devices: VirtualDevices) -> None:
    """PortAudio ends the stream on an I/O error (finished_callback without stop())."""

    async def scenario() -> list[CaptureStatus]:
        async with watched_capture(virtual_devices) as (capture, statuses, seen):
            subprocess.run(["pacmd", "kill-source-output",
                            own_source_output(virtual_devices.mic_source)], check=True,
                           capture_output=True)
            lost = await asyncio.wait_for(statuses.get(), 5)
            assert lost.kind == "lost", lost
            resumed = await asyncio.wait_for(statuses.get(), 5)
            assert resumed.kind == "resumed" and not resumed.fell_back, resumed
            await asyncio.wait_for(capture.wait_captured_ms(capture.captured_ms + 500), 5)
            assert not capture.lost
        return seen

    assert [s.kind for s in asyncio.run(scenario())] == ["lost", "resumed"]


def test_a_long_outage_falls_back_to_the_default_and_switches_back(
        virtual_devices: VirtualDevices) -> None:
    async def scenario() -> list[CaptureStatus]:
        async with watched_capture(virtual_devices, fallback_after_s=1.0) as (
                capture, statuses, seen):
            virtual_devices.unplug_mic()
            try:
                assert (await asyncio.wait_for(statuses.get(), 5)).kind == "lost"
                fallback = await asyncio.wait_for(statuses.get(), 6)
            finally:
                virtual_devices.plug_mic()
            assert fallback.kind == "resumed" and fallback.fell_back, fallback
            assert capture.device_name != virtual_devices.mic_name
            assert f"'{virtual_devices.mic_name}' is still missing" in fallback.message
            back = await asyncio.wait_for(statuses.get(), 5)
            assert back.kind == "resumed" and not back.fell_back, back
            assert back.message == f"Switched back to the microphone '{virtual_devices.mic_name}'."
            assert capture.device_name == virtual_devices.mic_name
            await asyncio.wait_for(capture.wait_captured_ms(capture.captured_ms + 300), 5)
        return seen

    assert [s.kind for s in asyncio.run(scenario())] == ["lost", "resumed", "resumed"]
