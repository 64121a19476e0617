"""Continuous speech into the rig's virtual microphone through the real offline engine:
words become final while the speaker goes on, and partials stay short (<= 20 words)."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest

from captioner.config import SessionConfig
from captioner.live import LiveCaptioning
from captioner.providers.local import LocalEngine, LocalProvider
from captioner.stream import StreamEvent, TranscriptChanged
from captioner.transcript import Transcript
from tests.e2e.rig_helpers import DATA, VirtualDevices, play
from tests.integration.test_streaming import LIBRIVOX, _cut_pauses, _pcm

pytestmark = pytest.mark.rig

MAX_PARTIAL_WORDS = 20
TAIL_MS = 1500


def _continuous_wav(path: Path) -> tuple[Path, int]:
    speech = np.concatenate([_cut_pauses(_pcm(name)) for name in LIBRIVOX])
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(speech.tobytes())
    return path, len(speech) // 16


def test_continuous_speech_gives_finals_while_speaking_and_short_partials(
        virtual_devices: VirtualDevices, engine: LocalEngine, tmp_path: Path) -> None:
    assert DATA.is_dir()
    cfg = SessionConfig(provider="local")
    transcript = Transcript()
    events: list[StreamEvent] = []
    wav, speech_ms = _continuous_wav(tmp_path / "continuous.wav")
    finals_while_speaking: list[str] = []

    async def scenario() -> None:
        live = LiveCaptioning(cfg, None, "mic", virtual_devices.mic_id, transcript,
                              events.append,
                              provider_factory=lambda: LocalProvider(cfg, engine=engine))
        stop = asyncio.Event()
        run = asyncio.create_task(live.run(stop))
        await asyncio.wait_for(live.started.wait(), 10)
        capture = live.captures["mic"]
        await asyncio.wait_for(capture.first_block.wait(), 5)
        await play(virtual_devices.mic_sink, wav)
        finals_while_speaking.extend(s.text for s in transcript.finals)
        await asyncio.wait_for(capture.wait_captured_ms(capture.captured_ms + TAIL_MS), 5)
        stop.set()
        await asyncio.wait_for(run, 30)

    asyncio.run(scenario())
    partials = [e.change.segment for e in events if isinstance(e, TranscriptChanged)
                and e.change.segment is not None and not e.change.segment.is_final]
    longest = max((len(p.text.split()) for p in partials), default=0)
    print(f"{len(partials)} partials, longest {longest} words; "
          f"{len(finals_while_speaking)} finals before the speech ended of {speech_ms} ms")
    assert partials and longest <= MAX_PARTIAL_WORDS
    # the engine commits words while the speaker goes on (the old engine: one final at the end)
    assert len(finals_while_speaking) >= 5
    text = " ".join(s.text for s in transcript.finals).lower()
    for word in ("dashwood", "selfish", "respectable", "amiable"):
        assert word in text, text
