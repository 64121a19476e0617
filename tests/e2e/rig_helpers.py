"""Helpers for end-to-end tests on the headless rig: private PulseAudio devices, playing
WAVs, comparing captured audio with them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from captioner.audio.buffer import AudioBuffer

REPO = Path(__file__).parent.parent.parent
DATA = REPO / "tests" / "data"


def pactl(*args: str) -> str:
    proc = subprocess.run(["pactl", *args], capture_output=True, text=True, check=False,
                          env=dict(os.environ, LC_ALL="C"))
    if proc.returncode != 0:
        raise RuntimeError(f"pactl {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


@dataclass
class VirtualDevices:
    """This session's own virtual microphone and speakers on the rig's PulseAudio."""

    prefix: str
    modules: list[str] = field(default_factory=list)
    mic_module: str | None = None

    @property
    def mic_sink(self) -> str:
        return f"{self.prefix}_micsink"

    @property
    def mic_source(self) -> str:
        return f"{self.prefix}_mic"

    @property
    def mic_name(self) -> str:
        return f"TestMic{self.prefix}"

    @property
    def mic_id(self) -> str:
        return f"pulse:{self.mic_source}"

    @property
    def speakers(self) -> str:
        return f"{self.prefix}_speakers"

    @property
    def system_id(self) -> str:
        return f"pulse:{self.speakers}.monitor"

    def _load(self, *args: str) -> str:
        module = pactl("load-module", *args)
        self.modules.append(module)
        return module

    def _rendering_sink(self, name: str, spec: str) -> None:
        self._load("module-null-sink", f"sink_name={name}", *spec.split(),
                   f"sink_properties=device.description={name}")
        # as in ci/virtmic.pa: a silent loopback keeps it rendering in small blocks,
        # and a suspend/resume drops the 2 s block rendered before it existed
        self._load("module-loopback", "source=silence", f"sink={name}", "latency_msec=20",
                   "source_dont_move=true", "sink_dont_move=true")
        pactl("suspend-sink", name, "1")
        pactl("suspend-sink", name, "0")

    @staticmethod
    def remove_stale() -> None:
        """Unload devices left by test sessions that died before their cleanup."""
        for line in pactl("list", "short", "modules").splitlines():
            match = re.search(r"captest(\d+)_", line)
            if match and not os.path.exists(f"/proc/{match.group(1)}"):
                subprocess.run(["pactl", "unload-module", line.split()[0]], capture_output=True,
                               check=False)

    def create(self) -> None:
        self.remove_stale()
        self._rendering_sink(self.mic_sink, "rate=16000 channels=1 format=s16le")
        self.plug_mic()
        self._rendering_sink(self.speakers, "rate=48000 channels=2")

    def plug_mic(self) -> None:
        """The module behind the microphone, loaded the way ci/virtmic.pa loads virtmic."""
        self.mic_module = self._load(
            "module-remap-source", f"master={self.mic_sink}.monitor",
            f"source_name={self.mic_source}",
            f"source_properties=device.description={self.mic_name}")

    def unplug_mic(self) -> None:
        assert self.mic_module is not None
        pactl("unload-module", self.mic_module)
        self.modules.remove(self.mic_module)
        self.mic_module = None

    def destroy(self) -> None:
        for module in reversed(self.modules):
            subprocess.run(["pactl", "unload-module", module], capture_output=True, check=False)
        self.modules.clear()


def stop_app(proc: subprocess.Popen) -> int | None:
    """End an app the test launched as the desktop does (SIGTERM), killing it if it hangs.

    Returns its exit code, or None when it had to be killed."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        return None


def journal_finals(data_dir: Path) -> list[dict]:
    """The final records of every session journal under ``data_dir``, skipping torn lines."""
    out = []
    for path in (data_dir / "sessions").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("type") == "final":
                out.append(record)
    return out


async def play(sink: str, wav: Path) -> None:
    """Play ``wav`` into ``sink`` and wait until paplay has finished."""
    proc = await asyncio.create_subprocess_exec("paplay", f"--device={sink}", str(wav))
    assert await asyncio.wait_for(proc.wait(), 30) == 0


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)


def best_ncc(got: np.ndarray, ref: np.ndarray, upsample: int = 1) -> tuple[float, int]:
    """Normalized cross-correlation at the best lag, over the overlapping part.

    With ``upsample`` both are compared at that many times the rate, so a capture
    that started between two 16 kHz samples (48 kHz audio decimated 3:1 starts at
    one of 3 phases) is aligned exactly; the lag is then in upsampled samples.
    """
    if upsample > 1:
        import soxr

        got = soxr.resample(got, 16_000, 16_000 * upsample, quality="VHQ")
        ref = soxr.resample(ref, 16_000, 16_000 * upsample, quality="VHQ")
    n = len(got) + len(ref)
    xc = np.fft.irfft(np.fft.rfft(got, n) * np.conj(np.fft.rfft(ref, n)), n)
    k = int(np.argmax(np.abs(xc)))
    lag = k if k < len(got) else k - n
    a, b = (got[lag:], ref) if lag >= 0 else (got, ref[-lag:])
    m = min(len(a), len(b))
    a, b = a[:m], b[:m]
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9)), lag


async def drain(buffer: AudioBuffer, into: list[bytes]) -> None:
    """Consume ``buffer`` until it is closed (what a session's sender does)."""
    while (block := await buffer.get()) is not None:
        into.append(block)


def as_48k_stereo(wav: Path, out: Path) -> Path:
    """``wav`` (16 kHz mono) as 48 kHz stereo, so PulseAudio plays it into a 48 kHz sink
    without resampling it (its own resampler would blur what capture is judged on)."""
    import soxr

    mono = soxr.resample(read_wav(wav) / 32768.0, 16_000, 48_000, quality="VHQ")
    stereo = np.repeat(np.round(np.clip(mono, -1, 1) * 32767).astype("<i2")[:, None], 2, axis=1)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(48_000)
        w.writeframes(stereo.tobytes())
    return out
