"""Reading audio files for ``captioner transcribe``: WAV (PCM 8/16/24/32-bit, float 32/64) of
any rate and channel count, converted to 16 kHz mono s16le.

The header is checked before anything is allocated (a regular file, a RIFF/WAVE
header, 4-384 kHz, 1-32 channels, a data chunk inside the file), and the audio
is read and resampled in blocks, so memory stays bounded whatever the file
says. Every problem is an :class:`AudioFileError` whose message is one line
saying what is wrong.
"""

from __future__ import annotations

import logging
import os
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from captioner.audio.resample import StreamConverter
from captioner.errors import UserFacingError

log = logging.getLogger(__name__)

MIN_RATE_HZ = 4_000
MAX_RATE_HZ = 384_000
MAX_CHANNELS = 32
MIN_AUDIO_MS = 200  # shorter than this holds no word
BLOCK_FRAMES = 32_768  # read and resample this many frames at a time
_FORMATS = {(1, 8): "u1", (1, 16): "<i2", (1, 24): "i24", (1, 32): "<i4",
            (3, 32): "<f4", (3, 64): "<f8"}
_CONVERT = "Convert it to 16-bit WAV first, e.g. with ffmpeg or sox."


class AudioFileError(UserFacingError):
    """The file is missing or not audio we can read; the message says which."""


@dataclass(frozen=True)
class WavInfo:
    """What a WAV header says, checked against the file.

    Attributes:
        rate_hz, channels: as declared (validated).
        dtype: the numpy sample type ("i24" for packed 24-bit).
        frame_bytes: bytes per frame (all channels).
        data_offset: where the samples start.
        frames: whole frames present in the file.
        declared_frames: frames the header claims (more if the file was cut short).
    """

    rate_hz: int
    channels: int
    dtype: str
    frame_bytes: int
    data_offset: int
    frames: int
    declared_frames: int


def _check_path(path: Path) -> int:
    """The file's size; refuses what is missing or not a regular file (without opening it)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise AudioFileError(f"No such file: {path}") from None
    except OSError as exc:
        raise AudioFileError(f"Can't read {path}: {exc.strerror or exc}.") from exc
    if stat.S_ISDIR(st.st_mode):
        raise AudioFileError(f"{path} is a folder, not an audio file.")
    if not stat.S_ISREG(st.st_mode):
        raise AudioFileError(f"{path} is not a regular file (a pipe or device); "
                             "save the audio to a WAV file first.")
    if st.st_size == 0:
        raise AudioFileError(f"{path} is empty (0 bytes).")
    return st.st_size


def _fmt_chunk(path: Path, body: bytes) -> tuple[int, int, int, int, int]:
    if len(body) < 16:
        raise AudioFileError(f"{path} is a damaged WAV file (its format chunk is too short).")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
        tag = struct.unpack("<H", body[24:26])[0]
    return tag, channels, rate, block_align, bits


def read_header(path: str | Path) -> WavInfo:
    """Parse and check a WAV header without reading the samples.

    Raises:
        AudioFileError: not a regular file, not WAV, or values no recording has.
    """
    path = Path(path)
    size = _check_path(path)
    with open(path, "rb") as f:
        riff = f.read(12)
        if len(riff) < 12:
            raise AudioFileError(f"{path} is cut short: only {len(riff)} bytes, less than a "
                                 "WAV header.")
        if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            raise AudioFileError(f"Can't read {path} as WAV audio (it is another format). "
                                 + _CONVERT)
        fmt: tuple[int, int, int, int, int] | None = None
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            cid, chunk_bytes = struct.unpack("<4sI", f.read(8))
            if cid == b"fmt ":
                if chunk_bytes > 1024:
                    raise AudioFileError(f"{path} is a damaged WAV file (format chunk of "
                                         f"{chunk_bytes} bytes).")
                body = f.read(chunk_bytes)
                if len(body) < min(chunk_bytes, 16):
                    raise AudioFileError(f"{path} is cut short: its WAV header is incomplete.")
                fmt = _fmt_chunk(path, body)
            elif cid == b"data":
                if fmt is None:
                    raise AudioFileError(f"{path} is a damaged WAV file (audio before its "
                                         "format).")
                return _info(path, fmt, pos + 8, chunk_bytes, size)
            pos += 8 + chunk_bytes + (chunk_bytes & 1)
    what = "format or audio" if fmt is None else "audio"
    raise AudioFileError(f"{path} is cut short or damaged: it has no {what} chunk.")


def _info(path: Path, fmt: tuple[int, int, int, int, int], offset: int, data_bytes: int,
          size: int) -> WavInfo:
    tag, channels, rate, block_align, bits = fmt
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise AudioFileError(f"{path} says its sample rate is {rate} Hz; a recording has "
                             f"{MIN_RATE_HZ // 1000}-{MAX_RATE_HZ // 1000} kHz. The header is "
                             "damaged.")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioFileError(f"{path} says it has {channels} channels; a recording has "
                             f"1-{MAX_CHANNELS}. The header is damaged.")
    dtype = _FORMATS.get((tag, bits))
    if dtype is None:
        kind = {1: "PCM", 3: "float"}.get(tag, f"format {tag}")
        raise AudioFileError(f"{path}: unsupported WAV encoding ({kind}, {bits}-bit). "
                             + _CONVERT)
    frame_bytes = channels * bits // 8
    if block_align not in (0, frame_bytes):
        raise AudioFileError(f"{path} is a damaged WAV file (block size {block_align} does "
                             f"not match {channels} channels of {bits} bits).")
    present = max(0, min(data_bytes, size - offset))
    return WavInfo(rate, channels, dtype, frame_bytes, offset, present // frame_bytes,
                   data_bytes // frame_bytes)


def _samples(raw: bytes, info: WavInfo) -> np.ndarray:
    if info.dtype == "i24":  # packed 24-bit: widen to int32
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        data = (b[:, 0].astype(np.int32) << 8 | b[:, 1].astype(np.int32) << 16
                | b[:, 2].astype(np.int32) << 24)
    else:
        data = np.frombuffer(raw, dtype=info.dtype)
    if data.dtype == np.float64:
        data = data.astype(np.float32)
    return data.reshape(-1, info.channels)


def _blocks(f: BinaryIO, info: WavInfo) -> Iterator[np.ndarray]:
    f.seek(info.data_offset)
    left = info.frames
    while left > 0:
        frames = min(BLOCK_FRAMES, left)
        raw = f.read(frames * info.frame_bytes)
        whole = len(raw) - len(raw) % info.frame_bytes
        if not whole:
            return
        left -= whole // info.frame_bytes
        yield _samples(raw[:whole], info)


def read_audio(path: str | Path) -> bytes:
    """The whole file as 16 kHz mono s16le PCM, read and resampled block by block.

    Raises:
        AudioFileError: missing, not a regular file, damaged, unsupported or too short.
    """
    path = Path(path)
    info = read_header(path)
    if info.frames * 1000 < MIN_AUDIO_MS * info.rate_hz:
        seconds = info.frames / info.rate_hz
        raise AudioFileError(f"{path} holds {seconds:.2f} s of audio: too short to caption"
                             + (" (it is cut short)." if info.declared_frames > info.frames
                                else "."))
    if info.declared_frames > info.frames:
        log.warning("%s is shorter than its header says; captioning the %.1f s present",
                    path, info.frames / info.rate_hz)
    converter = StreamConverter(info.rate_hz, info.channels)
    out = bytearray()
    try:
        with open(path, "rb") as f:
            for block in _blocks(f, info):
                out += converter.convert_samples(block)
    except OSError as exc:
        raise AudioFileError(f"Can't read {path}: {exc.strerror or exc}.") from exc
    out += converter.convert_samples(np.zeros((0, info.channels), np.float32), last=True)
    return bytes(out)
