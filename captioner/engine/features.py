"""Whisper log-mel features in plain numpy.

Reproduces OpenAI Whisper's ``log_mel_spectrogram``: 16 kHz audio, a periodic
Hann window of ``N_FFT`` = 400 samples, hop 160 (10 ms), centred frames with
reflect padding, power spectrum, an 80-band Slaney mel filterbank (librosa's
default: Slaney mel scale, area-normalised triangles), ``log10`` clamped at
1e-10 and to (max - 8), then ``(x + 4) / 4``. The window the model sees is
always ``N_FRAMES`` = 3000 frames (30 s); shorter audio is padded as if with
digital silence, which is what Whisper itself does.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

logger = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
N_FFT = 400
HOP_SAMPLES = 160
N_MELS = 80
N_FRAMES = 3000  # 30 s window
WINDOW_SAMPLES = N_FRAMES * HOP_SAMPLES
FRAME_MS = HOP_SAMPLES * 1000 // SAMPLE_RATE_HZ  # 10 ms per feature frame
LOG_FLOOR = 1e-10
DYNAMIC_RANGE_LOG10 = 8.0


def _hz_to_mel(freq_hz: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above (librosa htk=False)."""
    freq_hz = np.asarray(freq_hz, dtype=np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    mels = freq_hz / f_sp
    high = freq_hz >= min_log_hz
    mels = np.where(
        high, min_log_mel + np.log(np.maximum(freq_hz, 1e-12) / min_log_hz) / logstep, mels
    )
    return mels


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_hz_to_mel`."""
    mels = np.asarray(mels, dtype=np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    freqs = f_sp * mels
    high = mels >= min_log_mel
    return np.where(high, min_log_hz * np.exp(logstep * (mels - min_log_mel)), freqs)


@functools.cache
def mel_filterbank(
    sample_rate_hz: int = SAMPLE_RATE_HZ, n_fft: int = N_FFT, n_mels: int = N_MELS
) -> np.ndarray:
    """Slaney-normalised triangular mel filters, shape ``(n_mels, n_fft // 2 + 1)``.

    Same construction as ``librosa.filters.mel(sr, n_fft, n_mels)`` with its
    defaults (fmin 0, fmax sr/2, htk False, norm "slaney").
    """
    fft_freqs_hz = np.linspace(0.0, sample_rate_hz / 2.0, n_fft // 2 + 1)
    mel_points = np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate_hz / 2.0), n_mels + 2)
    mel_freqs_hz = _mel_to_hz(mel_points)
    fdiff = np.diff(mel_freqs_hz)
    ramps = mel_freqs_hz[:, None] - fft_freqs_hz[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_freqs_hz[2 : n_mels + 2] - mel_freqs_hz[:n_mels])
    weights *= enorm[:, None]
    weights.setflags(write=False)
    return weights.astype(np.float32)


@functools.cache
def _hann_window(n_fft: int = N_FFT) -> np.ndarray:
    """Periodic Hann window (torch.hann_window default)."""
    n = np.arange(n_fft)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)).astype(np.float32)


def pcm16_to_float(pcm: bytes | np.ndarray) -> np.ndarray:
    """s16le bytes (or an int16 array) to float32 samples in [-1, 1)."""
    samples = np.frombuffer(pcm, dtype="<i2") if isinstance(pcm, bytes | bytearray) else pcm
    return samples.astype(np.float32) / 32768.0


def log_mel(audio: np.ndarray) -> np.ndarray:
    """Unnormalised ``log10`` mel power, shape ``(N_MELS, len(audio) // HOP_SAMPLES)``.

    Frames are centred (reflect padding of ``N_FFT // 2``); like Whisper the last
    STFT frame is dropped so ``n`` samples give ``n // hop`` frames.
    """
    audio = np.asarray(audio, dtype=np.float32)
    n_frames = len(audio) // HOP_SAMPLES
    if n_frames == 0:
        return np.zeros((N_MELS, 0), dtype=np.float32)
    pad = N_FFT // 2
    if len(audio) > pad:
        padded = np.pad(audio, (pad, pad), mode="reflect")
    else:
        padded = np.pad(audio, (pad, pad), mode="constant")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_SAMPLES][:n_frames]
    spectrum = np.fft.rfft(frames * _hann_window(), axis=-1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    mel = mel_filterbank() @ power.T
    return np.log10(np.maximum(mel, LOG_FLOOR))


def whisper_features(audio: np.ndarray, n_frames: int = N_FRAMES) -> np.ndarray:
    """Normalised Whisper input, shape ``(N_MELS, n_frames)``, float32, C-contiguous.

    ``audio`` (float32, 16 kHz) longer than the window is trimmed. Shorter audio
    is treated as followed by digital silence, as Whisper pads with zeros
    before the transform: the frames over the tail see zeros, and the frames
    past it get the clamp floor that silence gets.
    """
    audio = np.asarray(audio, dtype=np.float32)[: n_frames * HOP_SAMPLES]
    tail = np.concatenate([audio, np.zeros(N_FFT, dtype=np.float32)])
    log_spec = log_mel(tail)[:, :n_frames]
    peak = float(log_spec.max()) if log_spec.size else np.log10(LOG_FLOOR)
    floor = max(float(np.log10(LOG_FLOOR)), peak - DYNAMIC_RANGE_LOG10)
    out = np.full((N_MELS, n_frames), floor, dtype=np.float32)
    out[:, : log_spec.shape[1]] = np.maximum(log_spec, floor)
    out = (out + 4.0) / 4.0
    return np.ascontiguousarray(out, dtype=np.float32)
