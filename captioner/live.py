"""Live captioning: capture the microphone and/or system audio, one session per source.

:class:`LiveCaptioning` pairs a :class:`CaptureStream` with a :class:`VendorStream`
for each source (``"mic"`` → "Me", ``"system"`` → "Others"); all sessions use
the same provider (for the offline engine, the same ``captioner serve`` child)
and feed ONE :class:`Transcript`, which keeps finals in time order across
sources and labels them. Setting the ``stop`` event ends it cleanly: capture
stops, the buffers are closed, and each session does the vendor's
end-of-stream handshake and delivers its trailing finals. Capture faults
(device lost/back, silence) reach the listener as :class:`Notice` events.

``transcribe_live`` is ``captioner transcribe --source ...``: Ctrl-C stops
cleanly, a second Ctrl-C aborts. The GUI bridge uses :func:`run_live` or
:class:`LiveCaptioning` on its own loop with its own stop event.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from captioner import __version__
from captioner.audio.buffer import AudioBuffer
from captioner.audio.capture import CaptureStatus, CaptureStream
from captioner.audio.recorder import Recorder, TappedBuffer
from captioner.config import SessionConfig
from captioner.providers import make_provider, title
from captioner.providers.base import Provider
from captioner.stream import GapAdded, Notice, State, StreamEvent, TranscriptChanged, VendorStream
from captioner.transcript import Gap, Transcript
from captioner.transcript.journal import Journal

log = logging.getLogger(__name__)

SOURCES = {"mic": ("mic",), "system": ("system",), "both": ("mic", "system")}
_NOTICE_LEVELS = {"lost": "warning", "silent": "warning", "resumed": "info", "notice": "info"}

Listener = Callable[[StreamEvent], None]


class LiveCaptioning:
    """Capture + session for each source, sharing one transcript.

    Args:
        cfg: the session settings (provider, language, ...).
        secret: the provider's key, or None.
        source: ``"mic"``, ``"system"`` or ``"both"``.
        device: the device for the (first) source; None = default. With
            ``"both"`` it applies to the microphone.
        system_device: with ``"both"``, the system-audio device (None = default).
        transcript: receives every source's partials and finals.
        listener: gets session events and capture notices (loop thread).
        on_status: also gets raw :class:`CaptureStatus` (e.g. for a GUI banner).
        provider_factory: overrides ``make_provider(cfg)`` (tests, GUI).
        capture_options: extra keyword arguments for :class:`CaptureStream`.
        recorder: records each source's audio while ``recorder.enabled``
            (:mod:`captioner.audio.recorder`); None records nothing.
        base_ms: the session time this run's audio starts at (a resumed run).

    Attributes:
        captures: ``{source: CaptureStream}`` once :meth:`run` has started them
            (a GUI polls ``captures[source].levels``).
        sessions: ``{source: VendorStream}``.
        started: set once every capture has started (``captures`` is complete).
    """

    def __init__(self, cfg: SessionConfig, secret: str | None, source: str,
                 device: str | int | None, transcript: Transcript,
                 listener: Listener | None = None, *,
                 system_device: str | int | None = None,
                 on_status: Callable[[CaptureStatus], None] | None = None,
                 provider_factory: Callable[[], Provider] | None = None,
                 capture_options: dict[str, Any] | None = None,
                 recorder: Recorder | None = None, base_ms: int = 0) -> None:
        if source not in SOURCES:
            raise ValueError(f"source must be mic, system or both, not {source!r}")
        self.cfg = cfg
        self.secret = secret
        self.source = source
        self.device = device
        self.system_device = system_device
        self.transcript = transcript
        self.listener = listener or (lambda event: None)
        self.on_status = on_status
        self.provider_factory = provider_factory or (lambda: make_provider(cfg))
        self.capture_options = capture_options or {}
        self.recorder = recorder
        self.base_ms = base_ms
        self.captures: dict[str, CaptureStream] = {}
        self.sessions: dict[str, VendorStream] = {}
        self.started = asyncio.Event()

    def _status(self, status: CaptureStatus) -> None:
        self.listener(Notice(status.source, status.message,
                             _NOTICE_LEVELS.get(status.kind, "warning")))
        if self.on_status is not None:
            self.on_status(status)

    def _start_capture(self, loop: asyncio.AbstractEventLoop) -> None:
        for index, src in enumerate(SOURCES[self.source]):
            device = self.device if index == 0 else self.system_device
            buffer = AudioBuffer() if self.recorder is None else \
                TappedBuffer(self.recorder.tap(src, self.base_ms))
            capture = CaptureStream(src, device, buffer, loop, on_status=self._status,
                                    **self.capture_options)
            capture.start()  # DeviceError: nothing to caption from
            self.captures[src] = capture
            self.sessions[src] = VendorStream(self.provider_factory, buffer, self.transcript,
                                         secret=self.secret, source=src, listener=self.listener,
                                         title=title(self.cfg.provider), live=True,
                                         catch_up=self.cfg.catch_up)

    async def _stop_capture(self, src: str) -> None:
        capture = self.captures[src]
        await capture.aclose()  # every captured block is in the buffer now
        capture.buffer.close()  # → the session sends end-of-stream

    async def run(self, stop: asyncio.Event) -> dict[str, VendorStream]:
        """Caption until ``stop`` is set (or every session has ended); returns the sessions.

        Raises:
            DeviceError: a device can't be opened (nothing was started).
        """
        loop = asyncio.get_running_loop()
        try:
            self._start_capture(loop)
        except BaseException:
            for capture in self.captures.values():
                capture.stop()
            raise
        tasks = {asyncio.create_task(session.run(), name=f"session-{src}"): src
                 for src, session in self.sessions.items()}
        self.started.set()
        stopper = asyncio.create_task(stop.wait(), name="live-stop")
        try:
            pending = set(tasks)
            while pending:
                done, pending = await asyncio.wait(pending | {stopper},
                                                   return_when=asyncio.FIRST_COMPLETED)
                if stopper in done:
                    break
                pending.discard(stopper)
                for task in done:  # a session ended on its own (fatal error)
                    await self._stop_capture(tasks[task])
            log.info("stopping live captioning")
            await asyncio.gather(*(self._stop_capture(src) for src in self.captures))
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            stopper.cancel()
            for capture in self.captures.values():
                capture.stop()  # no-op unless aborted
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, stopper, return_exceptions=True)
        return self.sessions


async def run_live(cfg: SessionConfig, secret: str | None, source: str,
                   device: str | int | None, transcript: Transcript,
                   listener: Listener | None, stop: asyncio.Event,
                   **kwargs: Any) -> dict[str, VendorStream]:
    """Run :class:`LiveCaptioning` until ``stop`` is set; returns ``{source: VendorStream}``."""
    live = LiveCaptioning(cfg, secret, source, device, transcript, listener, **kwargs)
    return await live.run(stop)


def journaling(listener: Listener, journal: Journal,
               shift_gap: Callable[[Gap], Gap] = lambda gap: gap) -> Listener:
    """A listener that writes finals and gaps to ``journal`` before passing events on.

    NB: runs on the loop thread; the write comes first, so what is shown is on disk.
    ``shift_gap`` moves a run's gap into session time (a resumed run).
    """

    def journaled(event: StreamEvent) -> None:
        if isinstance(event, TranscriptChanged):
            seg = event.change.segment
            if seg is not None and seg.is_final:
                journal.append_final(seg)
        elif isinstance(event, GapAdded):
            event = GapAdded(shift_gap(event.gap))
            journal.append_gap(event.gap)
        listener(event)

    return journaled


def transcribe_live(cfg: SessionConfig, secret: str | None, source: str,
                    device: str | int | None, transcript: Transcript,
                    printer: Listener, *, record: bool = False) -> list[tuple[State, str]]:
    """``captioner transcribe --source``: caption until Ctrl-C; returns each session's end state.

    The first Ctrl-C (SIGINT) ends cleanly with the trailing finals; a second
    one aborts at once (the last words may be missing). With ``record`` the
    session is saved like the app's (a journal in the sessions folder) with
    each source's audio beside it, ready for ``captioner improve``.
    """
    journal: Journal | None = None
    recorder: Recorder | None = None
    listener = printer
    if record:
        journal = Journal.create(None, {"provider": cfg.provider, "language": cfg.language,
                                        "sources": list(SOURCES[source]),
                                        "app": f"captioner {__version__}"})
        recorder = Recorder(journal.dir, journal.id)
        listener = journaling(printer, journal)
    live = LiveCaptioning(cfg, secret, source, device, transcript, listener, recorder=recorder)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        run = asyncio.create_task(live.run(stop))
        presses = 0

        def on_sigint() -> None:
            nonlocal presses
            presses += 1
            if presses == 1:
                print("captioner: stopping… (Ctrl-C again to quit now)", file=sys.stderr,
                      flush=True)
                stop.set()
            else:
                run.cancel()

        # NB: signal.signal (not loop.add_signal_handler, missing on Windows); the
        # handler runs in the main thread between bytecodes, so hop onto the loop.
        previous = signal.signal(signal.SIGINT,
                                 lambda *_: loop.call_soon_threadsafe(on_sigint))
        try:
            await run
        except asyncio.CancelledError:
            if not run.cancelled():
                raise
            print("captioner: aborted; the last words may be missing.", file=sys.stderr,
                  flush=True)
        finally:
            signal.signal(signal.SIGINT, previous)

    if sys.stdin.isatty() or sys.stderr.isatty():
        what = " and recording" if record else ""
        print(f"captioner: captioning{what} live; press Ctrl-C to stop.", file=sys.stderr,
              flush=True)
    try:
        asyncio.run(main())
    finally:
        if recorder is not None:
            recorder.close()
            if recorder.error:
                print(f"captioner: {recorder.error}", file=sys.stderr, flush=True)
        if journal is not None:
            journal.close()
            print(f"captioner: saved session {journal.id} with its recording; "
                  f"`captioner improve {journal.id}` re-transcribes it more accurately.",
                  file=sys.stderr, flush=True)
    return [(session.state, session.message) for session in live.sessions.values()]
