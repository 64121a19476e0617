"""Reading audio files for ``captioner transcribe``: WAV (PCM 8/16/24/32-bit, float) of any
rate and channel count, converted to 16 kHz mono s16le."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np

from captioner.audio.resample import to_pcm16k
from captioner.errors import UserFacingError


class AudioFileError(UserFacingError):
    """The file is missing or not audio we can read; the message says which."""


def _read_float_wav(path: Path) -> tuple[np.ndarray, int]:
    """WAVE_FORMAT_IEEE_FLOAT (3) or EXTENSIBLE float, which ``wave`` refuses."""
    data = path.read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFileError(f"{path} is not a WAV file.")
    pos, fmt, body = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunk = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", chunk[:16])
        elif cid == b"data":
            body = chunk
        pos += 8 + size + (size & 1)
    if fmt is None or body is None:
        raise AudioFileError(f"{path} is a damaged WAV file (no format or data).")
    tag, channels, rate, _, _, bits = fmt
    if tag not in (3, 0xFFFE) or bits not in (32, 64):
        raise AudioFileError(f"{path}: unsupported WAV encoding (format {tag}, {bits}-bit).")
    samples = np.frombuffer(body[: len(body) - len(body) % (bits // 8)],
                            dtype="<f4" if bits == 32 else "<f8")
    return samples.reshape(-1, channels), rate


def read_audio(path: str | Path) -> bytes:
    """The whole file as 16 kHz mono s16le PCM.

    Raises:
        AudioFileError: missing, unreadable or unsupported file.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"No such file: {path}")
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except wave.Error as exc:
        if "unknown format: 3" in str(exc) or "unknown format: 65534" in str(exc):
            samples, rate = _read_float_wav(path)
            return to_pcm16k(samples, rate)
        raise AudioFileError(f"Can't read {path} as WAV audio ({exc}). "
                             "Convert it to WAV first, e.g. with ffmpeg or sox.") from exc
    except (OSError, EOFError) as exc:
        raise AudioFileError(f"Can't read {path}: {exc}") from exc
    if width == 3:  # 24-bit: widen to int32
        b = np.frombuffer(raw[: len(raw) - len(raw) % 3], dtype=np.uint8).reshape(-1, 3)
        samples = (b[:, 0].astype(np.int32) << 8 | b[:, 1].astype(np.int32) << 16
                   | b[:, 2].astype(np.int32) << 24)
    else:
        dtype = {1: np.uint8, 2: "<i2", 4: "<i4"}.get(width)
        if dtype is None:
            raise AudioFileError(f"{path}: unsupported sample width {width * 8} bits.")
        samples = np.frombuffer(raw[: len(raw) - len(raw) % width], dtype=dtype)
        if width == 2:
            samples = samples.astype(np.int16)
        elif width == 4:
            samples = samples.astype(np.int32)
    if channels > 1:
        samples = samples[: samples.size - samples.size % channels].reshape(-1, channels)
    if rate <= 0:
        raise AudioFileError(f"{path}: invalid sample rate {rate}.")
    return to_pcm16k(samples, rate)
