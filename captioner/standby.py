"""Hot standby: the offline engine captions a cloud stream's audio while the cloud reconnects.

When a cloud :class:`~captioner.stream.VendorStream` loses its connection it
starts a :class:`Standby`: a second stream on the offline engine that gets the
cloud's unconfirmed audio first, then the live audio as it arrives, and writes
its captions into the same transcript (same source). Each standby final confirms
its audio for the cloud stream too (``on_final_end``), so when the cloud is back
and the standby has been ended with end-of-stream, the cloud replays exactly
from the end of the standby's last final: nothing said twice, nothing lost.
Words a trailing final claims beyond the audio the standby was given are dropped
(the cloud hears that audio), so the boundary never runs past what was fed.

:func:`prewarm` readies the offline engine when a cloud session starts: its cold
start (a child process loading its model) takes seconds, which a drop must not wait for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from captioner.audio.buffer import AudioBuffer
from captioner.providers.base import Final, Partial, Provider
from captioner.transcript import Change, Segment, Transcript

if TYPE_CHECKING:
    from captioner.stream import StreamEvent

log = logging.getLogger(__name__)

#: the standby's own buffer: the engine may still be starting (model load) while audio arrives
STANDBY_BUFFER_MS = 10 * 60 * 1000


async def prewarm(provider_factory: Callable[[], Provider]) -> None:
    """Get the offline engine ready for a standby that may be needed later (never raises).

    The provider's handshake does its blocking preparation (for the built-in
    engine: starting ``captioner serve`` and loading the model), as a standby's
    first connection would, but opens no connection.
    """
    t0 = time.monotonic()
    try:
        await asyncio.to_thread(lambda: provider_factory().handshake(None))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a standby that can't start says so when needed
        log.warning("the offline engine could not be readied for hot standby: %s", exc)
        return
    log.info("offline engine ready for hot standby after %.1f s", time.monotonic() - t0)


class Standby:
    """One offline-engine stream standing in for a cloud stream (started on the loop thread).

    Args:
        provider_factory: makes the offline engine's provider.
        transcript: the shared transcript its finals go to.
        source: the cloud stream's source label.
        start_bytes: session byte position of the first block it will be fed.
        on_final_end: called with each final's end (ms, session time).
        listener: gets its transcript changes, gaps and notices (not its states:
            the cloud stream reports the state, ``DEGRADED``).
    """

    finish_timeout_s = 30.0

    def __init__(self, provider_factory: Callable[[], Provider], transcript: Transcript,
                 source: str, start_bytes: int, on_final_end: Callable[[int], None],
                 listener: Callable[[StreamEvent], None]) -> None:
        from captioner.stream import VendorStream

        self.audio = AudioBuffer(max_ms=STANDBY_BUFFER_MS)
        self._on_final_end = on_final_end
        self._listener = listener
        self.finals = 0
        self.transcript = transcript
        self.source = source
        self.limit_ms: int | None = None  # set at the end: how far the fed audio reached
        self.stream = VendorStream(provider_factory, self.audio, Transcript(), source=source,
                                   listener=self._on_event, title="the offline engine",
                                   start_bytes=start_bytes)
        self._task = asyncio.create_task(self.stream.run(), name=f"standby-{source}")

    def feed(self, pcm: bytes) -> None:
        self.audio.put(pcm)

    async def finish(self, fed_end_ms: int) -> None:
        """End it cleanly: end-of-stream, then wait for its trailing finals (bounded);
        ``fed_end_ms``: where the audio it was given ends (nothing is kept past it)."""
        self.limit_ms = fed_end_ms
        self.audio.close()
        done, _ = await asyncio.wait({self._task}, timeout=self.finish_timeout_s)
        if not done:
            log.warning("offline standby did not finish in %.0f s", self.finish_timeout_s)
            await self.abort()

    async def abort(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def _on_event(self, event: StreamEvent) -> None:
        from captioner.stream import GapAdded, Notice, State, StateChanged, TranscriptChanged

        if isinstance(event, StateChanged):
            log.info("offline standby %s: %s", event.state.value, event.message)
            if event.state is State.FAILED:
                self._listener(Notice(event.source, f"The offline engine could not stand in: "
                                      f"{event.message}"))
            return
        if isinstance(event, TranscriptChanged):
            event = TranscriptChanged(self.source, self._copy(event.change.segment))
        elif isinstance(event, GapAdded):
            self.transcript.add_gap(event.gap)
        self._listener(event)

    def _copy(self, seg: Segment | None) -> Change:
        """Put the standby's partial or final into the shared transcript (clipped)."""
        if seg is None:
            return self.transcript.clear_partial(self.source)
        if not seg.is_final:
            return self.transcript.apply(Partial(seg.text, seg.start_ms, seg.end_ms, seg.words,
                                                 seg.speaker), self.source)
        text, end_ms, words = seg.text, seg.end_ms, seg.words
        if self.limit_ms is not None and seg.end_ms > self.limit_ms:
            words = tuple(w for w in seg.words if w.start_ms < self.limit_ms)
            if not words:
                return self.transcript.clear_partial(self.source)
            if len(words) < len(seg.words):
                text, end_ms = " ".join(w.text for w in words), words[-1].end_ms
        self.finals += 1
        self._on_final_end(end_ms)
        return self.transcript.apply(Final(text, seg.start_ms, end_ms, words, seg.speaker),
                                     self.source)
