"""The real capture path (PortAudio → ALSA pulse plugin → PulseAudio) against WAVs played
into virtual devices: what CaptureStream puts into the AudioBuffer is the WAV."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from captioner.audio.buffer import AudioBuffer
from captioner.audio.capture import CaptureStatus, CaptureStream
from tests.e2e.rig_helpers import (
    DATA,
    VirtualDevices,
    as_48k_stereo,
    best_ncc,
    drain,
    play,
    read_wav,
)

pytestmark = pytest.mark.rig

SPEECH = DATA / "librivox-0880.wav"
CARDS = DATA / "cmu-cards-005.wav"
TAIL_MS = 500  # captured after paplay ends: the sink's and the capture's latency


async def capture_while_playing(plays: dict[str, tuple[str, str, Path]]
                                ) -> dict[str, tuple[np.ndarray, CaptureStream, AudioBuffer]]:
    """Capture each source (``{source: (device id, sink to play into, wav)}``) while its
    WAV plays; returns the captured 16 kHz samples, the stream and its buffer."""
    loop = asyncio.get_running_loop()
    statuses: list[CaptureStatus] = []
    runs = {}
    for source, (device, _sink, _wav) in plays.items():
        buffer = AudioBuffer()
        capture = CaptureStream(source, device, buffer, loop, on_status=statuses.append)
        capture.start()
        blocks: list[bytes] = []
        runs[source] = (capture, buffer, blocks, asyncio.create_task(drain(buffer, blocks)))
    try:
        for capture, *_ in runs.values():  # first callback latency: wait before playing
            await asyncio.wait_for(capture.first_block.wait(), 5)
        await asyncio.gather(*(play(sink, wav) for _dev, sink, wav in plays.values()))
        for capture, *_ in runs.values():
            await asyncio.wait_for(capture.wait_captured_ms(capture.captured_ms + TAIL_MS), 5)
    finally:
        for capture, buffer, _blocks, consumer in runs.values():
            await capture.aclose()
            buffer.close()
            await asyncio.wait_for(consumer, 5)
    assert [s for s in statuses if s.kind in ("lost", "resumed")] == []
    return {source: (np.frombuffer(b"".join(blocks), dtype="<i2").astype(np.float64),
                     capture, buffer)
            for source, (capture, buffer, blocks, _task) in runs.items()}


def test_mic_capture_matches_the_wav(virtual_devices: VirtualDevices) -> None:
    ref = read_wav(SPEECH)
    got, capture, buffer = asyncio.run(capture_while_playing(
        {"mic": (virtual_devices.mic_id, virtual_devices.mic_sink, SPEECH)}))["mic"]
    ncc, lag = best_ncc(got, ref)
    print(f"mic: correlation {ncc:.4f} at lag {lag / 16:.0f} ms")
    assert ncc >= 0.99, f"correlation {ncc:.4f} at lag {lag}"
    assert len(got) >= len(ref)
    assert capture.device_name == virtual_devices.mic_name
    assert capture.dropped_blocks == 0 and buffer.dropped_bytes == 0


def test_system_audio_capture_matches_the_wav(virtual_devices: VirtualDevices,
                                              tmp_path: Path) -> None:
    """48 kHz stereo monitor → 16 kHz mono through soxr."""
    ref = read_wav(SPEECH)
    wav = as_48k_stereo(SPEECH, tmp_path / "speech48k.wav")
    got, capture, buffer = asyncio.run(capture_while_playing(
        {"system": (virtual_devices.system_id, virtual_devices.speakers, wav)}))["system"]
    ncc, lag = best_ncc(got, ref, upsample=3)
    print(f"system: correlation {ncc:.4f} at lag {lag / 48:.0f} ms")
    assert ncc >= 0.99, f"correlation {ncc:.4f} at lag {lag}"
    assert capture.dropped_blocks == 0 and buffer.dropped_bytes == 0


def test_mic_and_system_audio_record_at_once_each_from_its_own_source(
        virtual_devices: VirtualDevices, tmp_path: Path) -> None:
    """Two streams in one process, each opened with its own PULSE_SOURCE."""
    speech, cards = read_wav(SPEECH), read_wav(CARDS)
    captured = asyncio.run(capture_while_playing({
        "mic": (virtual_devices.mic_id, virtual_devices.mic_sink, SPEECH),
        "system": (virtual_devices.system_id, virtual_devices.speakers,
                   as_48k_stereo(CARDS, tmp_path / "cards48k.wav")),
    }))
    mic, system = captured["mic"][0], captured["system"][0]
    assert best_ncc(mic, speech)[0] >= 0.99
    assert best_ncc(system, cards, upsample=3)[0] >= 0.99
    assert best_ncc(mic, cards)[0] < 0.3 and best_ncc(system, speech)[0] < 0.3
    for _samples, capture, buffer in captured.values():
        assert capture.dropped_blocks == 0 and buffer.dropped_bytes == 0
