"""The default provider end to end: a real ``captioner serve`` child, restarted when it dies."""

from __future__ import annotations

import asyncio

import numpy as np

from captioner.audio.wavfile import read_audio
from captioner.config import SessionConfig
from captioner.providers.local import LocalEngine, LocalOptions, LocalProvider
from captioner.stream import State, TranscriptChanged
from captioner.transcribe import transcribe_pcm
from captioner.transcript import Transcript
from tests.conftest import DATA

SILENCE_1S = bytes(32000)


def speech_with_pauses(*names: str) -> bytes:
    return SILENCE_1S.join(read_audio(DATA / name) for name in names) + SILENCE_1S


def test_engine_crash_mid_session_restarts_and_keeps_every_final():
    engine = LocalEngine()
    # sent faster than real time, as a file is: the engine's accuracy-first operating point
    cfg = SessionConfig(options=LocalOptions(operating_point="enhanced"))
    transcript = Transcript()
    finals_before_kill: list[str] = []
    events = []

    def listener(event):
        events.append(event)
        change = getattr(event, "change", None)
        if isinstance(event, TranscriptChanged) and change.segment and change.segment.is_final:
            if not finals_before_kill:
                finals_before_kill.append(change.segment.text)
                engine.kill()  # the child dies while audio is still flowing

    pcm = speech_with_pauses("librivox-0880.wav", "librivox-0930.wav", "librivox-0890.wav")

    async def run():
        import captioner.transcribe as tr

        original = tr.make_provider
        tr.make_provider = lambda c: LocalProvider(c, engine=engine)
        try:
            return await asyncio.wait_for(
                transcribe_pcm(cfg, None, pcm, False, transcript, listener), 240)
        finally:
            tr.make_provider = original

    try:
        session = asyncio.run(run())
    finally:
        engine.stop()
    assert session.state is State.STOPPED
    assert engine.starts == 2 and session.reconnects >= 1
    finals = transcript.finals
    assert finals[0].text == finals_before_kill[0]  # what was shown is kept
    text = " ".join(s.text for s in finals).lower()
    for word in ("disposed", "amiable", "selfish"):  # from before, across and after the crash
        assert word in text, text
    starts = [s.start_ms for s in finals]
    assert starts == sorted(starts)
    assert finals[-1].end_ms <= len(pcm) // 32 + 100  # times continue, not restart at 0
    assert np.all(np.diff([s.end_ms for s in finals]) > 0)
    assert any(getattr(e, "state", None) is State.RECONNECTING for e in events)
