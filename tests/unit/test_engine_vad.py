"""The energy segmenter: turn splitting, quiet on silence and steady noise."""

from __future__ import annotations

import wave

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from captioner.engine.vad import Segmenter, SpeechEnd, SpeechStart, VadConfig, segment

RATE = 16000


def _read(path) -> np.ndarray:
    with wave.open(str(path)) as handle:
        pcm = handle.readframes(handle.getnframes())
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def _noise(seconds: float, level_dbfs: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * RATE)) * 10 ** (level_dbfs / 20)).astype(np.float32)


def test_meeting_three_turns(data_dir):
    audio = _read(data_dir / "meeting-2speakers.wav")
    spans = segment(audio)
    assert len(spans) == 3
    # turns are separated by 1.2 s pauses: each gap is most of that, nothing overlaps
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert 900 <= start - end <= 1600
    assert spans[0][0] <= 200
    assert spans[-1][1] >= len(audio) * 1000 // RATE - 600


def test_meeting_with_room_noise(data_dir):
    speech = _read(data_dir / "meeting-2speakers.wav")
    audio = speech + _noise(17, -60)[: len(speech)]
    assert len(segment(audio)) == 3


def test_single_utterance_not_split_on_short_pauses(data_dir):
    for name in ("librivox-0870.wav", "librivox-0920.wav", "cmu-cards-005.wav"):
        audio = _read(data_dir / name)
        padded = np.concatenate([_noise(1, -50), audio, _noise(1, -50, seed=1)])
        spans = segment(padded)
        assert len(spans) == 1, (name, spans)
        start, end = spans[0]
        assert 1000 <= start <= 1500 and end >= 1000 + len(audio) * 1000 // RATE - 700


def test_quiet_on_digital_silence():
    assert segment(np.zeros(10 * RATE, dtype=np.float32)) == []


def test_quiet_on_steady_noise_at_any_level():
    for level in (-70.0, -55.0, -40.0, -25.0):
        assert segment(_noise(8, level)) == [], level


def test_quiet_on_slow_noise_drift():
    ramp = np.linspace(-65, -35, 20 * RATE)
    audio = np.random.default_rng(3).standard_normal(len(ramp)) * 10 ** (ramp / 20)
    assert segment(audio.astype(np.float32)) == []


def test_events_alternate_and_point_backwards(data_dir):
    audio = np.concatenate([_read(data_dir / "meeting-2speakers.wav"), np.zeros(RATE, np.float32)])
    seg = Segmenter()
    step = seg.config.frame_samples
    events = []
    for i in range(len(audio) // step):
        event = seg.push(audio[i * step : (i + 1) * step])
        if event is not None:
            events.append((i, event))
    kinds = [type(e) for _, e in events]
    assert kinds == [SpeechStart, SpeechEnd] * 3
    for i, event in events:
        frame = event.frame if isinstance(event, SpeechStart) else event.last_voiced_frame
        assert frame <= i
    # hangover: the end is reported hangover_ms after the last voiced frame
    hang = seg.config.hangover_ms // seg.config.frame_ms
    assert all(i - e.last_voiced_frame == hang for i, e in events if isinstance(e, SpeechEnd))


@settings(max_examples=40)
@given(st.floats(min_value=-80, max_value=-20), st.integers(min_value=0, max_value=1000))
def test_stationary_noise_never_starts_speech(level_dbfs, seed):
    assert segment(_noise(3, level_dbfs, seed)) == []


def test_short_blip_is_not_speech():
    audio = _noise(3, -60)
    audio[RATE : RATE + 480] += _noise(0.03, -10, seed=5)  # 30 ms click
    assert segment(audio, VadConfig()) == []
