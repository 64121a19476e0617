"""An outage drill: a timecoded stream through an :class:`OutageProxy` to a vendor fake.

:func:`run_drill` streams scripted continuous speech at real time, takes the
network away for a while in the middle, and :func:`summarize` measures what
came of it: caption lag over time, time back to live, words lost, duplicated
or skipped, gaps. With ``cap_s`` there is no outage: the stream rolls over to a
new vendor session every ``cap_s`` seconds (the fake enforces a cap a little
later), and :func:`summarize_rollover` measures each switch from the fake's
side (how long both sessions heard the audio, or the audio neither heard) and
the lag and words as above. Shared by ``bench/reconnect.py`` and the tests.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from captioner.audio.buffer import AudioBuffer
from captioner.config import SessionConfig
from captioner.providers import make_provider, title
from captioner.stream import (
    Notice,
    State,
    StateChanged,
    StreamEvent,
    TranscriptChanged,
    VendorStream,
)
from captioner.testing.fake_assemblyai import FakeAssemblyAi
from captioner.testing.fake_deepgram import FakeDeepgram
from captioner.testing.fake_revai import FakeRevAi
from captioner.testing.fake_speechmatics import FakeSpeechmatics
from captioner.testing.fakes import FakeServer, Utterance
from captioner.testing.outage import OutageProxy
from captioner.testing.timecode import timecode_pcm
from captioner.transcript import Transcript

FAKES: dict[str, type[FakeServer]] = {"revai": FakeRevAi, "assemblyai": FakeAssemblyAi,
                                      "deepgram": FakeDeepgram,
                                      "speechmatics": FakeSpeechmatics}
KEY = "bench-key"
BLOCK_MS = 100
WORD_MS = 400
WORDS_PER_UTTERANCE = 6
PAUSE_MS = 200
LIVE_MS = 1000
#: the fake's cap is this much later than the stream's rollover point (as the
#: providers roll over 5 minutes before a 3-hour cap)
CAP_MARGIN = 1.5


def script(duration_ms: int) -> list[Utterance]:
    """Continuous speech: 6-word utterances of 2.4 s with 0.2 s pauses."""
    utterances, start, n = [], 100, 0
    while start + WORD_MS * WORDS_PER_UTTERANCE < duration_ms:
        words = " ".join(f"w{n}x{i}" for i in range(WORDS_PER_UTTERANCE))
        end = start + WORD_MS * WORDS_PER_UTTERANCE
        utterances.append(Utterance(words + ".", start, end))
        start, n = end + PAUSE_MS, n + 1
    return utterances


async def run_drill(vendor: str, mode: str, duration_s: float, outage_s: float,
                    cut_s: float | None = None, *, cap_s: float | None = None,
                    overlap: bool = True, fake_options: dict[str, Any] | None = None,
                    speech: list[Utterance] | None = None) -> dict[str, Any]:
    """Stream ``duration_s`` with an outage of ``outage_s`` at ``cut_s`` (default: midway),
    or, with ``cap_s``, no outage but a rollover every ``cap_s`` seconds (``overlap``
    False: the sequential rollover, end then reconnect); ``fake_options`` go to the fake;
    ``speech``: what is said (default: :func:`script`)."""
    duration_ms = int(duration_s * 1000)
    speech = speech or script(duration_ms)
    fake = FAKES[vendor](speech, keys=(KEY,), timecoded=True,
                         max_session_s=cap_s * CAP_MARGIN if cap_s else None,
                         **(fake_options or {}))
    async with fake, OutageProxy(fake.port) as proxy:
        cfg = SessionConfig(provider=vendor, endpoint=proxy.url)
        audio = AudioBuffer()
        transcript = Transcript()
        captioned_ms = [0]
        live_at: list[float] = []
        states: list[str] = []
        notices: list[str] = []
        t0 = time.monotonic()

        def on_event(event: StreamEvent) -> None:
            if isinstance(event, TranscriptChanged) and event.change.segment is not None:
                seg = event.change.segment
                if seg.text.strip():
                    captioned_ms[0] = max(captioned_ms[0], seg.end_ms)
            elif isinstance(event, StateChanged):
                states.append(event.state.value + (" behind" if event.behind_ms else ""))
                if event.state is State.LIVE and not event.behind_ms:
                    live_at.append(time.monotonic() - t0)
            elif isinstance(event, Notice):
                notices.append(event.message)

        stream = VendorStream(lambda: make_provider(cfg), audio, transcript, secret=KEY,
                              listener=on_event, title=title(vendor), live=True, catch_up=mode,
                              max_session_s=cap_s)
        if not overlap:
            stream.overlap_s = 0.0
        cut_s = duration_s / 2 if cut_s is None else cut_s
        samples: list[tuple[float, int]] = []

        async def feed() -> None:
            for pos_ms in range(0, duration_ms, BLOCK_MS):
                wait_s = t0 + pos_ms / 1000 - time.monotonic()
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
                audio.put(timecode_pcm(pos_ms, BLOCK_MS))
            audio.close()

        async def sample() -> None:
            while True:
                now_s = time.monotonic() - t0
                samples.append((now_s, max(0, int(now_s * 1000) - captioned_ms[0])))
                await asyncio.sleep(0.25)

        async def outage() -> None:
            if cap_s:
                return
            await asyncio.sleep(max(0.0, t0 + cut_s - time.monotonic()))
            await proxy.cut()
            await asyncio.sleep(outage_s)
            await proxy.restore()

        tasks = [asyncio.create_task(c) for c in (feed(), sample(), outage())]
        await stream.run()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if cap_s:
        result = summarize_rollover(vendor, stream, fake, transcript, speech, samples, cap_s,
                                    overlap)
        result.update(states=sorted(set(states)), notices=notices,
                      refused_busy=fake.refused_busy)
        return result
    restore_s = cut_s + outage_s
    result = summarize(vendor, mode, stream, transcript, speech, samples, live_at, cut_s,
                       restore_s, duration_s)
    result["violations"] = fake.violations
    return result


def summarize_rollover(vendor: str, stream: VendorStream, fake: FakeServer,
                       transcript: Transcript, speech: list[Utterance],
                       samples: list[tuple[float, int]], cap_s: float,
                       overlap: bool) -> dict[str, Any]:
    """Each switch between vendor sessions as the fake saw it, plus lag and words."""
    heard = [(c.start_ms, c.start_ms + c.audio_ms) for c in fake.connections if c.audio_bytes]
    switches = [{"both_heard_ms": max(0, a[1] - b[0]), "neither_heard_ms": max(0, b[0] - a[1]),
                 "replayed_ms": max(0, a[1] - b[0]) if not overlap else 0}
                for a, b in zip(heard, heard[1:], strict=False)]
    lost, dup, _skipped, finals_lost, finals_dup = count_words(transcript, speech)
    steady = [lag for t, lag in samples if 5.0 < t < cap_s]
    speech_end_s = speech[-1].end_ms / 1000 if speech else 0.0
    during = [lag for t, lag in samples if cap_s <= t < speech_end_s]
    return {
        "vendor": vendor,
        "mode": "rollover-overlap" if overlap else "rollover-sequential",
        "cap_s": cap_s,
        "final_state": stream.state.value,
        "reconnects": stream.reconnects,
        "sessions": len(heard),
        "peak_concurrent_sessions": fake.peak_active,
        "switches": switches,
        "neither_heard_ms_max": max((s["neither_heard_ms"] for s in switches), default=0),
        "lag_p50_ms_before": int(statistics.median(steady)) if steady else None,
        "lag_max_ms_before": max(steady) if steady else None,
        "lag_p50_ms_after_first_rollover": int(statistics.median(during)) if during else None,
        "lag_max_ms_after_first_rollover": max(during) if during else None,
        "words": sum(len(u.words()) for u in speech),
        "words_lost": lost,
        "words_duplicated": dup,
        "finals": len(speech),
        "finals_lost": finals_lost,
        "finals_duplicated": finals_dup,
        "gap_ms": sum(g.end_ms - g.start_ms for g in transcript.gaps),
        "violations": fake.violations,
    }


def count_words(transcript: Transcript, speech: list[Utterance]
                ) -> tuple[int, int, int, int, int]:
    """Script words with no final, more than one, or inside a marked gap; and whole
    utterances with a lost or a duplicated word."""
    heard: dict[int, int] = {}
    for seg in transcript.finals:
        for word in seg.words:
            heard[word.start_ms] = heard.get(word.start_ms, 0) + 1
    skipped_spans = [(g.start_ms, g.end_ms) for g in transcript.gaps]
    lost = dup = skipped = 0
    finals_lost = finals_dup = 0
    for utt in speech:
        utt_lost = utt_dup = False
        for _word, start_ms, _end in utt.words():
            count = sum(n for t, n in heard.items() if abs(t - start_ms) <= 60)
            if any(a <= start_ms < b for a, b in skipped_spans):
                skipped += 1
            elif count == 0:
                lost += 1
                utt_lost = True
            elif count > 1:
                dup += 1
                utt_dup = True
        finals_lost += utt_lost
        finals_dup += utt_dup
    return lost, dup, skipped, finals_lost, finals_dup


def summarize(vendor: str, mode: str, stream: VendorStream, transcript: Transcript,
              speech: list[Utterance], samples: list[tuple[float, int]], live_at: list[float],
              cut_s: float, restore_s: float, duration_s: float) -> dict[str, Any]:
    lost, dup, skipped, finals_lost, finals_dup = count_words(transcript, speech)
    live_again = next((t for t in live_at if t > restore_s), None)
    steady = [lag for t, lag in samples if 5.0 < t < cut_s]
    back_s = None
    speech_end_s = speech[-1].end_ms / 1000 if speech else duration_s
    after = [(t, lag) for t, lag in samples if live_again is not None and t >= live_again
             and t < speech_end_s]
    for i, (t, _lag) in enumerate(after):
        if all(lag <= LIVE_MS for _, lag in after[i:]):
            back_s = t
            break
    timeline = [lag for t, lag in samples if t >= cut_s and abs((t - cut_s) % 1.0) < 0.125]
    return {
        "vendor": vendor,
        "mode": mode,
        "final_state": stream.state.value,
        "reconnects": stream.reconnects,
        "lag_p50_ms_before": int(statistics.median(steady)) if steady else None,
        "lag_max_ms_before": max(steady) if steady else None,
        "lag_max_ms_after_back": max((lag for t, lag in after if back_s and t >= back_s),
                                     default=None),
        "lag_timeline_ms_from_cut": timeline[:40],
        "reconnected_after_s": round(live_again - restore_s, 2) if live_again else None,
        "back_to_live_s": round(back_s - live_again, 2) if back_s and live_again else None,
        "back_to_live_from_restore_s": round(back_s - restore_s, 2) if back_s else None,
        "words": sum(len(u.words()) for u in speech),
        "words_lost": lost,
        "words_duplicated": dup,
        "words_skipped": skipped,
        "finals": len(speech),
        "finals_lost": finals_lost,
        "finals_duplicated": finals_dup,
        "gap_ms": sum(g.end_ms - g.start_ms for g in transcript.gaps),
        "gaps": [{"start_ms": g.start_ms, "end_ms": g.end_ms, "reason": g.reason}
                 for g in transcript.gaps],
    }
