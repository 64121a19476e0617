"""Live captioning: capture the microphone and/or system audio, one session per source.

:class:`LiveCaptioning` pairs a :class:`CaptureStream` with a :class:`VendorStream`
for each source (``"mic"`` → "Me", ``"system"`` → "Others"); all sessions use
the same provider (for the offline engine, the same ``captioner serve`` child)
and feed ONE :class:`Transcript`, which keeps finals in time order across
sources and labels them. Setting the ``stop`` event ends it cleanly: capture
stops, the buffers are closed, and each session does the vendor's
end-of-stream handshake and delivers its trailing finals. Capture faults
(device lost/back, silence) reach the listener as :class:`Notice` events.

``captioner transcribe --source ...`` (with its journal and stop signals, see
:mod:`captioner.transcribe`) and the GUI bridge use :func:`run_live` or
:class:`LiveCaptioning` on their own loop with their own stop event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from captioner.audio.buffer import AudioBuffer
from captioner.audio.capture import CaptureStatus, CaptureStream
from captioner.audio.recorder import Recorder, TappedBuffer
from captioner.config import SessionConfig
from captioner.providers import make_provider, title
from captioner.providers.base import Provider
from captioner.standby import prewarm
from captioner.stream import Notice, State, StateChanged, StreamEvent, VendorStream
from captioner.transcript import Transcript

log = logging.getLogger(__name__)

SOURCES = {"mic": ("mic",), "system": ("system",), "both": ("mic", "system")}
#: on Stop, how long a session whose vendor has not answered yet may still connect
CONNECT_GRACE_S = 1.0
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
        standby: with a cloud provider, the offline engine captions the audio
            while the cloud reconnects (hot standby, :mod:`captioner.standby`); it
            is readied when the run starts.

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
                 recorder: Recorder | None = None, base_ms: int = 0,
                 standby: bool = True) -> None:
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
        self.standby = standby and cfg.provider != "local"
        self.captures: dict[str, CaptureStream] = {}
        self.sessions: dict[str, VendorStream] = {}
        self.started = asyncio.Event()
        self._stopping = False
        self._tasks: dict[asyncio.Task[Any], str] = {}
        self._abandoned_connecting: set[str] = set()

    def _abandon_if_reconnecting(self, task: asyncio.Task[Any], src: str) -> None:
        """Stop means stop: a session still trying to reach its vendor is not waited for."""
        if self.sessions[src].state is State.RECONNECTING and not task.done():
            log.info("%s: stopped while reconnecting; not waiting for the vendor", src)
            task.cancel()

    async def _abandon_unanswered(self, tasks: dict[asyncio.Task[Any], str]) -> None:
        """Stop means stop: a session whose vendor has not answered yet (never live) gets
        :data:`CONNECT_GRACE_S` to answer, then is not waited for (a hanging server would
        otherwise hold Stop for its whole open timeout)."""
        waiting = {task: src for task, src in tasks.items()
                   if not task.done() and self.sessions[src].state is State.CONNECTING}
        if not waiting:
            return
        await asyncio.wait(waiting, timeout=CONNECT_GRACE_S)
        for task, src in waiting.items():
            if not task.done() and self.sessions[src].state is State.CONNECTING:
                log.info("%s: stopped before the vendor answered; not waiting for it", src)
                self._abandoned_connecting.add(src)
                task.cancel()

    def _listen(self, event: StreamEvent) -> None:
        self.listener(event)
        if self._stopping and isinstance(event, StateChanged) \
                and event.state is State.RECONNECTING:
            for task, src in self._tasks.items():
                if src == event.source:
                    self._abandon_if_reconnecting(task, src)

    def _status(self, status: CaptureStatus) -> None:
        self.listener(Notice(status.source, status.message,
                             _NOTICE_LEVELS.get(status.kind, "warning"), status.kind))
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
                                         secret=self.secret, source=src, listener=self._listen,
                                         title=title(self.cfg.provider), live=True,
                                         catch_up=self.cfg.catch_up,
                                         standby=self._offline if self.standby else None)

    def _offline(self) -> Provider:
        """The offline engine's provider for hot standby (same language, no cloud options)."""
        return make_provider(replace(self.cfg, provider="local", endpoint=None, options=None,
                                     translate_to=()))

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
        tasks: dict[asyncio.Task[Any], str] = {
            asyncio.create_task(session.run(), name=f"session-{src}"): src
            for src, session in self.sessions.items()}
        self._tasks = tasks
        # the offline engine is ready before the cloud can drop
        warm = asyncio.create_task(prewarm(self._offline), name="standby-prewarm") \
            if self.standby else None
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
            self._stopping = True
            await asyncio.gather(*(self._stop_capture(src) for src in self.captures))
            for task, src in tasks.items():
                self._abandon_if_reconnecting(task, src)
            await self._abandon_unanswered(tasks)
            await asyncio.gather(*tasks, return_exceptions=True)
            for task, src in tasks.items():
                if task.cancelled() and self.sessions[src].state is not State.STOPPED:
                    self.sessions[src].abandon("connecting" if src in self._abandoned_connecting
                                               else "reconnecting")
        finally:
            stopper.cancel()
            for capture in self.captures.values():
                capture.stop()  # no-op unless aborted
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, stopper, return_exceptions=True)
            if warm is not None:
                warm.cancel()
                await asyncio.gather(warm, return_exceptions=True)
        return self.sessions


async def run_live(cfg: SessionConfig, secret: str | None, source: str,
                   device: str | int | None, transcript: Transcript,
                   listener: Listener | None, stop: asyncio.Event,
                   **kwargs: Any) -> dict[str, VendorStream]:
    """Run :class:`LiveCaptioning` until ``stop`` is set; returns ``{source: VendorStream}``."""
    live = LiveCaptioning(cfg, secret, source, device, transcript, listener, **kwargs)
    return await live.run(stop)
