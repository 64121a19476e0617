"""Live capture of one source (the microphone or system audio) into an AudioBuffer.

:class:`CaptureStream` opens a sounddevice ``RawInputStream`` at the device's
native rate and channel count. PortAudio's callback only copies the block and
hands it to the asyncio loop; there :meth:`CaptureStream._deliver` converts it
to 16 kHz mono s16le (:class:`StreamConverter`), updates the :class:`LevelMeter`
and puts it into the :class:`AudioBuffer` the session reads.

Faults never end the session. When the device disappears (PulseAudio reports
the source removed, the stream finishes on its own, or no callback arrives for
``stall_s``) it reports ``CaptureStatus("lost")``, and a background thread
tries every ``retry_s`` to reopen the same device, after ``fallback_after_s``
also the default one, then reports ``"resumed"``. The outage is filled with
silence (up to ``fill_max_s``) so this source's timeline stays aligned with
the other's. On PulseAudio a fallen-back stream switches back when the chosen
device returns.

Implementers of a GUI: create and call :meth:`start`/:meth:`stop` on the loop
thread; poll :attr:`levels` from any thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from captioner.audio import devices
from captioner.audio.buffer import AudioBuffer
from captioner.audio.levels import LevelMeter
from captioner.audio.portaudio import import_sounddevice
from captioner.audio.resample import StreamConverter
from captioner.config import BYTES_PER_MS

log = logging.getLogger(__name__)

DTYPE = "int16"
# pactl ignores SIGPIPE and would outlive a crashed app; this wrapper kills it as
# soon as its stdin (a pipe from us) closes, when we stop it or when we die.
_WATCH_COMMAND = ["sh", "-c", "pactl subscribe & cat >/dev/null; kill $! 2>/dev/null"]


@dataclass(frozen=True)
class CaptureStatus:
    """Something the user should know about a capture stream.

    Attributes:
        kind: ``"lost"``, ``"resumed"``, ``"silent"`` or ``"notice"``.
        message: a sentence for the user.
        source: ``"mic"`` or ``"system"``.
        device_name: the device it is about.
        fell_back: for ``"resumed"``/``"notice"``: now on the default device.
    """

    kind: str
    message: str
    source: str = "mic"
    device_name: str = ""
    fell_back: bool = False


class _Opened:
    """One opened PortAudio stream and the state that belongs to it."""

    __slots__ = ("resolved", "converter", "stream", "clock_offset_s", "retired")

    def __init__(self, resolved: devices.Resolved, converter: StreamConverter) -> None:
        self.resolved = resolved
        self.converter = converter
        self.stream: Any = None
        self.clock_offset_s = 0.0
        self.retired = False  # lost or stopped: its late blocks are ignored

    @property
    def pulse_name(self) -> str | None:
        return self.resolved.info.pulse_name


class CaptureStream:
    """Captures one source into ``buffer`` until stopped, surviving device loss.

    Args:
        source: ``"mic"`` or ``"system"``.
        device: id, index or name (see :func:`devices.resolve`); None = default.
        buffer: receives 16 kHz mono s16le blocks (on the loop thread).
        loop: the asyncio loop that owns ``buffer``.
        block_ms: PortAudio block length.
        on_status: called on the loop thread with each :class:`CaptureStatus`.
        retry_s: time between reopen attempts.
        stall_s: no callbacks for this long counts as lost (None: never).
        fallback_after_s: after this long lost, the default device is tried too.
        fill_max_s: the most silence put into the buffer for an outage.
        catalog: returns a device snapshot (tests inject one).

    Attributes:
        levels: the :class:`LevelMeter` (GUI polls ``levels.read()``).
        lost: True while the device is gone.
        blocks: blocks delivered so far.
        captured_ms: 16 kHz audio put into the buffer so far (silence fill included).
        first_block: set when the first block arrives.
        last_callback_t: ``time.monotonic()`` of the newest delivered block's
            PortAudio callback (for latency measurements).
    """

    def __init__(self, source: str, device: str | int | None, buffer: AudioBuffer,
                 loop: asyncio.AbstractEventLoop, *, block_ms: int = 50,
                 on_status: Callable[[CaptureStatus], None] | None = None,
                 retry_s: float = 1.0, stall_s: float | None = 2.0,
                 fallback_after_s: float = 5.0, fill_max_s: float = 30.0,
                 catalog: Callable[[], devices.Catalog] | None = None) -> None:
        if source not in ("mic", "system"):
            raise ValueError(f"source must be 'mic' or 'system', not {source!r}")
        self.source = source
        self.device = device
        self.buffer = buffer
        self.block_ms = block_ms
        self.retry_s = retry_s
        if source == "system" and sys.platform.startswith("win"):
            stall_s = None  # WASAPI loopback delivers nothing while nothing plays
        self.stall_s = stall_s
        self.fallback_after_s = fallback_after_s
        self.fill_max_s = fill_max_s
        self._loop = loop
        self._on_status = on_status
        self._catalog = catalog or devices.snapshot
        self._sd = import_sounddevice()
        self.levels = LevelMeter(silence_notice_s=10.0 if source == "mic" else None,
                                 on_silence=lambda msg: self._status("silent", msg))
        self.lost = False
        self.blocks = 0
        self.captured_ms = 0.0
        self.first_block = asyncio.Event()
        self.last_callback_t = 0.0
        self._waiters: list[tuple[float, asyncio.Future[None]]] = []
        self._want: devices.DeviceInfo | None = None  # the device the user asked for
        self._current: _Opened | None = None
        self._fell_back = False
        self._overflows = 0  # NB: only PortAudio's thread writes this
        self._last_block_t = 0.0
        self._gap_t = 0.0  # when the current outage began
        self._resume_pending = False
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._reconnecting = False
        self._watchdog: asyncio.TimerHandle | None = None
        self._watcher: subprocess.Popen[str] | None = None
        self._stopped: asyncio.Future[None] = loop.create_future()

    # -- public ------------------------------------------------------------------------

    @property
    def device_name(self) -> str:
        opened = self._current
        if opened is not None:
            return opened.resolved.name
        return self._want.name if self._want else ""

    @property
    def dropped_blocks(self) -> int:
        """Blocks PortAudio reported as overflowed (audio lost before the callback)."""
        return self._overflows

    @property
    def fell_back(self) -> bool:
        return self._fell_back

    def start(self) -> None:
        """Open the device and start capturing (loop thread; blocks briefly).

        Raises:
            devices.DeviceError: no such device and nothing to fall back to, or
                it can't be opened.
        """
        resolved = devices.resolve(self.device, self.source, self._catalog())
        if resolved.fell_back:
            self._status("notice", resolved.notice, resolved.name, fell_back=True)
        try:
            opened = self._open(resolved)
        except self._sd.PortAudioError as exc:
            what = devices.source_noun(self.source)
            raise devices.DeviceError(f"Can't open the {what} '{resolved.name}': "
                                      f"{exc.args[0] if exc.args else exc}") from exc
        self._want = resolved.info
        self._adopt(opened)
        self._schedule_watchdog()
        self._ensure_watcher()
        log.info("capturing %s from %r at %d Hz, %d ch", self.source, resolved.name,
                 resolved.info.default_rate, min(2, resolved.info.channels))

    def stop(self) -> None:
        """Stop capturing (loop thread). Blocks already captured still reach the
        buffer; await :meth:`aclose` (or :meth:`wait_stopped`) before closing it."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._wake.set()
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._stop_watcher()
        opened = self._current
        if opened is None:
            self._finish(None)
            return
        try:
            opened.stream.stop()  # NB: waits for the running callback; none come after
        except self._sd.PortAudioError as exc:
            log.info("stopping the stream failed: %s", exc)
        # NB: deliveries queued by the callback run before this (FIFO ready queue)
        self._loop.call_soon(self._finish, opened)

    async def wait_stopped(self) -> None:
        await asyncio.shield(self._stopped)

    async def wait_captured_ms(self, target_ms: float) -> None:
        """Wait until :attr:`captured_ms` reaches ``target_ms`` or capture has stopped
        (tests, benchmarks)."""
        if self._stopped.done():
            return
        if self.captured_ms >= target_ms:
            return
        waiter = self._loop.create_future()
        self._waiters.append((target_ms, waiter))
        await waiter

    async def aclose(self) -> None:
        """Stop and wait until every captured block is in the buffer."""
        self.stop()
        await self.wait_stopped()

    # -- PortAudio thread ----------------------------------------------------------------

    def _make_callback(self, opened: _Opened) -> Callable[..., None]:
        loop, deliver, abort = self._loop, self._deliver, self._sd.CallbackAbort

        def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            # NB: PortAudio's real-time thread: copy and hand over, nothing else.
            # No locks, no numpy, no logging. time_info is only valid during this
            # call, so its float is passed on, not the struct.
            if status.input_overflow:
                self._overflows += 1
            block = bytes(indata)
            try:
                loop.call_soon_threadsafe(deliver, opened, block, time_info.currentTime)
            except RuntimeError:  # the loop is closed: nobody will read this
                raise abort from None

        return callback

    def _make_finished(self, opened: _Opened) -> Callable[[], None]:
        def finished() -> None:
            # NB: PortAudio's thread. Fires for our own stop/close too; _lose
            # ignores streams that are not current or when stopping.
            if not self._stopping.is_set():
                try:
                    self._loop.call_soon_threadsafe(self._lose, opened, "the stream ended")
                except RuntimeError:
                    pass

        return finished

    # -- opening (any thread) -------------------------------------------------------------

    def _open(self, resolved: devices.Resolved) -> _Opened:
        info = resolved.info
        rate_hz = int(info.default_rate)
        channels = max(1, min(2, info.channels))
        opened = _Opened(resolved, StreamConverter(rate_hz, channels, DTYPE))
        with devices.stream_env(resolved.env):
            stream = self._sd.RawInputStream(
                device=resolved.device, samplerate=rate_hz, channels=channels, dtype=DTYPE,
                blocksize=max(1, rate_hz * self.block_ms // 1000),
                callback=self._make_callback(opened),
                finished_callback=self._make_finished(opened))
        try:
            opened.stream = stream
            # PortAudio's clock → time.monotonic(), for callback timestamps
            opened.clock_offset_s = time.monotonic() - stream.time
            stream.start()
        except BaseException:
            stream.close()
            raise
        return opened

    def _close(self, opened: _Opened) -> None:
        opened.retired = True
        stream, opened.stream = opened.stream, None  # breaks opened → stream → callback cycle
        try:
            stream.close()  # aborts it if still running
        except self._sd.PortAudioError as exc:
            log.info("closing the %s stream failed: %s", self.source, exc)

    # -- loop thread ----------------------------------------------------------------------

    def _deliver(self, opened: _Opened, block: bytes, callback_time: float) -> None:
        if opened is not self._current:
            if (opened.retired or self._current is not None or not self._reconnecting
                    or self._stopping.is_set()):
                return
            self._adopt(opened)  # a reopened stream's first block beat _on_reopened
        now = time.monotonic()
        t_cb = callback_time + opened.clock_offset_s if callback_time > 0 else now
        self.last_callback_t = min(now, t_cb)
        self._last_block_t = now
        self.blocks += 1
        if self._resume_pending:
            self._resumed(opened, now)
        pcm = opened.converter.convert(block)
        if pcm:
            self.levels.update(pcm, now)
            self._put(pcm)
        if not self.first_block.is_set():
            self.first_block.set()

    def _put(self, pcm: bytes) -> None:
        self.buffer.put(pcm)
        self.captured_ms += len(pcm) / BYTES_PER_MS
        if self._waiters:
            for item in [w for w in self._waiters if w[0] <= self.captured_ms]:
                self._waiters.remove(item)
                if not item[1].done():
                    item[1].set_result(None)

    def _adopt(self, opened: _Opened) -> None:
        """Make ``opened`` the current stream (at start, or after a reopen)."""
        self._current = opened
        self.levels.name = opened.resolved.name
        self._last_block_t = time.monotonic()  # the stall watchdog counts from here
        if self._reconnecting:
            self._reconnecting = False
            self._resume_pending = True  # reported when audio actually flows

    def _resumed(self, opened: _Opened, now: float) -> None:
        """The first block from a reopened stream arrived."""
        self._resume_pending = False
        was_lost, self.lost = self.lost, False
        self.levels.reset(now)
        self._fill_silence(now - self._gap_t)
        want = self._want
        self._fell_back = want is not None and opened.resolved.info.id != want.id
        what, name = devices.source_noun(self.source), opened.resolved.name
        if self._fell_back and want is not None:
            message = (f"The {what} '{want.name}' is still missing; captioning from the "
                       f"default {what} '{name}' instead.")
        elif was_lost:
            message = f"The {what} '{name}' is back; captioning continues."
        else:
            message = f"Switched back to the {what} '{name}'."
        log.info("%s", message)
        self._ensure_watcher()  # pactl subscribe ends if the sound server restarted
        self._status("resumed", message, name, fell_back=self._fell_back)

    def _fill_silence(self, gap_s: float) -> None:
        """Keep this source's timeline continuous across an outage."""
        gap_bytes = int(min(gap_s, self.fill_max_s) * 1000) * BYTES_PER_MS
        block_bytes = 100 * BYTES_PER_MS
        silence = bytes(block_bytes)
        for pos in range(0, gap_bytes, block_bytes):
            self._put(silence[: min(block_bytes, gap_bytes - pos)])

    def _lose(self, opened: _Opened, reason: str, *, report: bool = True) -> None:
        """Give up ``opened`` (it failed, or we switch devices) and reopen in a thread."""
        if opened is not self._current or self._stopping.is_set():
            return
        log.warning("%s capture lost (%s)", self.source, reason)
        self._current = None
        opened.retired = True
        tail = opened.converter.convert(b"", last=True)
        if tail:
            self._put(tail)
        if not self._resume_pending:  # else: the gap started at the first loss
            self._gap_t = time.monotonic()
        self._resume_pending = False
        if report and not self.lost:
            self.lost = True
            what, name = devices.source_noun(self.source), opened.resolved.name
            self._status("lost", f"Lost the {what} '{name}'. Captioning pauses until it is back.",
                         name)
        self._reconnecting = True
        threading.Thread(target=self._reconnect, args=(opened, report), daemon=True,
                         name=f"capture-{self.source}-reopen").start()

    def _on_reopened(self, opened: _Opened) -> None:
        if self._stopping.is_set():
            threading.Thread(target=self._close, args=(opened,), daemon=True).start()
        elif opened is not self._current and self._current is None and not opened.retired:
            self._adopt(opened)

    def _switch_back(self, opened: _Opened) -> None:
        """The chosen device is back while we are on the fallback: return to it."""
        if self._fell_back and opened is self._current and not self._resume_pending:
            self._lose(opened, "the chosen device is back", report=False)

    def _finish(self, opened: _Opened | None) -> None:
        if opened is not None:
            tail = opened.converter.convert(b"", last=True)
            if tail:
                self._put(tail)
            self._current = None
            self._close(opened)  # already stopped: quick
        if not self._stopped.done():
            self._stopped.set_result(None)
        for _target, waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    def _schedule_watchdog(self) -> None:
        if self.stall_s is not None and not self._stopping.is_set():
            self._watchdog = self._loop.call_later(min(0.5, self.stall_s / 2), self._check_stall)

    def _check_stall(self) -> None:
        opened = self._current
        assert self.stall_s is not None
        if opened is not None and time.monotonic() - self._last_block_t > self.stall_s:
            self._lose(opened, f"no audio for {self.stall_s:.0f} s")
        self._schedule_watchdog()

    def _status(self, kind: str, message: str, device_name: str = "",
                fell_back: bool = False) -> None:
        if self._on_status is not None:
            self._on_status(CaptureStatus(kind, message, self.source,
                                          device_name or self.device_name, fell_back))

    # -- background threads --------------------------------------------------------------

    def _reconnect(self, old: _Opened, wait_first: bool) -> None:
        """Close the lost stream; reopen the chosen device (later also the default)."""
        self._close(old)
        started = time.monotonic()
        wait = wait_first
        while not self._stopping.is_set():
            if wait:
                self._wake.wait(self.retry_s)
                self._wake.clear()
                if self._stopping.is_set():
                    return
            wait = True
            try:
                opened = self._open(self._pick(time.monotonic() - started))
            except (devices.DeviceError, self._sd.PortAudioError) as exc:
                log.debug("reopen failed: %s", exc)
                continue
            except Exception:
                log.exception("reopening the %s device failed", self.source)
                continue
            try:
                self._loop.call_soon_threadsafe(self._on_reopened, opened)
            except RuntimeError:
                self._close(opened)
            return

    def _pick(self, lost_for_s: float) -> devices.Resolved:
        catalog = self._catalog()
        assert self._want is not None
        try:
            return devices.resolve(self._want.id, self.source, catalog, strict=True)
        except devices.DeviceError:
            if lost_for_s < self.fallback_after_s:
                raise
        return devices.resolve(None, self.source, catalog)

    def _ensure_watcher(self) -> None:
        """Follow PulseAudio's source events (``pactl subscribe``) in a thread."""
        current = self._current
        if current is None or current.pulse_name is None or self._stopping.is_set():
            return
        if self._watcher is not None and self._watcher.poll() is None:
            return
        self._stop_watcher()
        try:
            self._watcher = subprocess.Popen(
                _WATCH_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True, env=dict(os.environ, LC_ALL="C"))
        except OSError as exc:
            log.info("can't follow PulseAudio events: %s", exc)
            return
        threading.Thread(target=self._watch, args=(self._watcher,), daemon=True,
                         name=f"capture-{self.source}-pulse").start()

    def _stop_watcher(self) -> None:
        proc, self._watcher = self._watcher, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()  # → the wrapper kills pactl and exits
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                proc.kill()
            # NB: its stdout is closed by the _watch thread when it reads EOF

    def _watch(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for line in proc.stdout:  # ends when _stop_watcher closes the wrapper's stdin
                if " on source " not in line and " on server" not in line:
                    continue  # source-output, sink, client... events
                names = devices.pulse_source_names()
                if names is None or self._stopping.is_set():
                    continue
                self._on_sources(names)

    def _on_sources(self, names: set[str]) -> None:
        """(watcher thread) React to the PulseAudio sources now present."""
        # NB: reads loop-thread state without a lock; every action is re-checked
        # on the loop thread (_lose/_switch_back compare with the current stream).
        opened, want = self._current, self._want
        try:
            if opened is not None and opened.pulse_name and opened.pulse_name not in names:
                self._loop.call_soon_threadsafe(self._lose, opened, "PulseAudio removed it")
            elif (opened is not None and self._fell_back and want is not None
                  and want.pulse_name in names):
                self._loop.call_soon_threadsafe(self._switch_back, opened)
            elif opened is None and want is not None and want.pulse_name in names:
                self._wake.set()  # retry now rather than at the next tick
        except RuntimeError:
            pass  # loop closed
