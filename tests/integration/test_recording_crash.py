"""A recording process killed with SIGKILL leaves a FLAC file playable up to its last frame.

The child records a speech WAV (looped) through the same tap the app uses and
prints ``ready <ms>`` once that much audio has reached the encoder, then keeps
its file open; the test kills it there (no sleeps) and decodes what is on disk
with libsndfile and with sox.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from captioner.audio import recorder as rec
from captioner.audio.wavfile import read_audio
from captioner.config import BYTES_PER_MS
from captioner.transcript import codec

REPO = Path(__file__).resolve().parents[2]
# libFLAC encodes a 4096-sample frame only once the next sample has arrived, so up
# to two frames (512 ms) may still sit in the encoder
PENDING_MS = 2 * 4096 * 1000 // 16_000

CHILD = r"""
import sys
from captioner.audio.recorder import Recorder
from captioner.audio.wavfile import read_audio

pcm = read_audio(sys.argv[2]) * 3
target_ms = int(sys.argv[3])
recorder = Recorder(sys.argv[1], "crash")
tap = recorder.tap("mic", 0)
block = 50 * 32
for pos in range(0, target_ms * 32, block):
    tap.put(pcm[pos:pos + block])
assert recorder.wait_written("mic", target_ms, 30)
print("ready", int(recorder.written_ms["mic"]), flush=True)
sys.stdin.read()  # the file stays open until we are killed
"""


@pytest.mark.parametrize("target_ms", [900, 12_000])
def test_sigkilled_recording_decodes_to_its_last_frame(tmp_path: Path, data_dir: Path,
                                                       target_ms: int) -> None:
    wav = data_dir / "librivox-0870.wav"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), str(wav), str(target_ms)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        assert line and line[0] == "ready", line
        written_ms = int(line[1])
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        child.kill()
        child.wait()
        if child.stdin is not None:
            child.stdin.close()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    [(_source, _start, path)] = codec.audio_parts(tmp_path, "crash")
    assert rec.needs_repair(path)  # the header was never completed
    pcm = rec.read_pcm(path)
    expected = read_audio(str(wav)) * 3
    assert written_ms - PENDING_MS <= len(pcm) // BYTES_PER_MS <= written_ms
    assert expected.startswith(pcm)  # lossless up to the last frame

    # sox (libFLAC) plays it too
    raw = subprocess.run(["sox", str(path), "-t", "raw", "-e", "signed", "-b", "16", "-"],
                         capture_output=True, check=True).stdout
    assert raw == pcm

    assert rec.repair(path)
    soxi = subprocess.run(["soxi", "-s", str(path)], capture_output=True, text=True, check=True)
    assert int(soxi.stdout) == len(pcm) // 2
    assert rec.read_pcm(path) == pcm
