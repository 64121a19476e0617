"""Whisper log-mel features: shapes, the filterbank, STFT scaling and padding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from captioner.engine import features as F


def _slow_reference(audio: np.ndarray) -> np.ndarray:
    """Whisper's recipe written out frame by frame on audio padded to 30 s with zeros."""
    padded_audio = np.zeros(F.WINDOW_SAMPLES, dtype=np.float64)
    padded_audio[: len(audio)] = audio
    x = np.pad(padded_audio, (F.N_FFT // 2, F.N_FFT // 2), mode="reflect")
    n = np.arange(F.N_FFT)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / F.N_FFT)
    power = np.empty((F.N_FFT // 2 + 1, F.N_FRAMES))
    for t in range(F.N_FRAMES):  # torch.stft(center=True) frames, the last one dropped
        spectrum = np.fft.rfft(x[t * F.HOP_SAMPLES : t * F.HOP_SAMPLES + F.N_FFT] * window)
        power[:, t] = np.abs(spectrum) ** 2
    log_spec = np.log10(np.maximum(F.mel_filterbank().astype(np.float64) @ power, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def test_shape_dtype_and_layout():
    audio = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    out = F.whisper_features(audio)
    assert out.shape == (80, 3000)
    assert out.dtype == np.float32
    assert out.flags["C_CONTIGUOUS"]
    assert F.whisper_features(audio, 1000).shape == (80, 1000)


def test_frame_count_matches_whisper():
    # centred STFT gives 1 + n // hop frames; Whisper drops the last one
    for n in (160, 161, 1599, 1600, 16000):
        assert F.log_mel(np.ones(n, dtype=np.float32) * 0.01).shape == (80, n // 160)


def test_matches_frame_by_frame_reference():
    rng = np.random.default_rng(1)
    t = np.arange(12345) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(len(t))).astype(
        np.float32
    )
    np.testing.assert_allclose(F.whisper_features(audio), _slow_reference(audio), atol=2e-3)


def test_filterbank_is_slaney_normalised():
    fb = F.mel_filterbank()
    assert fb.shape == (80, 201)
    assert (fb >= 0).all()
    # Slaney norm: each triangle has unit area in Hz (bins are 40 Hz apart; the
    # narrow low bands are sampled too coarsely to check).
    areas = fb.sum(axis=1) * 40.0
    np.testing.assert_allclose(areas[10:], 1.0, rtol=0.1)
    assert abs(areas[10:].mean() - 1.0) < 0.01
    peaks = fb.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all()
    # Slaney mel scale: linear to 1 kHz (15 mel at 1 kHz), log above; invertible.
    assert float(F._hz_to_mel(np.array(1000.0))) == pytest.approx(15.0)
    freqs = np.array([0.0, 300.0, 1000.0, 4000.0, 8000.0])
    np.testing.assert_allclose(F._mel_to_hz(F._hz_to_mel(freqs)), freqs, rtol=1e-9)


def test_sine_power_and_band():
    # A 1 kHz sine sits on FFT bin 25: |X| = A*N/4 there and A*N/8 on bins 24, 26
    # with a periodic Hann window and an unnormalised FFT (torch.stft's scaling).
    amplitude = 0.5
    audio = amplitude * np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)
    log_spec = F.log_mel(audio.astype(np.float32))[:, 10:-10]
    power = np.zeros(201)
    power[25] = (amplitude * 400 / 4) ** 2
    power[[24, 26]] = (amplitude * 400 / 8) ** 2
    expected = np.log10(np.maximum(F.mel_filterbank() @ power, 1e-10))
    band = int(expected.argmax())
    np.testing.assert_allclose(log_spec[band], expected[band], atol=1e-3)
    centre_hz = F._mel_to_hz(np.linspace(0, F._hz_to_mel(8000.0), 82))[band + 1]
    assert abs(centre_hz - 1000) < 60


def test_silence_and_padding_values():
    out = F.whisper_features(np.zeros(8000, dtype=np.float32))
    np.testing.assert_allclose(out, (-10.0 + 4.0) / 4.0)
    audio = (0.2 * np.random.default_rng(2).standard_normal(8000)).astype(np.float32)
    out = F.whisper_features(audio)
    # Padding frames are the clamp floor: 8 log10 units (2.0 normalised) under the peak.
    np.testing.assert_allclose(out[:, 100:], out.max() - 2.0, atol=1e-6)


def test_pcm16_conversion():
    pcm = np.array([0, 16384, -32768, 32767], dtype="<i2").tobytes()
    np.testing.assert_allclose(F.pcm16_to_float(pcm), [0.0, 0.5, -1.0, 32767 / 32768])


@given(
    st.integers(min_value=1600, max_value=8000),
    st.floats(min_value=0.01, max_value=0.5),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_range_and_gain_shift(n_samples, gain, seed):
    audio = np.random.default_rng(seed).standard_normal(n_samples).astype(np.float32) * 0.1
    out = F.whisper_features(audio)
    assert np.isfinite(out).all()
    assert out.max() - out.min() <= 2.0 + 1e-5  # dynamic range clamp: 8 log10 units / 4
    # Scaling the signal by g shifts every unclamped log-mel value by log10(g^2).
    a, b = F.log_mel(audio), F.log_mel(audio * np.float32(gain))
    # (values the scaled signal pushed near the floor are clamped, not shifted: a quiet
    # bin at the edge of the band, found by hypothesis with gain 0.0117)
    unclamped = a + 2 * np.log10(gain) > np.log10(F.LOG_FLOOR) + 1.0
    np.testing.assert_allclose((b - a)[unclamped], 2 * np.log10(gain), atol=1e-3)
