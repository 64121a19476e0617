"""One audio stream to one vendor connection at a time: connect, send, receive, reconnect, end.

Runs on an asyncio loop (the CLI's, or the one in the GUI's SessionThread) and is
the only code that touches a socket. It is the same for every provider:

* connect with the provider's handshake; audio waits for ``Started`` if asked;
* a sender task takes PCM from the :class:`AudioBuffer`, frames it per provider,
  paces it (never faster than real time where the vendor forbids it; waits on
  acks where the protocol has them) and sends the end-of-stream message;
* a receiver task parses frames into events and applies them to the
  :class:`Transcript` with the connection's time offset;
* on a retryable close or a dropped connection it reconnects with backoff and
  jitter, first replaying the audio no final has covered yet (so nothing said
  during the drop is lost and no final is duplicated); audio that could not be
  delivered becomes a :class:`Gap`;
* before a vendor's session cap it opens the next vendor session while the
  current one still runs, sends the live audio to both and hands over at a
  final's boundary, de-duplicated by time (:mod:`captioner.rollover`): no gap,
  no lag. Where that can't be done (a file sent faster than real time, the
  vendor refusing a second session) it ends the vendor session cleanly and
  carries on in a new one, replaying and catching up as after a drop;
* fatal closes (bad key, bad config, quota) stop it with the provider's message;
* with ``standby`` (a cloud stream), while it reconnects the offline engine
  captions the same audio (:mod:`captioner.standby`) and the state is ``DEGRADED``.

Everything the outside world needs is reported through ``listener`` as frozen
events, called on the loop thread.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import logging
import random
import re
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
)

from captioner.audio.buffer import AudioBuffer
from captioner.config import BYTES_PER_MS
from captioner.endpoints import EndpointError, check_ws_url, where
from captioner.pacing import CATCH_UP_MODES, STAY_LIVE, Pace, absorbable_ms, pace_for
from captioner.providers.base import (
    CloseKind,
    CloseVerdict,
    Ended,
    Final,
    Handshake,
    Partial,
    Provider,
    Started,
    TranslationEvent,
    VendorError,
)
from captioner.providers.base import Warning as VendorWarning
from captioner.redact import (
    describe_exception,
    format_exception,
    redact,
    register_handshake,
    register_secret,
)
from captioner.retry import RetryPolicy
from captioner.rollover import keep_from, overlap_window_s
from captioner.transcript import Change, Gap, Transcript

if TYPE_CHECKING:
    from captioner.standby import Standby

log = logging.getLogger(__name__)


class State(enum.Enum):
    """Where one source's stream is.

    ``DEGRADED``: the cloud vendor is unreachable and the captions come from the
    offline engine standing in for it (hot standby) until the cloud is back.
    """

    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    DEGRADED = "degraded"
    STOPPED = "stopped"
    FAILED = "failed"


class FailureKind:
    """Values of :attr:`StateChanged.kind`: why a stream failed, so a UI can offer a fix."""

    NONE = ""
    #: never live: the endpoint can't be reached, refused the connection or timed out
    #: (offer "Use the offline engine")
    UNREACHABLE = "unreachable"
    #: the endpoint setting itself is invalid (scheme, host, port): fix it in Preferences
    ENDPOINT = "endpoint"


@dataclass(frozen=True)
class StateChanged:
    """One source's stream changed state.

    Attributes:
        source: ``"mic"`` or ``"system"``.
        state: the new :class:`State`.
        message: plain words for the user (never a URL query or a secret).
        retry_in_s: with ``RECONNECTING``, when the next attempt starts.
        replaced_provider: with ``DEGRADED``, the cloud provider (``"revai"``, …)
            the offline engine is standing in for.
        behind_ms: audio captured but not captioned yet (e.g. while reconnecting
            or catching up after a drop).
        kind: with ``FAILED``, a :class:`FailureKind` value.
    """

    source: str
    state: State
    message: str = ""
    retry_in_s: float = 0.0
    replaced_provider: str = ""
    behind_ms: int = 0
    kind: str = ""


@dataclass(frozen=True)
class TranscriptChanged:
    source: str
    change: Change


@dataclass(frozen=True)
class Notice:
    source: str
    message: str
    level: str = "warning"
    kind: str = ""  # capture faults: "lost", "silent", "resumed", "notice"


@dataclass(frozen=True)
class GapAdded:
    gap: Gap


StreamEvent = StateChanged | TranscriptChanged | Notice | GapAdded


class _Replay:
    """Audio sent but not yet covered by a final, keyed by byte position."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.blocks: collections.deque[tuple[int, bytes]] = collections.deque()
        self.size_bytes = 0
        self.lost: tuple[int, int] | None = None  # overflowed span not yet marked

    def add(self, pos: int, pcm: bytes) -> None:
        self.blocks.append((pos, pcm))
        self.size_bytes += len(pcm)
        while self.size_bytes > self.max_bytes and len(self.blocks) > 1:
            old_pos, old = self.blocks.popleft()
            self.size_bytes -= len(old)
            start = self.lost[0] if self.lost else old_pos
            self.lost = (start, old_pos + len(old))

    def trim_before(self, pos: int) -> None:
        """Forget audio before byte ``pos`` (a final covers it)."""
        pos -= pos % 2
        if self.lost is not None:  # a final covers the start of what overflowed
            self.lost = None if self.lost[1] <= pos else (max(self.lost[0], pos), self.lost[1])
        while self.blocks:
            bpos, pcm = self.blocks[0]
            if bpos + len(pcm) <= pos:
                self.blocks.popleft()
                self.size_bytes -= len(pcm)
            elif bpos < pos:
                cut = pos - bpos
                self.blocks[0] = (pos, pcm[cut:])
                self.size_bytes -= cut
                break
            else:
                break

    def start(self) -> int | None:
        return self.blocks[0][0] if self.blocks else None


class _Conn:
    """Per-connection state.

    A rollover's next session (``rollover``; the old one's ``successor``) is
    opened while the current one runs and hears the live audio from where it
    joins: ``held`` keeps its finals until the boundary is known (``floor_bytes``:
    its words before it are dropped); the old one is then ``retiring`` (its own
    later hypotheses are ignored), and ``handover`` tells its sender to stop.
    """

    def __init__(self, provider: Provider, ws: ClientConnection, offset_bytes: int,
                 pace: Pace) -> None:
        self.provider = provider
        self.pace = pace
        self.paced_s = 0.0  # wall time the audio sent so far may take at its speeds
        self.ws = ws
        self.offset_bytes = offset_bytes
        self.offset_ms = offset_bytes // BYTES_PER_MS
        self.sent_bytes = 0
        self.t0: float | None = None
        self.opened = time.monotonic()
        self.started = asyncio.Event()
        self.ended = asyncio.Event()
        self.activity = asyncio.Event()
        self.eos_sent = False
        self.closed = False
        self.got_final = False
        self.error: VendorError | None = None
        self.reported_s = 0.0
        self.catching_up = False
        self.receiver: asyncio.Task[None] | None = None
        self.last_final_end_bytes = 0
        # rollover (see the class docstring)
        self.rollover = False
        self.placed = offset_bytes >= 0
        self.held: list[Final] | None = None
        self.floor_bytes: int | None = None
        self.retiring = False
        self.handover = False
        self.overlap_tried = False
        self.successor: _Conn | None = None

    def place(self, offset_bytes: int) -> None:
        """A successor's audio starts at ``offset_bytes`` (its first block)."""
        self.offset_bytes = offset_bytes
        self.offset_ms = offset_bytes // BYTES_PER_MS
        self.placed = True


_DONE = CloseVerdict(CloseKind.NORMAL)
_HANDED_OVER = CloseVerdict(CloseKind.NORMAL, "handed over to the next session")
SKIPPED_REASON = "skipped to stay live"


_RETRY_CLAUSE = re.compile(r"\s*[;,]\s*(trying again|reconnecting|retrying|restarting it)\b"
                           r"[^.]*\.?\s*$|\s*\b(trying again|reconnecting)\W*$", re.IGNORECASE)


def gave_up_message(message: str, attempts: int) -> str:
    """A retry message turned final: "X is not answering; trying again." → "X is not
    answering. Gave up after 8 attempts." (never both "trying again" and "gave up")."""
    core = _RETRY_CLAUSE.sub("", message.strip()).rstrip(" .;,")
    return f"{core}. Gave up after {attempts} attempts."


class VendorStream:
    """Streams one audio source to one provider until the input ends.

    Args:
        provider_factory: makes a fresh provider for each vendor connection.
        audio: where captured (or file) PCM arrives; closing it ends the session.
        transcript: receives partials and finals (shared by all sources).
        secret: the API key or token, or None.
        source: ``"mic"`` or ``"system"``; labels every segment.
        listener: called on the loop thread with each :data:`StreamEvent`.
        title: the provider's name for messages ("AssemblyAI").
        live: the audio arrives in real time (capture, or a file at real-time
            speed): after a drop the backlog is caught up, and in "stay live"
            mode what can't be caught up in time is skipped as a marked gap.
        catch_up: :data:`~captioner.pacing.STAY_LIVE` (default) or
            :data:`~captioner.pacing.COMPLETE` (never skip; the vendor's pace).
        standby: makes the offline engine's provider for hot standby while a
            cloud stream reconnects (None: no standby).
        start_bytes: session byte position of the first audio block.
    """

    lead_ms = 300  # how far ahead of real time a paced sender may run
    #: buffered live audio beyond this means the sender is behind and catches up
    behind_threshold_ms = 300
    keepalive_s = 5.0
    #: a stream that was never live gives up after this many quick retries …
    quick_retries = 2
    #: … or once this much time has passed since its first connection attempt
    fail_fast_s = 9.0
    #: WebSocket pings detect a silent network loss within about their sum
    ping_interval_s = 5.0
    ping_timeout_s = 5.0
    #: a live stream opens the next vendor session this long before the session cap
    overlap_s = 30.0

    def __init__(
        self,
        provider_factory: Callable[[], Provider],
        audio: AudioBuffer,
        transcript: Transcript,
        *,
        secret: str | None = None,
        source: str = "mic",
        listener: Callable[[StreamEvent], None] | None = None,
        title: str = "",
        policy: RetryPolicy | None = None,
        eos_timeout_s: float = 15.0,
        open_timeout_s: float = 10.0,
        max_unacked_frames: int = 50,
        replay_max_ms: int = 30_000,
        max_session_s: float | None = None,
        rng: random.Random | None = None,
        live: bool = False,
        catch_up: str = STAY_LIVE,
        standby: Callable[[], Provider] | None = None,
        start_bytes: int = 0,
    ) -> None:
        self._factory = provider_factory
        self.audio = audio
        self.transcript = transcript
        self._secret = secret
        self.source = source
        self._listener = listener or (lambda event: None)
        self.title = title
        self.policy = policy or RetryPolicy()
        self.eos_timeout_s = eos_timeout_s
        self.open_timeout_s = open_timeout_s
        self.max_unacked_frames = max_unacked_frames
        self.max_session_s = max_session_s
        self._rng = rng or random.Random()
        self.live = live
        if catch_up not in CATCH_UP_MODES:
            raise ValueError(f"catch_up must be one of {', '.join(CATCH_UP_MODES)}")
        self.catch_up = catch_up
        self._replay = _Replay(replay_max_ms * BYTES_PER_MS)
        self._pos = start_bytes  # byte position of the next block taken from ``audio``
        self._standby_factory = standby
        self._standby: Standby | None = None
        self._feeder: asyncio.Task[None] | None = None
        self._standby_end_bytes = 0  # the end of the standby's last final
        self._provider_name = ""
        self._seen_dropped = 0
        self._input_done = False
        self.state = State.STOPPED
        self.message = ""
        self.reconnects = 0
        self.ever_live = False
        self._first_try_s: float | None = None
        self._fatal_kind = FailureKind.NONE
        self._opening: asyncio.Task[None] | None = None  # opening a rollover's next session
        self._next: _Conn | None = None  # … once open
        self._retiring: set[asyncio.Task[None]] = set()  # old sessions being ended
        register_secret(secret)

    # -- public ---------------------------------------------------------------

    async def run(self) -> State:
        """Run until the input ends and the vendor confirms, or a fatal error.

        Never raises (but for cancellation): whatever goes wrong ends as
        ``FAILED`` with a redacted one-line message.
        """
        try:
            return await self._run()
        except asyncio.CancelledError:
            await self._abort_standby()
            raise
        except Exception as exc:  # noqa: BLE001 - the stream boundary: report, never raise
            log.error("%s: stream failed: %s", self.title, format_exception(exc))
            self._set_state(State.FAILED, f"Captioning with {self.title} stopped because of an "
                            f"unexpected error ({describe_exception(exc, [self._secret])}).")
            self.audio.close()
            await self._abort_standby()
            return self.state
        finally:
            await self._abort_rollover()

    async def _run(self) -> State:
        attempt = 0
        self._set_state(State.CONNECTING)
        while True:
            verdict, delivered = await self._run_connection()
            if verdict is _HANDED_OVER:
                continue
            if verdict is _DONE:
                await self._settle_rollover()
                self._set_state(State.STOPPED)
                return self.state
            if verdict.kind is CloseKind.FATAL:
                self._fail(verdict)
                return self.state
            if not self.ever_live:
                # never live: a wrong or unreachable endpoint; say so within seconds
                attempt += 1
                delay_s = min(self.policy.delay_s(attempt, self._rng), 1.0)
                if attempt > self.quick_retries or delay_s >= self._fail_fast_left_s():
                    self._fail(verdict, attempt, FailureKind.UNREACHABLE)
                    return self.state
                self._set_state(State.CONNECTING, verdict.message, delay_s)
                await asyncio.sleep(delay_s)
                continue
            attempt = 1 if delivered else attempt + 1
            if self.policy.gives_up(attempt):
                await self._end_standby()
                self._fail(verdict, attempt - 1)
                return self.state
            delay_s = 0.0 if verdict.kind is CloseKind.NORMAL else self.policy.delay_s(
                attempt, self._rng, verdict.retry_after_s
            )
            self.reconnects += 1
            if self._standby is None and self._standby_factory is not None \
                    and verdict.kind is not CloseKind.NORMAL and not self._input_done:
                self._start_standby()
            if self._standby is None:
                self._set_state(State.RECONNECTING, verdict.message, delay_s,
                                behind_ms=self.behind_ms())
                await asyncio.sleep(delay_s)
                continue
            self._set_state(State.DEGRADED, f"{self.title} unreachable — captions from the "
                            "offline engine", delay_s, replaced_provider=self._provider_name,
                            behind_ms=self.behind_ms())
            if await self._wait_degraded(delay_s):
                self._set_state(State.STOPPED)
                return self.state

    # -- hot standby ------------------------------------------------------------

    def _start_standby(self) -> None:
        """The offline engine takes the unconfirmed audio, then the live audio."""
        from captioner.standby import Standby

        assert self._standby_factory is not None
        start = self._replay.start()
        self._standby = Standby(self._standby_factory, self.transcript, self.source,
                                self._pos if start is None else start,
                                self._on_standby_final, self._listener)
        for _pos, pcm in self._replay.blocks:
            self._standby.feed(pcm)
        self._feeder = asyncio.create_task(self._feed_standby(self._standby),
                                           name=f"standby-feed-{self.source}")
        log.info("%s: unreachable; the offline engine stands in", self.title)

    async def _feed_standby(self, standby: Standby) -> None:
        """Live audio to the standby (kept in the replay until a final covers it)."""
        while (block := await self.audio.get()) is not None:
            self._account_drops()
            self._replay.add(self._pos, block)
            self._pos += len(block)
            standby.feed(block)
        self._input_done = True
        standby.audio.close()

    def _on_standby_final(self, end_ms: int) -> None:
        self._standby_end_bytes = max(self._standby_end_bytes, end_ms * BYTES_PER_MS)
        self._replay.trim_before(self._standby_end_bytes)

    async def _wait_degraded(self, delay_s: float) -> bool:
        """Wait ``delay_s`` for the next attempt; True if the input ended meanwhile and
        the standby has delivered its last finals (nothing left for the cloud)."""
        assert self._feeder is not None
        done, _ = await asyncio.wait({self._feeder}, timeout=delay_s)
        if not done:
            return False
        await self._end_standby()
        return True

    async def _end_standby(self) -> None:
        """Stop feeding the standby and end it cleanly; the replay then starts at the
        end of its last final (the boundary where the cloud takes over)."""
        standby, self._standby = self._standby, None
        if standby is None:
            return
        feeder, self._feeder = self._feeder, None
        if feeder is not None:
            feeder.cancel()
            await asyncio.gather(feeder, return_exceptions=True)
        await standby.finish(self._pos // BYTES_PER_MS)
        log.info("%s: offline standby ended after %d finals at %d ms; the cloud takes over",
                 self.title, standby.finals, self._standby_end_bytes // BYTES_PER_MS)

    async def _abort_standby(self) -> None:
        standby, self._standby = self._standby, None
        feeder, self._feeder = self._feeder, None
        if feeder is not None:
            feeder.cancel()
            await asyncio.gather(feeder, return_exceptions=True)
        if standby is not None:
            await standby.abort()

    def abandon(self, while_: str = "reconnecting") -> None:
        """Give up after its task was cancelled (Stop while reconnecting, or while
        ``"connecting"``): the audio no final covers becomes a gap, and the state is STOPPED."""
        self._account_drops()
        start = self._replay.start()
        if start is None:
            start = self._pos
        while (block := self.audio.get_nowait()) is not None:  # captured, never sent
            self._pos += len(block)
        if self._pos > start:
            self._add_gap(start, self._pos, f"stopped while {while_}")
        self._replay = _Replay(self._replay.max_bytes)
        self._set_state(State.STOPPED, f"Stopped while {while_}.")

    def _fail(self, verdict: CloseVerdict, attempts: int = 0, kind: str = "") -> None:
        message = verdict.message or f"Lost the connection to {self.title}."
        if attempts > 1:
            message = gave_up_message(message, attempts)
        self._set_state(State.FAILED, message, kind=kind or self._fatal_kind)
        self.audio.close()

    def _fail_fast_left_s(self) -> float:
        """Seconds left of the never-live budget (counted from the first connection attempt)."""
        if self._first_try_s is None:
            return self.fail_fast_s
        return self.fail_fast_s - (time.monotonic() - self._first_try_s)

    # -- one vendor connection -------------------------------------------------

    async def _open(self) -> tuple[Provider, Handshake, ClientConnection] | CloseVerdict:
        """Prepare the handshake and open one vendor connection (or say why not)."""
        provider = self._factory()
        self._provider_name = provider.name
        try:
            handshake = await asyncio.to_thread(provider.handshake, self._secret)
        except Exception as exc:  # noqa: BLE001 - token fetch etc.: reported, never raised
            # info: the verdict's message reaches the user (a warning would say it twice)
            log.info("%s: handshake preparation failed: %s", self.title,
                        describe_exception(exc, [self._secret]))
            return redact_verdict(provider.classify_exception(exc), self._secret)
        register_handshake(handshake.url, handshake.headers)
        try:
            check_ws_url(handshake.url, self.title)
        except EndpointError as exc:
            self._fatal_kind = FailureKind.ENDPOINT
            return CloseVerdict(CloseKind.FATAL, redact(str(exc)))
        if self._first_try_s is None:
            self._first_try_s = time.monotonic()
        open_timeout_s = self.open_timeout_s
        if not self.ever_live:
            open_timeout_s = max(1.0, min(open_timeout_s, self._fail_fast_left_s()))
        try:
            ws = await connect(
                handshake.url,
                additional_headers=handshake.headers,
                open_timeout=open_timeout_s,
                ping_interval=self.ping_interval_s,
                ping_timeout=self.ping_timeout_s,
                close_timeout=5,
                max_size=2**23,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            log.info("%s: handshake rejected with HTTP %s", self.title, status)
            verdict = provider.classify_refusal(status, exc.response.headers,
                                                bytes(exc.response.body or b""))
            return redact_verdict(verdict, self._secret)
        except Exception as exc:  # noqa: BLE001 - any failure to connect is reported, redacted
            log.info("%s: can't connect to %s: %s", self.title, where(handshake.url),
                     describe_exception(exc, [self._secret]))
            return self._unreachable(provider, handshake.url, exc, open_timeout_s)
        return provider, handshake, ws

    async def _begin(self, provider: Provider, handshake: Handshake, ws: ClientConnection,
                     offset: int, pace: Pace, *, successor: bool = False) -> _Conn:
        """Greet the vendor and start receiving on a freshly opened connection."""
        conn = _Conn(provider, ws, offset, pace)
        if successor:
            conn.rollover = True
            conn.held = []
        if handshake.first_message is not None:
            await ws.send(handshake.first_message)
        if not handshake.wait_for_started:
            conn.started.set()
            if not successor:
                self._set_state(State.LIVE)
        conn.receiver = asyncio.create_task(self._receive(conn))
        return conn

    async def _run_connection(self) -> tuple[CloseVerdict, bool]:
        successor, self._next = self._next, None
        if successor is not None:  # a rollover: already open and hearing the live audio
            self._opening = None
            return await self._serve(successor)
        opened = await self._open()
        if isinstance(opened, CloseVerdict):
            return opened, False
        provider, handshake, ws = opened
        await self._end_standby()
        self._mark_replay_loss()
        pace = pace_for(provider.name, provider.max_speed is not None)
        if self.live and self.reconnects:
            self._take_backlog()
            # the standby's last final may reach into the backlog: the cloud starts there
            self._replay.trim_before(self._standby_end_bytes)
            if self.catch_up == STAY_LIVE:
                self._skip_to_stay_live(pace)
        offset = self._replay.start()
        if offset is None:
            offset = self._pos
        try:
            conn = await self._begin(provider, handshake, ws, offset, pace)
        except ConnectionClosed:
            await ws.close()
            return provider.classify_close(ws.close_code, ws.close_reason or ""), False
        return await self._serve(conn)

    async def _serve(self, conn: _Conn) -> tuple[CloseVerdict, bool]:
        """Send and receive on ``conn`` until it ends (or hands over to its successor)."""
        provider, ws = conn.provider, conn.ws
        assert conn.receiver is not None
        receiver = conn.receiver
        sender = asyncio.create_task(self._send(conn))
        handed_over = False
        try:
            done, _ = await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_COMPLETED)
            if sender in done and not sender.cancelled() and sender.exception() is None:
                if conn.handover:
                    handed_over = True
                    self._retire(conn)
                    return _HANDED_OVER, True
                # input finished (or session cap): wait for the trailing finals
                try:
                    async with asyncio.timeout(self.eos_timeout_s):
                        await asyncio.shield(receiver)
                except TimeoutError:
                    log.warning("%s: no end-of-stream confirmation in %.0f s", self.title,
                                self.eos_timeout_s)
                    self._notice(f"{self.title} did not confirm the end of the stream in time; "
                                 "the last words may be missing.")
            for task in (receiver, sender):
                task.cancel()
            results = await asyncio.gather(receiver, sender, return_exceptions=True)
        finally:
            if not handed_over:
                sender.cancel()
                receiver.cancel()
                await ws.close()
                await self._drop_next()
        for result in results:
            if isinstance(result, TimeoutError) and not conn.started.is_set():
                # the vendor accepted the upgrade but never said it was ready
                return CloseVerdict(CloseKind.RETRY, f"{self.title} did not start the "
                                    "session in time."), False
            if isinstance(result, Exception) and not isinstance(result, ConnectionClosed):
                raise result  # a bug, not a network problem: run() reports it
        delivered = conn.got_final or conn.sent_bytes > 0
        if conn.eos_sent and (conn.ended.is_set() or ws.close_code in (1000, None)):
            if self._input_done:
                return _DONE, delivered
            # session cap rollover: carry on in a fresh vendor session
            return CloseVerdict(CloseKind.NORMAL), delivered
        verdict = provider.classify_close(ws.close_code, ws.close_reason or "")
        if conn.error is not None and verdict.kind is not CloseKind.FATAL and conn.error.fatal:
            # an in-band error the close code does not explain
            verdict = CloseVerdict(verdict.kind, verdict.message or conn.error.message,
                                   verdict.retry_after_s)
        if verdict.kind is CloseKind.NORMAL and not self._input_done:
            verdict = CloseVerdict(CloseKind.NORMAL, f"{self.title} ended the session; continuing.")
        log.info("%s: connection closed (code %s): %s", self.title, ws.close_code,
                 verdict.kind.value)
        return verdict, delivered

    async def _receive(self, conn: _Conn) -> None:
        try:
            async for raw in conn.ws:
                conn.activity.set()
                for event in conn.provider.parse(raw):
                    self._on_event(conn, event)
                if conn.ended.is_set():
                    return
        except ConnectionClosed:
            return
        finally:
            conn.closed = True
            conn.activity.set()  # NB: a sender waiting for acks must not wait on a dead socket

    def _on_event(self, conn: _Conn, event: object) -> None:
        if isinstance(event, (Partial, Final)):
            self._on_hypothesis(conn, event)
        elif isinstance(event, TranslationEvent):
            change = self.transcript.apply(event, self.source, conn.offset_ms)
            self._listener(TranscriptChanged(self.source, change))
        elif isinstance(event, Started):
            conn.started.set()
            if conn.held is None:  # (a rollover's next session: the stream is live already)
                self._set_state(State.LIVE)
        elif isinstance(event, Ended):
            conn.ended.set()
        elif conn.held is not None and isinstance(event, (VendorWarning, VendorError)):
            # a rollover's next session refused (e.g. a concurrency quota): the stream
            # rolls over at the cap instead, so this is no news for the user
            log.info("%s: next session: %s", self.title, event.message)
        elif isinstance(event, VendorWarning):
            self._notice(f"{self.title}: {event.message}")
        elif isinstance(event, VendorError):
            conn.error = event
            log.warning("%s reported an error: %s %s", self.title, event.code, event.message)
            self._notice(event.message, "error")

    def _on_hypothesis(self, conn: _Conn, event: Partial | Final) -> None:
        if conn.retiring:
            return  # the next session has taken over
        if conn.held is not None:
            if isinstance(event, Final):
                conn.held.append(event)  # until the boundary is known
            return
        if conn.floor_bytes is not None:
            kept = keep_from(event, conn.offset_ms, conn.floor_bytes // BYTES_PER_MS)
            if kept is None:
                return
            event = kept
        change = self.transcript.apply(event, self.source, conn.offset_ms)
        if isinstance(event, Final):
            conn.got_final = True
            end = conn.offset_bytes + event.end_ms * BYTES_PER_MS
            conn.last_final_end_bytes = max(conn.last_final_end_bytes, end)
            self._replay.trim_before(end)
        self._listener(TranscriptChanged(self.source, change))
        nxt = self._next
        if isinstance(event, Final) and nxt is not None and nxt.held is not None \
                and nxt.placed and end > nxt.offset_bytes and not conn.handover:
            # the old session ended an utterance past where the next one started: hand over
            log.info("%s: rollover boundary at %d ms", self.title, end // BYTES_PER_MS)
            conn.retiring = conn.handover = True
            conn.successor = nxt
            self._release(nxt, end)

    async def _send(self, conn: _Conn) -> None:
        async with asyncio.timeout(self.open_timeout_s + self.eos_timeout_s):
            await conn.started.wait()
        provider = conn.provider
        # 1) what the vendor may not have finalized before the last drop (the backlog);
        #    a rollover's next session heard the live audio instead
        for _pos, pcm in list(self._replay.blocks) if not conn.rollover else ():
            await self._send_pcm(conn, pcm, catching_up=True)
            self._report_catch_up(conn)
        # 2) new audio
        while True:
            if conn.handover:
                break
            if self._session_expired(conn):
                nxt = self._next
                if nxt is not None and nxt.placed and not nxt.closed:
                    log.info("%s: no boundary before the cap; the old session finalizes",
                             self.title)
                    conn.handover = True
                    conn.successor = nxt
                    break
                await self._drop_next()
                log.info("%s: rolling over to a new session before the vendor's cap", self.title)
                break
            self._maybe_open_next(conn)
            try:
                # WORKAROUND Python 3.11's wait_for() drops a cancellation that races
                # with a completed get() (gh-86296): the cancelled sender then waited
                # forever for acks from a dead connection. asyncio.timeout() is exact.
                async with asyncio.timeout(self.keepalive_s):
                    block = await self.audio.get()
            except TimeoutError:
                keepalive = provider.keepalive_message()
                if keepalive is not None:
                    await conn.ws.send(keepalive)
                continue
            self._account_drops()
            if block is None:
                self._input_done = True
                break
            pos = self._pos
            self._pos += len(block)
            self._replay.add(pos, block)
            behind = self.live and self.audio.size_bytes >= self.behind_threshold_ms * BYTES_PER_MS
            await self._send_pcm(conn, block, catching_up=behind)
            await self._feed_next(pos, block, behind)
            self._report_catch_up(conn)
        for frame in provider.flush_audio():
            await conn.ws.send(frame)
        finalize = provider.finalize_message()
        if finalize is not None:
            await conn.ws.send(finalize)
        eos = provider.end_of_stream()
        if eos is not None:
            await conn.ws.send(eos)
        conn.eos_sent = True

    async def _send_pcm(self, conn: _Conn, pcm: bytes, catching_up: bool = False) -> None:
        """Frame, pace and send ``pcm``: at the vendor's catch-up speed while behind."""
        provider = conn.provider
        live_speed = provider.max_speed
        speed = conn.pace.catchup_speed if catching_up and live_speed else live_speed
        for frame in provider.frame_audio(pcm):
            if conn.t0 is None:
                conn.t0 = time.monotonic()
            if speed:
                wait_s = conn.t0 + conn.paced_s - self.lead_ms / 1000 - time.monotonic()
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
                conn.paced_s += len(frame) / BYTES_PER_MS / 1000 / speed
            while provider.unacked_frames() >= self.max_unacked_frames:
                if conn.closed:
                    raise ConnectionClosedError(None, None)
                conn.activity.clear()
                await conn.activity.wait()
            await conn.ws.send(frame)
            conn.sent_bytes += len(frame)

    # -- bookkeeping ------------------------------------------------------------

    def _unreachable(self, provider: Provider, url: str, exc: Exception,
                     open_timeout_s: float) -> CloseVerdict:
        """What to say when the connection could not be opened at all (retryable)."""
        own = provider.unreachable_message
        if own:
            return CloseVerdict(CloseKind.RETRY, own)
        host = where(url) or self.title
        if isinstance(exc, ConnectionRefusedError):
            message = (f"Nothing answers at {host}: {self.title} refused the connection. "
                       "Check the endpoint, or use the offline engine.")
        elif isinstance(exc, socket.gaierror):
            message = (f"Can't find the {self.title} server {host.rsplit(':', 1)[0]}. Check the "
                       "network connection and the endpoint.")
        elif isinstance(exc, ssl.SSLCertVerificationError):
            message = (f"The server at {host} did not prove it is {self.title} (its certificate "
                       "is not valid for that address). Check the endpoint.")
        elif isinstance(exc, TimeoutError):
            message = (f"{self.title} at {host} did not answer within {open_timeout_s:.0f} s. "
                       "Check the network connection.")
        elif isinstance(exc, (InvalidHandshake, InvalidMessage)):
            message = (f"{host} did not answer as a {self.title} WebSocket server. "
                       "Check the endpoint.")
        else:
            message = (f"Can't reach {self.title} at {host} "
                       f"({describe_exception(exc, [self._secret])}). "
                       "Check the network connection.")
        return CloseVerdict(CloseKind.RETRY, message)

    def _take_backlog(self) -> None:
        """Move what piled up in the buffer during an outage into the replay (not sent yet)."""
        while (block := self.audio.get_nowait()) is not None:
            self._account_drops()
            self._replay.add(self._pos, block)
            self._pos += len(block)
        self._mark_replay_loss()

    def _skip_to_stay_live(self, pace: Pace) -> None:
        """Skip the oldest backlog the vendor can't absorb in time, as a marked gap."""
        start = self._replay.start()
        allowed_ms = absorbable_ms(pace)
        if start is None or allowed_ms is None:
            return
        backlog_ms = (self._pos - start) // BYTES_PER_MS
        if backlog_ms <= allowed_ms:
            return
        cut = self._pos - int(allowed_ms) * BYTES_PER_MS
        cut -= (cut - start) % BYTES_PER_MS
        self._replay.trim_before(cut)
        self._add_gap(start, cut, SKIPPED_REASON)
        self._listener(TranscriptChanged(self.source, self.transcript.clear_partial(self.source)))
        log.info("%s: skipped %d ms of backlog to stay live (%s catches up %s ms)", self.title,
                 (cut - start) // BYTES_PER_MS, self.title, int(allowed_ms))

    def behind_ms(self, conn: _Conn | None = None) -> int:
        """Audio captured but not yet sent (with ``conn``) or not yet covered by a final."""
        captured = self._pos + self.audio.size_bytes
        if conn is not None:
            done = conn.offset_bytes + conn.sent_bytes
        else:
            start = self._replay.start()
            done = self._pos if start is None else start
        return max(0, (captured - done) // BYTES_PER_MS)

    def _report_catch_up(self, conn: _Conn) -> None:
        """While a backlog is being sent, say how far behind (about once a second)."""
        if not self.live or not self.reconnects:
            return
        behind = self.behind_ms(conn)
        now = time.monotonic()
        if behind >= self.behind_threshold_ms:
            if now - conn.reported_s >= 1.0:
                conn.reported_s = now
                conn.catching_up = True
                self._set_state(State.LIVE, f"Catching up with {self.title}…", behind_ms=behind)
        elif conn.catching_up:
            conn.catching_up = False
            self._set_state(State.LIVE)

    def _cap_s(self, conn: _Conn) -> float | None:
        cap_s = self.max_session_s or conn.provider.max_session_s
        return cap_s if cap_s is not None and cap_s > 0 else None

    def _session_expired(self, conn: _Conn) -> bool:
        cap_s = self._cap_s(conn)
        return cap_s is not None and time.monotonic() - conn.opened > cap_s

    # -- overlapping rollover (captioner.rollover) --------------------------------

    def _maybe_open_next(self, conn: _Conn) -> None:
        """Open the next session once the cap is near (live audio, vendors that allow two)."""
        cap_s = self._cap_s(conn)
        if cap_s is None or not self.live or not conn.pace.overlap or conn.overlap_tried \
                or self._retiring:  # NB: never more than two sessions per source
            return
        if time.monotonic() - conn.opened < cap_s - overlap_window_s(cap_s, self.overlap_s):
            return
        conn.overlap_tried = True
        self._opening = asyncio.create_task(self._open_next(conn.pace),
                                            name=f"rollover-{self.source}")

    async def _open_next(self, pace: Pace) -> None:
        opened = await self._open()
        if isinstance(opened, CloseVerdict):
            log.info("%s: the next session could not be opened early (%s); rolling over at "
                     "the cap instead", self.title, opened.message)
            return
        provider, handshake, ws = opened
        try:
            self._next = await self._begin(provider, handshake, ws, -1, pace, successor=True)
        except ConnectionClosed:
            await ws.close()
            return
        log.info("%s: next session open; both hear the live audio until a boundary", self.title)

    async def _feed_next(self, pos: int, block: bytes, behind: bool) -> None:
        """The live block to the next session too, once it is ready."""
        nxt = self._next
        if nxt is None or not nxt.started.is_set():
            return
        if nxt.closed:
            await self._drop_next()
            return
        if not nxt.placed:
            nxt.place(pos)  # its audio starts here: at the live position, no catch-up
        try:
            await self._send_pcm(nxt, block, catching_up=behind)
        except ConnectionClosed:
            await self._drop_next()

    def _release(self, nxt: _Conn, boundary_bytes: int) -> None:
        """The boundary is known: the next session keeps its words from there on."""
        held, nxt.held = nxt.held or [], None
        nxt.floor_bytes = max(boundary_bytes, nxt.offset_bytes)
        self._listener(TranscriptChanged(self.source, self.transcript.clear_partial(self.source)))
        for final in held:
            self._on_hypothesis(nxt, final)

    def _retire(self, conn: _Conn) -> None:
        """End the old session in the background (its end-of-stream was sent)."""
        task = asyncio.create_task(self._end_old(conn), name=f"retire-{self.source}")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _end_old(self, conn: _Conn) -> None:
        assert conn.receiver is not None
        try:
            async with asyncio.timeout(self.eos_timeout_s):
                await asyncio.shield(conn.receiver)
        except TimeoutError:
            log.info("%s: the old session did not confirm its end in time", self.title)
        finally:
            conn.receiver.cancel()
            await asyncio.gather(conn.receiver, return_exceptions=True)
            await conn.ws.close()
            nxt = conn.successor
            if nxt is not None and nxt.held is not None:
                # no natural boundary: the old session's last final is the boundary
                self._release(nxt, conn.last_final_end_bytes)
            log.info("%s: old session ended after the rollover", self.title)

    async def _drop_next(self) -> None:
        """Give up the next session (the current one ended, or the next one failed)."""
        opening, self._opening = self._opening, None
        if opening is not None and not opening.done():
            opening.cancel()
        if opening is not None:
            await asyncio.gather(opening, return_exceptions=True)
        nxt, self._next = self._next, None
        if nxt is None:
            return
        nxt.held = None  # never shown: the current session (or a replay) covers its audio
        nxt.retiring = True
        if nxt.receiver is not None:
            nxt.receiver.cancel()
            await asyncio.gather(nxt.receiver, return_exceptions=True)
        await nxt.ws.close()

    async def _settle_rollover(self) -> None:
        """At the end: old sessions finish ending (bounded), an unused next one is closed."""
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        await self._drop_next()

    async def _abort_rollover(self) -> None:
        for task in list(self._retiring):
            task.cancel()
        await self._settle_rollover()

    def _account_drops(self) -> None:
        dropped = self.audio.dropped_bytes - self._seen_dropped
        if dropped <= 0:
            return
        self._seen_dropped = self.audio.dropped_bytes
        start = self._pos
        self._pos += dropped  # the dropped audio still took its time
        self._add_gap(start, self._pos, "audio buffer overflow")

    def _mark_replay_loss(self) -> None:
        lost = self._replay.lost
        if lost is not None:
            self._replay.lost = None
            self._add_gap(lost[0], lost[1], "connection lost; audio could not be resent")

    def _add_gap(self, start: int, end: int, reason: str) -> None:
        gap = Gap(start // BYTES_PER_MS, end // BYTES_PER_MS, self.source, reason)
        self.transcript.add_gap(gap)
        log.warning("%s: gap of %d ms (%s)", self.source, gap.end_ms - gap.start_ms, reason)
        self._listener(GapAdded(gap))

    def _set_state(self, state: State, message: str = "", retry_in_s: float = 0.0, *,
                   kind: str = "", replaced_provider: str = "", behind_ms: int = 0) -> None:
        message = redact(message, [self._secret])
        if state is State.LIVE:
            self.ever_live = True
        self.state = state
        self.message = message
        self._listener(StateChanged(self.source, state, message, retry_in_s,
                                    replaced_provider=replaced_provider, behind_ms=behind_ms,
                                    kind=kind))

    def _notice(self, message: str, level: str = "warning") -> None:
        self._listener(Notice(self.source, redact(message, [self._secret]), level))


def redact_verdict(verdict: CloseVerdict, secret: str | None) -> CloseVerdict:
    return CloseVerdict(verdict.kind, redact(verdict.message, [secret]), verdict.retry_after_s)
