"""Continuous speech into the rig's virtual microphone through the real offline engine:
words become final while the speaker goes on, and partials stay short (<= 20 words); in the
real app's overlay (the rig's X display), the small finals read as whole caption lines, the
partial continues its line, and partials never take more than their share of the rows.

Screenshot: ``test-artifacts/continuous-speech.png``.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import shutil
import signal
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from captioner.config import SessionConfig
from captioner.live import LiveCaptioning
from captioner.providers.local import LocalEngine, LocalProvider
from captioner.stream import StreamEvent, TranscriptChanged
from captioner.transcript import Transcript
from captioner.transcript import cues as cuelib
from captioner.transcript.cues import word_ends
from captioner.transcript.lines import PAUSE_MS, SOFT_LINE_CHARS
from tests.e2e.overlay_probe import paints_of, probed_app
from tests.e2e.rig_helpers import DATA, VirtualDevices, journal_finals, play
from tests.e2e.test_app_screenshot import ARTIFACTS, geometry, recording_from, window_ids
from tests.integration.test_streaming import LIBRIVOX, _cut_pauses, _pcm
from tests.lifecycle import wait_for

pytestmark = pytest.mark.rig

MAX_PARTIAL_WORDS = 20
TAIL_MS = 1500


def _continuous_wav(path: Path) -> tuple[Path, int]:
    speech = np.concatenate([_cut_pauses(_pcm(name)) for name in LIBRIVOX])
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(speech.tobytes())
    return path, len(speech) // 16


def test_continuous_speech_gives_finals_while_speaking_and_short_partials(
        virtual_devices: VirtualDevices, engine: LocalEngine, tmp_path: Path) -> None:
    assert DATA.is_dir()
    cfg = SessionConfig(provider="local")
    transcript = Transcript()
    events: list[StreamEvent] = []
    wav, speech_ms = _continuous_wav(tmp_path / "continuous.wav")
    finals_while_speaking: list[str] = []

    async def scenario() -> None:
        live = LiveCaptioning(cfg, None, "mic", virtual_devices.mic_id, transcript,
                              events.append,
                              provider_factory=lambda: LocalProvider(cfg, engine=engine))
        stop = asyncio.Event()
        run = asyncio.create_task(live.run(stop))
        await asyncio.wait_for(live.started.wait(), 10)
        capture = live.captures["mic"]
        await asyncio.wait_for(capture.first_block.wait(), 5)
        await play(virtual_devices.mic_sink, wav)
        finals_while_speaking.extend(s.text for s in transcript.finals)
        await asyncio.wait_for(capture.wait_captured_ms(capture.captured_ms + TAIL_MS), 5)
        stop.set()
        await asyncio.wait_for(run, 30)

    asyncio.run(scenario())
    partials = [e.change.segment for e in events if isinstance(e, TranscriptChanged)
                and e.change.segment is not None and not e.change.segment.is_final]
    longest = max((len(p.text.split()) for p in partials), default=0)
    print(f"{len(partials)} partials, longest {longest} words; "
          f"{len(finals_while_speaking)} finals before the speech ended of {speech_ms} ms")
    assert partials and longest <= MAX_PARTIAL_WORDS
    # the engine commits words while the speaker goes on (the old engine: one final at the end)
    assert len(finals_while_speaking) >= 5
    text = " ".join(s.text for s in transcript.finals).lower()
    for word in ("dashwood", "selfish", "respectable", "amiable"):
        assert word in text, text


# -- the real app's overlay -------------------------------------------------------------


@pytest.fixture
def probed(tmp_path: Path, virtual_devices: VirtualDevices,
           python: str) -> Iterator[tuple[subprocess.Popen, Path, Path]]:
    """The app (``gui --start``, offline engine, our virtual microphone) writing each
    overlay paint to ``paints.jsonl``."""
    assert shutil.which("import"), "ImageMagick's import is missing (ci/system-packages)"
    with probed_app(tmp_path, python, "[session]\nprovider=local\nsource=mic\n"
                    f"mic_device={virtual_devices.mic_id}\n"
                    "[overlay]\ndock=bottom\nlines=5\nfont_pt=24\n") as app:
        yield app


def _ended(line: list, below: list) -> bool:
    """Whether caption line ``line`` (label, source, start, end, text) may be followed by
    a new line of the same speaker ``below``: it ends a sentence, it is long enough to
    end at a clause, or a pause came between them."""
    text = line[4]
    return (word_ends(text.split()[-1]) or len(text) >= SOFT_LINE_CHARS
            or below[2] - line[3] > PAUSE_MS)


def test_overlay_shows_whole_lines_and_keeps_partials_to_their_share(
        probed: tuple[subprocess.Popen, Path, Path], virtual_devices: VirtualDevices,
        tmp_path: Path, python: str) -> None:
    app, paints_path, data_dir = probed
    wav, speech_ms = _continuous_wav(tmp_path / "continuous.wav")
    overlay = wait_for("the caption overlay window",
                       lambda: window_ids(app.pid, "^Captions$"), 30)[0]  # type: ignore[index]
    wait_for("the app to record from the virtual microphone",
             lambda: recording_from(virtual_devices.mic_source), 30)
    player = subprocess.Popen(["paplay", f"--device={virtual_devices.mic_sink}", str(wav)])
    try:
        # a screenshot while a partial continues a line of finals on screen
        wait_for("a partial drawn on a line under a finished one",
                 lambda: any(any(ln[2] and ln[3] for ln in p["lines"])
                             and len({ln[0] for ln in p["lines"] if ln[2]}) >= 2
                             for p in paints_of(paints_path)[-3:]),
                 speech_ms / 1000 + 30, 0.05)
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "continuous-speech.png"
        subprocess.run(["import", "-window", "root", str(shot)], check=True, timeout=30)
        assert player.wait(speech_ms / 1000 + 60) == 0
    finally:
        if player.poll() is None:
            player.kill()
            player.wait(5)
    wait_for("the last words in the journal",
             lambda: "amiable" in " ".join(f["text"] for f in journal_finals(data_dir)).lower(),
             30, 0.2)
    assert app.poll() is None, (tmp_path / "app.out").read_text()
    x, y, w, h = geometry(overlay)
    app.send_signal(signal.SIGTERM)
    assert app.wait(30) == 0

    paints = paints_of(paints_path)
    finals = journal_finals(data_dir)
    assert paints and finals
    shown: dict[str, list] = {}
    longest_partial_rows = 0
    for paint in paints:
        lines = paint["lines"]
        assert len(lines) <= paint["rows"]
        own = [ln for ln in lines if not ln[2]]  # rows with only partial words on them
        longest_partial_rows = max(longest_partial_rows, len(own))
        assert len(own) <= paint["share"], paint
        keys = [ln[0] for ln in lines if ln[2]]
        for above, below in zip(keys, keys[1:], strict=False):
            a, b = paint["entries"][above], paint["entries"][below]
            if above != below and (a[0], a[1]) == (b[0], b[1]):
                assert _ended(a, b), f"{a[4]!r} is continued on the next line by {b[4]!r}"
        shown.update({k: e for k, e in paint["entries"].items() if not k.startswith("partial")})
    texts = [e[4] for e in shown.values()]
    print(f"{len(finals)} finals shown as {len(shown)} lines; partials took at most "
          f"{longest_partial_rows} of {paints[-1]['rows']} rows; overlay {w}x{h} at {x},{y}")
    for text in texts[-6:]:
        print(f"  line: {text}")
    # the engine's small finals were joined: far fewer lines than finals (and each line
    # above another of the same speaker ended as the rule says, checked on every paint)
    assert len(shown) <= len(finals) / 2, texts

    # the session's captions exported as the user would: cues cut from lines, not finals
    session = next((data_dir / "sessions").glob("*.jsonl")).stem
    env = dict(os.environ, CAPTIONER_DATA_DIR=str(data_dir))
    cues = []
    for fmt in ("srt", "vtt"):
        out = subprocess.run([python, "-m", "captioner", "export", session, "--format", fmt],
                             capture_output=True, text=True, env=env, timeout=60, check=True)
        cues.append(re.findall(r"^(\S+) --> (\S+)\n((?:.+\n?)+)", out.stdout, re.M))
    srt, vtt = cues
    assert [(a.replace(",", "."), b.replace(",", ".")) for a, b, _ in srt] == \
        [(a, b) for a, b, _ in vtt]  # one cue list
    spoken = [f["text"] for f in sorted(finals, key=lambda f: f["start_ms"])]
    exported = re.findall(r"[\w'-]+", " ".join(t for _, _, t in srt))
    assert exported == re.findall(r"[\w'-]+", " ".join(spoken)), "\n".join(
        difflib.unified_diff(re.findall(r"[\w'-]+", " ".join(spoken)), exported, lineterm=""))
    assert len(srt) < len(finals)
    for start, end, text in srt:
        assert _clock_ms(end) - _clock_ms(start) >= cuelib.MIN_CUE_MS, (start, end, text)
        assert all(len(line) <= cuelib.MAX_LINE_CHARS for line in text.splitlines()), text
        assert len(text.split()) >= cuelib.MIN_CUE_WORDS, text
    print(f"exported: {len(srt)} cues from {len(finals)} finals")


def _clock_ms(clock: str) -> int:
    h, m, s = clock.replace(",", ".").split(":")
    return round((int(h) * 3600 + int(m) * 60 + float(s)) * 1000)
