"""StreamConverter/to_pcm16k: any rate and channels → 16 kHz mono s16le without artefacts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from captioner.audio.resample import StreamConverter, to_pcm16k

OUT_HZ = 16_000


def sine(freq_hz: float, rate_hz: int, seconds: float, amplitude: float = 0.5,
         channels: int = 2) -> np.ndarray:
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    mono = (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    return np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono


def as_int16(data: np.ndarray) -> np.ndarray:
    return np.round(data * 32767).astype(np.int16)


def decode(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


def dominant_hz(x: np.ndarray, rate_hz: int) -> float:
    window = np.hanning(x.size)
    spectrum = np.abs(np.fft.rfft(x * window))
    k = int(np.argmax(spectrum))
    # parabolic interpolation around the peak bin
    a, b, c = np.log(spectrum[k - 1:k + 2] + 1e-12)
    k_frac = k + 0.5 * (a - c) / (a - 2 * b + c)
    return float(k_frac * rate_hz / x.size)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2)))


@pytest.mark.parametrize("rate_hz", [44_100, 48_000])
@pytest.mark.parametrize("dtype", ["int16", "float32"])
def test_sine_keeps_frequency_and_amplitude(rate_hz: int, dtype: str) -> None:
    data = sine(1000.0, rate_hz, 1.0, amplitude=0.5)
    samples = as_int16(data) if dtype == "int16" else data
    out = decode(to_pcm16k(samples, rate_hz))
    assert abs(out.size - OUT_HZ) <= 2
    core = out[800:-800]  # away from the filter's edges
    assert dominant_hz(core, OUT_HZ) == pytest.approx(1000.0, abs=1.0)
    assert rms(core) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)
    assert np.max(np.abs(core)) == pytest.approx(0.5, rel=0.01)


@pytest.mark.parametrize("rate_hz", [44_100, 48_000])
def test_tone_above_nyquist_does_not_alias(rate_hz: int) -> None:
    """A 12 kHz tone can't exist at 16 kHz; sample dropping would fold it to 4 kHz."""
    out = decode(to_pcm16k(as_int16(sine(12_000.0, rate_hz, 1.0, amplitude=0.5)), rate_hz))
    core = out[800:-800]
    level_db = 20 * np.log10(rms(core) / (0.5 / np.sqrt(2)) + 1e-12)
    assert level_db < -40.0


def test_stereo_channels_are_averaged() -> None:
    left = sine(440.0, 48_000, 0.5, amplitude=0.4, channels=1)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    out = decode(to_pcm16k(as_int16(stereo), 48_000))[800:-800]
    assert rms(out) == pytest.approx(0.2 / np.sqrt(2), rel=0.02)


def blockwise(raw: bytes, converter: StreamConverter, block_bytes: int) -> bytes:
    parts = [converter.convert(raw[pos:pos + block_bytes])
             for pos in range(0, len(raw), block_bytes)]
    parts.append(converter.convert(b"", last=True))
    return b"".join(parts)


@settings(max_examples=25, deadline=None)
@given(rate_hz=st.sampled_from([44_100, 48_000, 22_050, 16_000]),
       channels=st.sampled_from([1, 2]),
       block_ms=st.integers(min_value=3, max_value=120))
def test_blockwise_conversion_equals_whole_buffer(rate_hz: int, channels: int,
                                                  block_ms: int) -> None:
    rng = np.random.default_rng(rate_hz + channels + block_ms)
    speechy = sine(300.0, rate_hz, 0.6, 0.3, channels) + sine(2500.0, rate_hz, 0.6, 0.2, channels)
    noise = rng.normal(0, 0.02, speechy.shape).astype(np.float32)
    samples = as_int16(speechy + noise)
    whole = decode(to_pcm16k(samples, rate_hz))
    block_bytes = max(1, rate_hz * block_ms // 1000) * channels * 2
    got = decode(blockwise(samples.tobytes(), StreamConverter(rate_hz, channels, "int16"),
                           block_bytes))
    assert abs(got.size - whole.size) <= 2
    n = min(got.size, whole.size)
    assert np.max(np.abs(got[:n] - whole[:n])) < 1e-3  # a few LSB at most


def test_float32_stream_matches_int16_stream() -> None:
    data = sine(700.0, 48_000, 0.5, 0.5)
    a = blockwise(as_int16(data).tobytes(), StreamConverter(48_000, 2, "int16"), 4800 * 2 * 2)
    b = blockwise(data.astype(np.float32).tobytes(), StreamConverter(48_000, 2, "float32"),
                  4800 * 2 * 4)
    n = min(len(a), len(b)) // 2
    assert np.max(np.abs(decode(a)[:n] - decode(b)[:n])) < 2e-4


def test_16k_mono_int16_passes_through_unchanged() -> None:
    samples = as_int16(sine(440.0, OUT_HZ, 0.2, 0.5, channels=1))
    converter = StreamConverter(OUT_HZ, 1, "int16")
    assert converter.convert(samples.tobytes()) == samples.tobytes()
