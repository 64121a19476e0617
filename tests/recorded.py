"""Test helpers: a saved session with a recording, as the app leaves one (journal + FLAC files),
and an offline engine to improve it with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from captioner.audio.recorder import Recorder
from captioner.audio.wavfile import read_audio
from captioner.transcript import Segment
from captioner.transcript.journal import Journal

BLOCK_BYTES = 50 * 32  # the capture path's 50 ms blocks


def recorded_session(folder: Path, stretches: list[tuple[str, Path, int]],
                     live: list[Segment], *, close: bool = True) -> Journal:
    """A session in ``folder`` whose ``(source, wav, start_ms)`` stretches were recorded.

    ``live`` are the finals its live captions had.
    """
    sources = sorted({source for source, _wav, _start in stretches})
    journal = Journal.create(folder, {"provider": "local", "language": "en",
                                      "sources": sources})
    for seg in live:
        journal.append_final(seg)
    recorder = Recorder(journal.dir, journal.id)
    for source, wav, start_ms in stretches:
        pcm = read_audio(str(wav))
        tap = recorder.tap(source, start_ms)
        for pos in range(0, len(pcm), BLOCK_BYTES):
            tap.put(pcm[pos:pos + BLOCK_BYTES])
        tap.finish()
    recorder.close()
    if close:
        journal.close()
    return journal


@pytest.fixture(scope="module")
def engine_url() -> Iterator[str]:
    """A real offline engine child (``captioner serve``) for a test module."""
    from captioner.providers.local import LocalEngine

    engine = LocalEngine()
    try:
        yield engine.ensure_running()
    finally:
        engine.stop()
