"""Conversion of any PCM to the 16 kHz mono s16le every provider is sent.

Uses soxr (a band-limited, well-kept resampler), never sample dropping.
:class:`StreamConverter` keeps filter state across blocks, for live capture and
for files (read in blocks, so memory stays bounded whatever their length).
"""

from __future__ import annotations

import numpy as np
import soxr

from captioner.config import SAMPLE_RATE_HZ


def to_float_mono(samples: np.ndarray) -> np.ndarray:
    """(frames,) or (frames, channels) int16/int32/float → float32 mono in [-1, 1]."""
    data = np.asarray(samples)
    if data.dtype == np.int16:
        data = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:
        data = data.astype(np.float32) / 2147483648.0
    elif data.dtype == np.uint8:
        data = (data.astype(np.float32) - 128.0) / 128.0
    else:
        data = data.astype(np.float32, copy=False)
    if data.ndim == 2:
        data = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    return data


def float_to_s16le(data: np.ndarray) -> bytes:
    clipped = np.clip(data, -1.0, 32767.0 / 32768.0)
    return (clipped * 32768.0).round().astype("<i2").tobytes()


def to_pcm16k(samples: np.ndarray, rate_hz: int) -> bytes:
    """Whole-buffer conversion to 16 kHz mono s16le bytes."""
    mono = to_float_mono(samples)
    if rate_hz != SAMPLE_RATE_HZ and mono.size:
        mono = soxr.resample(mono, rate_hz, SAMPLE_RATE_HZ, quality="HQ")
    return float_to_s16le(mono)


class StreamConverter:
    """Block-by-block conversion with continuous filter state.

    Args:
        rate_hz: input sample rate.
        channels: input channels (averaged to mono).
        dtype: input sample type as numpy names it ("int16", "float32", "int32").
    """

    def __init__(self, rate_hz: int, channels: int = 1, dtype: str = "int16") -> None:
        self.rate_hz = rate_hz
        self.channels = channels
        self.dtype = np.dtype(dtype)
        self._stream = (
            soxr.ResampleStream(rate_hz, SAMPLE_RATE_HZ, 1, dtype="float32", quality="HQ")
            if rate_hz != SAMPLE_RATE_HZ else None
        )

    def convert(self, raw: bytes, last: bool = False) -> bytes:
        """Raw bytes of ``dtype`` (interleaved channels) → 16 kHz mono s16le."""
        data = np.frombuffer(raw, dtype=self.dtype)
        if self.channels > 1:
            data = data[: data.size - data.size % self.channels].reshape(-1, self.channels)
        return self.convert_samples(data, last)

    def convert_samples(self, samples: np.ndarray, last: bool = False) -> bytes:
        """(frames,) or (frames, channels) samples of any dtype → 16 kHz mono s16le."""
        mono = to_float_mono(samples)
        if self._stream is not None:
            mono = self._stream.resample_chunk(mono, last=last)
        return float_to_s16le(mono)
