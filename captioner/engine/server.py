"""``captioner serve``: the offline recognizer behind a Speechmatics RT v2 WebSocket server.

One loaded model is shared; each connection gets its own recognizer and its own
worker thread, so sessions run side by side (bounded by ``max_sessions``) and
heavy inference never blocks the event loop. Audio frames are acknowledged
with ``AudioAdded`` only after they have been recognized, which gives clients
the back-pressure the protocol promises. Binds loopback by default; any other
address needs a token (``Authorization: Bearer <token>`` or ``?jwt=<token>``).

Limits that hold whatever a client sends: a session slot (and its worker
thread) is held from accept to close, so at most ``max_sessions`` connections
are ever served; ``StartRecognition`` must come within
:data:`START_TIMEOUT_S`; a session with no message for :data:`IDLE_TIMEOUT_S`
gets ``Error idle_timeout`` and close 1008; after ``EndOfStream`` the client
has :data:`EOS_CLOSE_TIMEOUT_S` in all to close; an audio frame longer than
:data:`MAX_FRAME_S` is refused with ``Error protocol_error``; and any
malformed frame (bad or deeply nested JSON, a non-object) gets an ``Error``
message, never a bare 1011.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import replace
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from captioner import __version__
from captioner.audio.resample import StreamConverter
from captioner.engine import protocol
from captioner.engine.base import Hypothesis, Recognizer

log = logging.getLogger(__name__)

RecognizerFactory = Callable[[protocol.RecognitionSettings], Recognizer]

START_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 60.0
EOS_CLOSE_TIMEOUT_S = 10.0
MAX_FRAME_S = 5.0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EngineServer:
    """Serves recognition sessions over the Speechmatics RT v2 protocol.

    Args:
        recognizer_factory: makes a recognizer for one session's settings (called
            in a thread).
        token: required from clients when set.
        max_sessions: concurrent sessions; more get ``quota_exceeded`` (close 4005).
        languages, models: what StartRecognition may ask for.
    """

    def __init__(self, recognizer_factory: RecognizerFactory, *, token: str | None = None,
                 max_sessions: int = 4, eos_close_timeout_s: float = EOS_CLOSE_TIMEOUT_S,
                 start_timeout_s: float = START_TIMEOUT_S,
                 idle_timeout_s: float = IDLE_TIMEOUT_S,
                 languages: tuple[str, ...] = protocol.SUPPORTED_LANGUAGES,
                 models: tuple[str, ...] = ("tiny.en",)) -> None:
        self._factory = recognizer_factory
        self.languages = languages
        self.models = models
        self._token = token
        self.max_sessions = max_sessions
        self.active_sessions = 0
        self.eos_close_timeout_s = eos_close_timeout_s
        self.start_timeout_s = start_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self._server: Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen; returns the ws:// URL clients should use."""
        if not is_loopback(host) and not self._token:
            raise ValueError(f"refusing to listen on {host} without --token: anyone on the "
                             "network could use the engine")
        self._server = await serve(self._handle, host, port, process_request=self._check_auth,
                                   max_size=2**22, ping_interval=20, ping_timeout=60)
        sock = next(iter(self._server.sockets))
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        return f"ws://{shown}:{bound_port}/v2"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _check_auth(self, connection: ServerConnection, request: Request) -> Response | None:
        if not self._token:
            return None
        header = request.headers.get("Authorization", "")
        query = parse_qs(urlsplit(request.path).query)
        offered = header[7:] if header.startswith("Bearer ") else (query.get("jwt") or [""])[0]
        if hmac.compare_digest(offered.encode(), self._token.encode()):
            return None
        return connection.respond(HTTPStatus.UNAUTHORIZED, "a valid token is required\n")

    async def _handle(self, ws: ServerConnection) -> None:
        if self.active_sessions >= self.max_sessions:
            await self._fail(ws, "quota_exceeded",
                             f"the engine is serving its maximum of {self.max_sessions} sessions")
            return
        # NB: the slot is held until the connection closes, whatever the client sends
        self.active_sessions += 1
        worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="engine-session")
        try:
            await self._session(ws, worker)
        except ConnectionClosed:
            log.info("client went away mid-session")
        except Exception:  # a bug here must not take the server down
            log.exception("session failed")
            await self._fail(ws, "unknown_error", "the offline engine failed; try again")
        finally:
            worker.shutdown(wait=False, cancel_futures=True)
            self.active_sessions -= 1

    async def _fail(self, ws: ServerConnection, type_: str, reason: str,
                    seq_no: int | None = None) -> None:
        try:
            await ws.send(protocol.error(type_, reason, seq_no))
            await ws.close(protocol.CLOSE_CODES.get(type_, 1011), type_)
        except ConnectionClosed:
            pass

    async def _session(self, ws: ServerConnection,
                       worker: concurrent.futures.ThreadPoolExecutor) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.start_timeout_s):
                first = await ws.recv()
            fmt, config = protocol.parse_start(first, self.languages, self.models)
        except protocol.ProtocolError as exc:
            await self._fail(ws, exc.type, exc.reason)
            return
        except TimeoutError:
            await self._fail(ws, "protocol_error",
                             f"no StartRecognition within {self.start_timeout_s:.0f} s")
            return
        try:
            settings = protocol.recognition_settings(config)
            recognizer = await loop.run_in_executor(worker, self._factory, settings)
        except Exception as exc:
            log.exception("could not create a recognizer")
            await self._fail(ws, "job_error", f"the offline engine could not start: {exc}")
            return
        dtype = "<i2" if fmt.encoding == "pcm_s16le" else "<f4"
        converter = StreamConverter(fmt.sample_rate_hz, 1, dtype)
        max_frame_bytes = int(MAX_FRAME_S * fmt.sample_rate_hz) * np.dtype(dtype).itemsize
        await ws.send(protocol.recognition_started(__version__))
        seq_no = 0
        eos_deadline: float | None = None  # after EndOfStream: when the client must be gone
        fed_ms = 0  # audio given to the recognizer since its last reset
        base_ms = 0  # session time of the recognizer's zero (finish() resets it)

        async def send(hyps: list) -> None:
            for hyp in hyps:
                if base_ms:
                    hyp = shift(hyp, base_ms)
                await ws.send(protocol.transcript(hyp))

        while True:
            try:
                # after EndOfTranscript the client should close: it gets a fixed time
                # in all, however many messages it keeps sending
                if eos_deadline is not None:
                    async with asyncio.timeout_at(eos_deadline):
                        message = await ws.recv()
                else:
                    async with asyncio.timeout(self.idle_timeout_s):
                        message = await ws.recv()
            except TimeoutError:
                if eos_deadline is None:
                    await self._fail(ws, "idle_timeout", "no audio or message for "
                                     f"{self.idle_timeout_s:.0f} s")
                else:
                    await ws.close()
                return
            except ConnectionClosed:
                return
            if isinstance(message, bytes):
                if eos_deadline is not None:
                    await ws.send(protocol.warning("add_audio_after_eos",
                                                   "audio after EndOfStream is ignored"))
                    continue
                seq_no += 1
                if len(message) % np.dtype(dtype).itemsize:
                    await self._fail(ws, "protocol_error", "audio frame is not a whole number of "
                                     "samples", seq_no)
                    return
                if len(message) > max_frame_bytes:
                    seconds = len(message) / max_frame_bytes * MAX_FRAME_S
                    await self._fail(ws, "protocol_error", f"audio frames must hold at most "
                                     f"{MAX_FRAME_S:.0f} s; this one holds {seconds:.0f} s",
                                     seq_no)
                    return
                pcm = converter.convert(message)
                fed_ms += len(pcm) // 32
                await send(await loop.run_in_executor(worker, recognizer.accept, pcm))
                await ws.send(protocol.audio_added(seq_no))
                continue
            msg = protocol.load_message(message)
            if msg is None:
                await self._fail(ws, "invalid_message", "message is not a JSON object")
                return
            kind = msg.get("message")
            if eos_deadline is not None:
                continue  # a repeated EndOfStream, or configuration after it: nothing to do
            if kind == "EndOfStream":
                last = msg.get("last_seq_no")
                if last != seq_no:
                    await ws.send(protocol.warning(
                        "protocol_warning" if isinstance(last, int) else "invalid_message",
                        f"last_seq_no {last!r} does not match the {seq_no} frames received"))
                tail = converter.convert(b"", last=True)
                await send(await loop.run_in_executor(worker, _finish, recognizer, tail))
                await ws.send(protocol.end_of_transcript())
                eos_deadline = loop.time() + self.eos_close_timeout_s
                continue
            if kind == "ForceEndOfUtterance":
                # finish() finalizes and restarts the recognizer's clock at 0
                await send(await loop.run_in_executor(worker, recognizer.finish))
                base_ms, fed_ms = base_ms + fed_ms, 0
                continue
            if kind == "SetRecognitionConfig":
                delay = protocol.max_delay_ms(msg.get("transcription_config"))
                set_delay = getattr(recognizer, "set_max_delay", None)
                if delay is not None and set_delay is not None:
                    await loop.run_in_executor(worker, set_delay, delay)
                continue  # other fields do not change how this engine decodes
            if kind == "StartRecognition":
                await self._fail(ws, "protocol_error", "StartRecognition was already received")
                return
            await self._fail(ws, "invalid_message", f"unknown message {str(kind)[:40]!r}")
            return


def shift(hyp: Hypothesis, offset_ms: int) -> Hypothesis:
    words = tuple(replace(w, start_ms=w.start_ms + offset_ms, end_ms=w.end_ms + offset_ms)
                  for w in hyp.words)
    return replace(hyp, start_ms=hyp.start_ms + offset_ms, end_ms=hyp.end_ms + offset_ms,
                   words=words)


def _finish(recognizer: Recognizer, tail: bytes) -> list:
    hyps = recognizer.accept(tail) if tail else []
    return hyps + recognizer.finish()


async def serve_forever(host: str, port: int, token: str | None, max_sessions: int,
                        threads: int, on_ready: Callable[[str], None],
                        model: str = "tiny.en") -> None:
    from captioner.engine.factory import WhisperFactory

    factory = await asyncio.to_thread(WhisperFactory, model, threads)
    server = EngineServer(factory, token=token, max_sessions=max_sessions,
                          languages=factory.languages, models=factory.installed)
    url = await server.start(host, port)
    on_ready(url)
    try:
        await asyncio.Future()
    finally:
        await server.close()
