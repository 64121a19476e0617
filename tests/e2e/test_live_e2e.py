"""Live captioning of the microphone and system audio at once through the real offline
engine: each source's words come out under its own label."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from captioner.config import SessionConfig
from captioner.live import LiveCaptioning
from captioner.providers.local import LocalEngine, LocalProvider
from captioner.stream import State, StreamEvent
from captioner.transcript import Transcript
from tests.e2e.rig_helpers import DATA, REPO, VirtualDevices, as_48k_stereo, play
from tests.lifecycle import Lines

pytestmark = pytest.mark.rig

MIC_WAV = DATA / "librivox-0880.wav"  # "he was not an ill disposed young man"
SYSTEM_WAV = DATA / "cmu-cards-005.wav"  # "eight of spades four of clubs seven of hearts"
MIC_WORDS = {"he", "was", "not", "young", "man"}
SYSTEM_WORDS = {"eight", "spades", "four", "seven", "hearts"}
TAIL_MS = 800  # sink and capture latency, then some silence for the recognizer


NUMBERS = dict(enumerate("zero one two three four five six seven eight nine ten".split()))


def words(text: str) -> set[str]:
    """The words of ``text``, numbers as words ("8 of spades" is "eight of spades")."""
    return {NUMBERS.get(int(w), w) if w.isdigit() else w
            for w in re.findall(r"[a-z]+|\d+", text.lower())}


def test_mic_and_system_audio_are_captioned_under_their_own_labels(
        virtual_devices: VirtualDevices, engine: LocalEngine, tmp_path: Path) -> None:
    cfg = SessionConfig(provider="local")
    transcript = Transcript()
    events: list[StreamEvent] = []
    system_wav = as_48k_stereo(SYSTEM_WAV, tmp_path / "system48k.wav")

    async def scenario() -> LiveCaptioning:
        live = LiveCaptioning(cfg, None, "both", virtual_devices.mic_id, transcript,
                              events.append, system_device=virtual_devices.system_id,
                              provider_factory=lambda: LocalProvider(cfg, engine=engine))
        stop = asyncio.Event()
        run = asyncio.create_task(live.run(stop))
        await asyncio.wait_for(live.started.wait(), 10)
        for capture in live.captures.values():
            await asyncio.wait_for(capture.first_block.wait(), 5)
        await asyncio.gather(play(virtual_devices.mic_sink, MIC_WAV),
                             play(virtual_devices.speakers, system_wav))
        for capture in live.captures.values():
            await asyncio.wait_for(capture.wait_captured_ms(capture.captured_ms + TAIL_MS), 5)
        stop.set()  # what Ctrl-C does: end-of-stream, trailing finals
        await asyncio.wait_for(run, 30)
        return live

    live = asyncio.run(scenario())
    assert {src: s.state for src, s in live.sessions.items()} == {
        "mic": State.STOPPED, "system": State.STOPPED}
    mic = " ".join(s.text for s in transcript.finals if s.source == "mic")
    system = " ".join(s.text for s in transcript.finals if s.source == "system")
    print(f"mic: {mic!r}\nsystem: {system!r}")
    assert len(words(mic) & MIC_WORDS) >= 3, mic
    assert len(words(system) & SYSTEM_WORDS) >= 3, system
    assert not words(mic) & SYSTEM_WORDS and not words(system) & MIC_WORDS
    starts = [s.start_ms for s in transcript.finals]
    assert starts == sorted(starts)  # one transcript, in time order across sources
    assert transcript.gaps == ()


def start_cli(virtual_devices: VirtualDevices, out: Path) -> tuple[subprocess.Popen[str],
                                                                   Lines, Lines]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "captioner", "-v", "transcribe", "--source", "mic",
         "--device", virtual_devices.mic_id, "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        cwd=REPO)
    stdout, stderr = Lines(proc.stdout), Lines(proc.stderr)  # type: ignore[arg-type]
    stderr.wait_for("capturing mic from", 15)
    return proc, stdout, stderr


def test_ctrl_c_ends_the_cli_cleanly_with_the_transcript(virtual_devices: VirtualDevices,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "live.txt"
    proc, stdout, stderr = start_cli(virtual_devices, out)
    try:
        subprocess.run(["paplay", f"--device={virtual_devices.mic_sink}", str(MIC_WAV)],
                       check=True)
        lines = [stdout.wait_for(" ", 20)]  # finals, printed live (the engine commits
        while len(words(" ".join(lines)) & MIC_WORDS) < 3:  # words in runs, not per utterance)
            lines.append(stdout.wait_for(" ", 10))
        caption = " ".join(line.strip() for line in lines)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0, stderr.rest()
    finally:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert "stopping" in stderr.rest()
    assert len(words(caption) & MIC_WORDS) >= 3, caption
    assert all(line.strip() in out.read_text() for line in lines)


def test_a_second_ctrl_c_aborts_at_once(virtual_devices: VirtualDevices,
                                        tmp_path: Path) -> None:
    proc, _stdout, stderr = start_cli(virtual_devices, tmp_path / "live.txt")
    try:
        proc.send_signal(signal.SIGINT)
        stderr.wait_for("Ctrl-C again", 10)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0, stderr.rest()
    finally:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert "aborted" in stderr.rest()
