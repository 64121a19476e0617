"""Bad input to the command line gets exit 1 and one line, with bounded memory.

Each WAV here was found by an adversarial pass to crash, hang, exit 0 silently
or (1 Hz) make the resampler allocate ~24 GB; they are generated, not committed.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO

MAX_RSS_KB = 500 * 1024


WRAPPER = """
import os, resource, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = p.stderr.read()
_, status, usage = os.wait4(p.pid, 0)
sys.stderr.buffer.write(err)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def captioner_measured(*args: str, env: dict[str, str] | None = None,
                       timeout_s: float = 60) -> tuple[int, str, int]:
    """(exit code, stderr, peak RSS in KiB) of ``captioner ARGS``."""
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, sys.executable, "-m", "captioner", *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})})
    return result.returncode, result.stderr, int(result.stdout.strip())


def header(tag: int, channels: int, rate: int, bits: int, data_bytes: int) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block & 0xFFFFFFFF, block, bits)
    return (b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + data_bytes) + b"WAVE"
            + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", data_bytes))


def pcm_wav(path: Path, rate: int, seconds: float) -> Path:
    frames = int(rate * seconds)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.sin(np.arange(frames) / 7) * 8000).astype("<i2").tobytes())
    return path


def one_hz(p: Path) -> Path:  # 227 KB at 1 Hz: 24 GB if resampled naively
    body = np.zeros(113_500, "<i2").tobytes()
    p.write_bytes(header(1, 1, 1, 16, len(body)) + body)
    return p


def float_zero_channels(p: Path) -> Path:
    p.write_bytes(header(3, 0, 16000, 32, 4000) + bytes(4000))
    return p


def float_rate_zero(p: Path) -> Path:
    p.write_bytes(header(3, 1, 0, 32, 4000) + bytes(4000))
    return p


def zero_frames(p: Path) -> Path:
    return pcm_wav(p, 16000, 0)


def tenth_of_a_second(p: Path) -> Path:
    return pcm_wav(p, 16000, 0.1)


def rate_4e9(p: Path) -> Path:
    p.write_bytes(header(1, 1, 4_000_000_000, 16, 32000) + bytes(32000))
    return p


def empty(p: Path) -> Path:
    p.write_bytes(b"")
    return p


def truncated(p: Path) -> Path:
    p.write_bytes(pcm_wav(p.with_suffix(".full.wav"), 16000, 1).read_bytes()[:30])
    return p


def directory(p: Path) -> Path:
    p.mkdir()
    return p


def fifo(p: Path) -> Path:
    os.mkfifo(p)
    return p


BAD_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "1 Hz": (one_hz, "sample rate is 1 Hz"),
    "float, 0 channels": (float_zero_channels, "0 channels"),
    "float, rate 0": (float_rate_zero, "sample rate is 0 Hz"),
    "0 frames": (zero_frames, "too short"),
    "0.1 s": (tenth_of_a_second, "too short"),
    "rate 4e9": (rate_4e9, "4000000000 Hz"),
    "empty": (empty, "empty"),
    "truncated header": (truncated, "cut short"),
    "a directory": (directory, "is a folder"),
    "a FIFO": (fifo, "not a regular file"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_wav_is_exit_1_with_one_line_and_bounded_memory(case: str, tmp_path: Path) -> None:
    make, expected = BAD_FILES[case]
    path = make(tmp_path / "bad.wav")
    code, stderr, rss_kb = captioner_measured(
        "transcribe", str(path), env={"CAPTIONER_DATA_DIR": str(tmp_path / "data")})
    lines = stderr.strip().splitlines()
    assert code == 1 and len(lines) == 1, stderr
    assert lines[0].startswith("captioner: error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in stderr
    assert rss_kb < MAX_RSS_KB, f"peak RSS {rss_kb // 1024} MB"
    assert not (tmp_path / "data" / "sessions").exists()  # no journal for a file never read


def test_a_wav_cut_short_in_its_data_is_captioned_as_far_as_it_goes(tmp_path: Path) -> None:
    """A recorder that died leaves a header claiming more data than the file has."""
    full = pcm_wav(tmp_path / "full.wav", 16000, 2).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full[: len(full) // 2])
    from captioner.audio.wavfile import read_audio, read_header

    info = read_header(cut)
    assert info.declared_frames == 32000 and info.frames == (len(full) // 2 - 44) // 2
    assert abs(len(read_audio(cut)) - info.frames * 2) <= 64


@pytest.mark.parametrize("rate_hz, channels", [(4000, 1), (384_000, 2), (44100, 32)])
def test_extreme_but_valid_rates_and_channels_convert_in_bounded_blocks(
        rate_hz: int, channels: int, tmp_path: Path) -> None:
    frames = rate_hz  # one second
    path = tmp_path / "x.wav"
    samples = np.tile((np.sin(np.arange(frames) / 5) * 8000).astype("<i2")[:, None],
                      (1, channels))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(samples.tobytes())
    from captioner.audio.wavfile import read_audio

    assert abs(len(read_audio(path)) - 32000) <= 64  # one second at 16 kHz s16le
