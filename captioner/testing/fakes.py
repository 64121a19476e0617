"""Shared machinery of the fake vendor servers: listener, per-connection log, script.

A :class:`FakeServer` is a real ``websockets`` server on ``127.0.0.1`` (port 0,
so a free one). For every connection it records a :class:`ConnectionLog`
(path, query, headers, config, every frame with its size and arrival time,
what it sent, rule violations) and runs a :class:`FakeSession`, which vendor
modules subclass to speak their protocol. The script is:

* :class:`Utterance` s — text spoken between two audio positions. As audio
  arrives the session emits a partial each time another word has started and
  the final once the audio passed the utterance's end (timing follows the audio
  actually received, not the wall clock). End of stream finalizes every
  utterance that had started.
* actions — :class:`Send` (any frame, also malformed), :class:`Notice`
  (vendor-shaped warning/info), :class:`Fail` (vendor error message + its
  close), :class:`Close`, :class:`Drop` (abort TCP, no close frame). Each fires
  when ``at_ms`` of audio has arrived (``0``: right after the vendor's greeting;
  ``None``: right after the upgrade, before any greeting) on connection number
  ``connection`` (``None``: on every connection).

Limits, as each vendor states them (see :mod:`captioner.pacing` for the sources):
a session older than :attr:`FakeServer.max_session_s` (wall seconds since the
upgrade; configurable, e.g. a few seconds in tests) is ended the vendor's way
(:meth:`FakeSession.on_session_cap`) and recorded as a violation; a connection
beyond :attr:`FakeServer.max_concurrent` open sessions (or beyond the vendor's
own rule, :meth:`FakeServer.over_limit`) is refused the vendor's way — an HTTP
status (:meth:`FakeServer.busy_response`) or a close after the upgrade
(:meth:`FakeSession.on_busy`) — and counted in :attr:`FakeServer.refused_busy`.

Pacing: for vendors that limit the audio rate, audio received after the first
frame must not exceed wall time since the first frame times
:attr:`FakeServer.max_speed` (1 = real time) by more than
``realtime_slack_ms``; otherwise a violation is recorded once and the
vendor hook :meth:`FakeSession.on_too_fast` runs (AssemblyAI closes 3007).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

log = logging.getLogger(__name__)

PUNCTUATION = ".,?!;:"


@dataclass(frozen=True)
class Utterance:
    """Speech the fake "recognizes": ``text`` spoken from ``start_ms`` to ``end_ms``.

    Attributes:
        text: the formatted text; words are spread evenly over the span.
        start_ms, end_ms: audio positions (ms of audio received on the connection).
        speaker: 0-based speaker number, rendered per vendor when diarization is on.
    """

    text: str
    start_ms: int
    end_ms: int
    speaker: int | None = None

    def words(self) -> list[tuple[str, int, int]]:
        """``(formatted word, start_ms, end_ms)`` for each whitespace-separated word."""
        tokens = self.text.split()
        span = max(self.end_ms - self.start_ms, 0)
        n = max(len(tokens), 1)
        return [
            (tok, self.start_ms + span * i // n, self.start_ms + span * (i + 1) // n)
            for i, tok in enumerate(tokens)
        ]


def bare(word: str) -> str:
    """A word as unformatted output shows it: lower case, no punctuation."""
    return word.strip(PUNCTUATION).lower()


@dataclass(frozen=True)
class Send:
    """Send ``payload`` as is (a dict as JSON text, str as text, bytes as binary)."""

    payload: str | bytes | dict[str, Any]
    at_ms: int | None = 0
    connection: int | None = 0


@dataclass(frozen=True)
class Notice:
    """A vendor-shaped warning (``level="warning"``) or info message."""

    message: str
    code: str = ""
    level: str = "warning"
    at_ms: int | None = 0
    connection: int | None = 0


@dataclass(frozen=True)
class Fail:
    """The vendor's error message (where it has one), then a close with ``code``."""

    code: int
    message: str = "simulated failure"
    error_type: str = ""
    at_ms: int | None = 0
    connection: int | None = 0


@dataclass(frozen=True)
class Close:
    """Close with ``code`` and ``reason`` and nothing else."""

    code: int
    reason: str = ""
    at_ms: int | None = 0
    connection: int | None = 0


@dataclass(frozen=True)
class Drop:
    """Abort the TCP connection without a close frame."""

    at_ms: int | None = 0
    connection: int | None = 0


Action = Send | Notice | Fail | Close | Drop


@dataclass
class FrameLog:
    """One frame received: ``kind`` is ``"binary"`` or ``"text"``; ``at_s`` since open."""

    kind: str
    size_bytes: int
    at_s: float
    text: str | None = None


@dataclass
class ConnectionLog:
    """What one connection did, for assertions.

    Attributes:
        index: 0 for the first connection to the server, then 1, …
        path: request path without the query.
        query: decoded query parameters.
        headers: request headers, names in lower case.
        rejected_status: HTTP status if the upgrade was refused.
        config: vendor config (Speechmatics ``StartRecognition``), if any.
        frames: every frame received, in order.
        sent: every frame the fake sent.
        violations: broken vendor rules, as readable sentences.
        notes: other remarks (e.g. an action the vendor has no message for).
        audio_bytes: audio received; ``audio_ms`` converts with ``bytes_per_ms``.
        eos_received: the client's end-of-stream message arrived.
        close_code, close_reason: what the fake closed with, if it closed.
        dropped: the fake aborted the connection.
        audio: the audio itself when the server keeps it.
        start_ms: with a timecoded server, where the connection's audio starts.
        busy: refused (or to be refused) because of the vendor's concurrency rule.
        done: set once the connection is over.
    """

    index: int
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    rejected_status: int | None = None
    config: dict[str, Any] | None = None
    frames: list[FrameLog] = field(default_factory=list)
    sent: list[str | bytes] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    audio_bytes: int = 0
    bytes_per_ms: float = 32.0
    eos_received: bool = False
    close_code: int | None = None
    close_reason: str = ""
    dropped: bool = False
    audio: bytearray | None = None
    start_ms: int = 0
    busy: bool = False
    counted: bool = False  # counts as an open session (see FakeServer.active)
    opened_s: float = field(default_factory=time.monotonic)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def audio_ms(self) -> int:
        return int(self.audio_bytes / self.bytes_per_ms) if self.bytes_per_ms else 0

    @property
    def audio_frames(self) -> list[FrameLog]:
        return [f for f in self.frames if f.kind == "binary"]

    @property
    def texts(self) -> list[str]:
        return [f.text for f in self.frames if f.kind == "text" and f.text is not None]

    def sent_json(self) -> list[dict[str, Any]]:
        """The JSON objects the fake sent (other frames skipped)."""
        out = []
        for frame in self.sent:
            with contextlib.suppress(ValueError, TypeError):
                obj = json.loads(frame)
                if isinstance(obj, dict):
                    out.append(obj)
        return out

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class FakeSession:
    """One connection's protocol; vendor modules override the hooks.

    Attributes:
        server: the owning :class:`FakeServer`.
        ws: the server-side connection.
        log: this connection's :class:`ConnectionLog`.
        ended: the fake closed or dropped the connection (stop reading).
    """

    def __init__(self, server: FakeServer, ws: ServerConnection, conn_log: ConnectionLog) -> None:
        self.server = server
        self.ws = ws
        self.log = conn_log
        self.utterances = sorted(server.utterances_for(conn_log.index), key=lambda u: u.start_ms)
        self.revealed = [0] * len(self.utterances)
        self.finalized = [False] * len(self.utterances)
        self.actions = list(server.actions_for(conn_log.index))
        self.ended = False
        self.eos = False
        self._first_audio_s: float | None = None
        self._first_frame_bytes = 0
        self._too_fast = False
        self.last_data_s = time.monotonic()

    # -- vendor hooks ----------------------------------------------------------

    #: whether :meth:`open` sends the greeting; if not, the vendor session runs
    #: ``run_actions(0)`` itself once it greets (Speechmatics' RecognitionStarted)
    greets_on_open = True

    async def open(self) -> bool:
        """Greet / validate after the upgrade; False ends the connection."""
        return True

    async def accept_audio(self, data: bytes) -> bool:
        """Check one audio frame before it counts; False ends the connection."""
        return True

    async def after_audio(self, data: bytes) -> None:
        """Acknowledge an audio frame (Speechmatics ``AudioAdded``)."""

    async def on_text(self, text: str) -> bool:
        """Handle a client text frame; False ends the connection."""
        self.violate(f"unexpected text frame {text[:40]!r}")
        return True

    async def on_too_fast(self, message: str) -> None:
        """Audio arrived faster than real time (already recorded as a violation)."""

    async def on_idle(self) -> None:
        """No data for ``server.idle_timeout_s`` (Deepgram closes 1011)."""

    async def on_busy(self) -> None:
        """Refuse the session after the upgrade: the vendor's concurrency rule is hit."""
        await self.close(1013, "Try Again Later")

    async def on_session_cap(self) -> None:
        """The session reached the vendor's cap (already recorded as a violation)."""
        await self.close(1000, "")

    def partial_messages(self, index: int, utt: Utterance, n_words: int, pos_ms: int) -> list:
        return []

    def final_messages(self, index: int, utt: Utterance, n_words: int | None = None) -> list:
        return []

    def notice_messages(self, action: Notice) -> list:
        self.log.notes.append(f"{self.server.vendor} has no in-band {action.level} message")
        return []

    def error_messages(self, action: Fail) -> list:
        return []

    def error_close_reason(self, action: Fail) -> str:
        return action.message

    # -- helpers for vendor sessions -----------------------------------------------

    def violate(self, message: str) -> None:
        log.debug("%s fake: violation: %s", self.server.vendor, message)
        self.log.violations.append(message)

    async def send(self, payload: str | bytes | dict[str, Any]) -> None:
        frame = json.dumps(payload) if isinstance(payload, dict) else payload
        self.log.sent.append(frame)
        await self.ws.send(frame)

    async def send_all(self, payloads: Sequence[str | bytes | dict[str, Any]]) -> None:
        for payload in payloads:
            await self.send(payload)

    async def close(self, code: int, reason: str = "") -> None:
        self.ended = True
        self.log.close_code, self.log.close_reason = code, reason
        await self.ws.close(code, reason)

    def drop(self) -> None:
        self.ended = True
        self.log.dropped = True
        self.ws.transport.abort()

    async def advance(self) -> None:
        """Emit partials/finals for the audio received so far."""
        pos = self.log.audio_ms
        for i, utt in enumerate(self.utterances):
            if self.finalized[i]:
                continue
            if utt.start_ms >= pos:
                break
            if pos >= utt.end_ms + self.server.final_delay_ms:
                await self.finalize(i)
                continue
            started = sum(1 for _, start_ms, _ in utt.words() if start_ms < pos)
            if started > self.revealed[i]:
                self.revealed[i] = started
                await self.send_all(self.partial_messages(i, utt, started, pos))

    async def finalize(self, index: int, n_words: int | None = None) -> None:
        self.finalized[index] = True
        await self.send_all(self.final_messages(index, self.utterances[index], n_words))

    async def finalize_all(self) -> None:
        """End of stream: finalize every utterance that had started, with the words
        heard so far (a recognizer can't finalize words it was never sent)."""
        pos = self.log.audio_ms
        for i, utt in enumerate(self.utterances):
            if not self.finalized[i] and utt.start_ms < pos:
                heard = sum(1 for _, start_ms, _ in utt.words() if start_ms < pos)
                await self.finalize(i, None if heard == len(utt.words()) else heard)

    async def force_endpoint(self) -> int | None:
        """Finalize the utterance in progress with the words heard so far."""
        for i, _utt in enumerate(self.utterances):
            if not self.finalized[i] and self.revealed[i]:
                await self.finalize(i, self.revealed[i])
                return i
        return None

    # -- the loop ---------------------------------------------------------------

    async def run(self) -> None:
        watchdog = capper = None
        try:
            if self.log.busy:
                self.log.notes.append("refused: the vendor's concurrency limit")
                await self.on_busy()
                return
            cap_s = self.server.session_cap_for(self.log)
            if cap_s is not None:
                capper = asyncio.create_task(self._watch_cap(cap_s))
            if self.server.start_delay_s:
                await asyncio.sleep(self.server.start_delay_s)  # a real session takes time
            if await self.run_actions(None) or not await self.open() or self.ended:
                return
            if self.greets_on_open and await self.run_actions(0):
                return
            if self.server.idle_timeout_s is not None:
                watchdog = asyncio.create_task(self._watch_idle())
            async for message in self.ws:
                now_s = time.monotonic() - self.log.opened_s
                if isinstance(message, bytes):
                    self.log.frames.append(FrameLog("binary", len(message), now_s))
                    if not await self._on_binary(message):
                        return
                else:
                    size = len(message.encode("utf-8", "replace"))
                    self.log.frames.append(FrameLog("text", size, now_s, message))
                    if not await self.on_text(message):
                        return
                if self.ended:
                    return
        except ConnectionClosed:
            pass
        finally:
            for task in (watchdog, capper):
                if task is not None:
                    task.cancel()

    async def _watch_cap(self, cap_s: float) -> None:
        await asyncio.sleep(max(0.0, self.log.opened_s + cap_s - time.monotonic()))
        if self.ended:
            return
        self.violate(f"session ran into the vendor's cap of {cap_s:g} s")
        with contextlib.suppress(ConnectionClosed):
            await self.on_session_cap()

    async def _on_binary(self, data: bytes) -> bool:
        if self.server.timecoded and not self.log.audio_bytes:
            self._rebase(data)
        if not await self.accept_audio(data):
            return False
        if self.ended:
            return False
        self.log.audio_bytes += len(data)
        if self.log.audio is not None:
            self.log.audio += data
        if self.server.enforce_realtime and not self._too_fast:
            message = self._pace(len(data))
            if message:
                self._too_fast = True
                self.violate(message)
                await self.on_too_fast(message)
                if self.ended:
                    return False
        await self.after_audio(data)
        await self.advance()
        return not await self.run_actions(self.log.audio_ms)

    def _rebase(self, data: bytes) -> None:
        """Timecoded audio: hear the script from where this connection's audio starts."""
        from captioner.testing.timecode import read_timecode, rebase

        start_ms = read_timecode(data)
        if start_ms is None:
            self.violate("audio without a timecode sent to a timecoded fake")
            return
        self.log.notes.append(f"audio starts at {start_ms} ms")
        self.log.start_ms = start_ms
        self.utterances = rebase(self.server.utterances_for(self.log.index), start_ms)
        self.revealed = [0] * len(self.utterances)
        self.finalized = [False] * len(self.utterances)

    def _pace(self, size_bytes: int) -> str | None:
        now = time.monotonic()
        if self._first_audio_s is None:
            self._first_audio_s, self._first_frame_bytes = now, size_bytes
            return None
        if not self.log.bytes_per_ms:
            return None
        audio_ms = (self.log.audio_bytes - self._first_frame_bytes) / self.log.bytes_per_ms
        elapsed_ms = (now - self._first_audio_s) * 1000
        if audio_ms > elapsed_ms * self.server.max_speed + self.server.realtime_slack_ms:
            return (
                f"audio faster than real time: {audio_ms:.0f} ms of audio after the first "
                f"frame in {elapsed_ms:.0f} ms"
            )
        return None

    def touch(self) -> None:
        """Data arrived: reset the idle timer."""
        self.last_data_s = time.monotonic()

    async def _watch_idle(self) -> None:
        timeout_s = self.server.idle_timeout_s or 0.0
        while not self.ended:
            remaining_s = self.last_data_s + timeout_s - time.monotonic()
            if remaining_s <= 0:
                await self.on_idle()
                return
            await asyncio.sleep(remaining_s)

    async def run_actions(self, pos_ms: int | None) -> bool:
        """Run the actions due at ``pos_ms``; True if the connection ended."""
        due = [
            a
            for a in self.actions
            if (a.at_ms is None if pos_ms is None else a.at_ms is not None and a.at_ms <= pos_ms)
        ]
        for action in due:
            self.actions.remove(action)
            if isinstance(action, Send):
                await self.send(action.payload)
            elif isinstance(action, Notice):
                await self.send_all(self.notice_messages(action))
            elif isinstance(action, Fail):
                await self.send_all(self.error_messages(action))
                await self.close(action.code, self.error_close_reason(action))
            elif isinstance(action, Close):
                await self.close(action.code, action.reason)
            elif isinstance(action, Drop):
                self.drop()
            if self.ended:
                return True
        return False


Script = Sequence[Utterance] | Callable[[int], Sequence[Utterance]]


class FakeServer:
    """A vendor's fake on ``127.0.0.1``; use ``async with`` or :meth:`start`/:meth:`stop`.

    Args:
        utterances: what is "said", in vendor-session audio time; or a function
            of the connection index (each connection restarts at 0).
        actions: injected behaviour (see the module docstring).
        keys: accepted API keys / tokens.
        enforce_realtime: check pacing (default: the vendor's rule).
        realtime_slack_ms: how far ahead of real time audio may run.
        final_delay_ms: how long after an utterance's end its final comes.
        answer_eos: False to ignore the end-of-stream message (deadline tests).
        idle_timeout_s: close after this long without data, for vendors with
            such a rule (None: the vendor's default; 0: never).
        keep_audio: keep the received audio in each :class:`ConnectionLog`.
        max_session_s: end sessions this old the vendor's way (None: the
            vendor's cap; 0: never).
        max_concurrent: refuse connections beyond this many open sessions
            (None: the vendor's default limit; 0: no limit).
        start_delay_s: how long a new session takes to start (before its
            greeting), as a real service's does (default: at once).
        timecoded: the audio is :func:`~captioner.testing.timecode.timecode_pcm`;
            each connection hears the script from where its audio starts
            (utterance times are then absolute).

    Attributes:
        connections: one :class:`ConnectionLog` per connection attempt.
        active: sessions open now; ``peak_active`` the most at once.
        refused_busy: connections refused by the concurrency rule.
        url: ``ws://127.0.0.1:<port>`` (a bare host: providers add their path).
        endpoint: ``url`` plus the vendor's path.
    """

    vendor = "Fake"
    path = "/"
    session_class: type[FakeSession] = FakeSession
    realtime_only = True
    #: with ``realtime_only``: audio seconds per wall second the vendor accepts
    #: (a backlog sent after a reconnect; see :mod:`captioner.pacing`)
    max_speed = 1.0
    default_idle_timeout_s: float | None = None
    #: the vendor's session cap in wall seconds (None: none documented)
    session_cap_s: float | None = None
    #: open sessions the vendor allows an account at once (None: no such cap)
    concurrency_limit: int | None = None

    def __init__(
        self,
        utterances: Script = (),
        actions: Sequence[Action] = (),
        *,
        keys: Sequence[str] = ("test-key",),
        enforce_realtime: bool | None = None,
        realtime_slack_ms: int = 1000,
        final_delay_ms: int = 0,
        answer_eos: bool = True,
        idle_timeout_s: float | None = None,
        keep_audio: bool = False,
        timecoded: bool = False,
        max_session_s: float | None = None,
        max_concurrent: int | None = None,
        start_delay_s: float = 0.0,
    ) -> None:
        self._utterances = utterances
        self._actions = tuple(actions)
        self.keys = tuple(keys)
        self.enforce_realtime = self.realtime_only if enforce_realtime is None else enforce_realtime
        self.realtime_slack_ms = realtime_slack_ms
        self.final_delay_ms = final_delay_ms
        self.answer_eos = answer_eos
        if idle_timeout_s is None:
            idle_timeout_s = self.default_idle_timeout_s
        self.idle_timeout_s = idle_timeout_s or None
        self.keep_audio = keep_audio
        self.timecoded = timecoded
        self.max_session_s = self.session_cap_s if max_session_s is None else max_session_s or None
        self.max_concurrent = (self.concurrency_limit if max_concurrent is None
                               else max_concurrent or None)
        self.start_delay_s = start_delay_s
        self.active = self.peak_active = self.refused_busy = 0
        self.connections: list[ConnectionLog] = []
        self._server: Server | None = None
        self._pending: dict[ServerConnection, ConnectionLog] = {}
        self._changed = asyncio.Condition()

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> FakeServer:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            process_response=self._process_response,
            close_timeout=2,
            max_size=2**22,
            # NB: no read flow control, so a close frame behind unread audio is
            # still seen while the fake closes (else close() waits its timeout).
            max_queue=None,
            compression=None,
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FakeServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return self.url + self.path

    @property
    def violations(self) -> list[str]:
        return [v for c in self.connections for v in c.violations]

    async def wait_connection(self, index: int = 0, timeout_s: float = 5.0) -> ConnectionLog:
        """The log of connection ``index``, waiting for it to arrive."""
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: len(self.connections) > index)
        return self.connections[index]

    async def wait_done(self, index: int = 0, timeout_s: float = 5.0) -> ConnectionLog:
        """The log of connection ``index`` once that connection is over."""
        conn_log = await self.wait_connection(index, timeout_s)
        await asyncio.wait_for(conn_log.done.wait(), timeout_s)
        return conn_log

    # -- script --------------------------------------------------------------------

    def utterances_for(self, index: int) -> Sequence[Utterance]:
        if callable(self._utterances):
            return self._utterances(index)
        return self._utterances

    def actions_for(self, index: int) -> list[Action]:
        return [a for a in self._actions if a.connection is None or a.connection == index]

    # -- vendor hooks ----------------------------------------------------------------

    def http_response(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer a plain HTTP request (e.g. a token endpoint); None for upgrades."""
        return None

    def check_request(self, conn_log: ConnectionLog, request: Request) -> Response | None:
        """Validate the upgrade request; a :class:`Response` refuses it."""
        return None

    def response_headers(self, conn_log: ConnectionLog) -> dict[str, str]:
        return {}

    def session_cap_for(self, conn_log: ConnectionLog) -> float | None:
        """This session's cap in wall seconds (default :attr:`max_session_s`)."""
        return self.max_session_s

    def over_limit(self, conn_log: ConnectionLog) -> bool:
        """Whether the vendor's concurrency rule refuses this connection (default:
        :attr:`max_concurrent` sessions already open)."""
        return self.max_concurrent is not None and self.active >= self.max_concurrent

    def busy_response(self, conn_log: ConnectionLog) -> Response | None:
        """How the vendor refuses a connection beyond its limit before the upgrade
        (None: it accepts the upgrade and closes, :meth:`FakeSession.on_busy`)."""
        return None

    @staticmethod
    def reply(
        status: int, body: str | dict[str, Any], headers: dict[str, str] | None = None
    ) -> Response:
        """A plain HTTP response (JSON when ``body`` is a dict)."""
        if isinstance(body, dict):
            data, content_type = json.dumps(body).encode(), "application/json"
        else:
            data, content_type = body.encode(), "text/plain; charset=utf-8"
        all_headers = Headers(
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(data))),
                ("Connection", "close"),
            ]
        )
        for name, value in (headers or {}).items():
            all_headers[name] = value
        return Response(status, HTTPStatus(status).phrase, all_headers, data)

    # -- websockets callbacks ----------------------------------------------------------

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        plain = self.http_response(connection, request)
        if plain is not None:
            return plain
        parts = urlsplit(request.path)
        conn_log = ConnectionLog(
            index=len(self.connections),
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in request.headers.raw_items()},
            audio=bytearray() if self.keep_audio else None,
        )
        async with self._changed:
            self.connections.append(conn_log)
            self._changed.notify_all()
        refusal = self.check_request(conn_log, request)
        if refusal is None and self.over_limit(conn_log):
            self.refused_busy += 1
            conn_log.busy = True
            refusal = self.busy_response(conn_log)
        elif refusal is None:
            conn_log.counted = True
            self.active += 1
            self.peak_active = max(self.peak_active, self.active)
        if refusal is not None:
            conn_log.rejected_status = refusal.status_code
            for name, value in self.response_headers(conn_log).items():
                refusal.headers[name] = value
            conn_log.done.set()
            return refusal
        self._pending[connection] = conn_log
        return None

    def _process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> Response | None:
        conn_log = self._pending.get(connection)
        if conn_log is not None:
            for name, value in self.response_headers(conn_log).items():
                response.headers[name] = value
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        conn_log = self._pending.pop(ws)
        session = self.session_class(self, ws, conn_log)
        try:
            await session.run()
        except Exception:
            log.exception("%s fake: session failed", self.vendor)
            conn_log.violations.append("fake server error (see log)")
        finally:
            if conn_log.counted:
                self.active -= 1
            conn_log.done.set()


def new_id() -> str:
    return str(uuid.uuid4())


def parse_bool(value: str | None) -> bool | None:
    """``"true"``/``"false"`` → bool; None if absent; raises ValueError otherwise."""
    if value is None:
        return None
    if value in ("true", "false"):
        return value == "true"
    raise ValueError(value)
