"""Shared machinery of the fake batch (REST) vendor servers: a real HTTP server on 127.0.0.1.

A :class:`FakeHttpServer` runs ``http.server.ThreadingHTTPServer`` on a free
loopback port in a background thread (``with FakeRevAiBatch() as fake:`` starts
and stops it, joining every thread). Vendor subclasses implement
:meth:`FakeHttpServer.route`. Shared here:

* a request log (:class:`Request`: method, path, query, headers, body, parsed
  multipart fields) that tests assert on;
* injected faults (:meth:`FakeHttpServer.fail`): the next matching requests get
  a given status, headers (``Retry-After``) and vendor-shaped body;
* jobs (:class:`FakeJob`) with a state machine driven by the clock:
  ``queued_s`` then ``processing_s`` (0: done at once; None: never), then done
  or failed with a detail; deleted jobs answer 404;
* the "recognized" speech: :class:`captioner.testing.fakes.Utterance` s, by
  default one sentence every few seconds of the uploaded audio, two speakers.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import uuid
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from captioner.testing.fakes import Utterance

log = logging.getLogger(__name__)

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Request:
    """One request the fake received.

    Attributes:
        form: multipart fields, name → ``(filename or None, content type or None, bytes)``.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    form: dict[str, tuple[str | None, str | None, bytes]] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Fault:
    status: int
    body: bytes
    headers: dict[str, str]
    method: str | None
    path: str | None
    times: int


@dataclass
class FakeJob:
    """A vendor job; its state follows the clock from ``created``."""

    id: str
    audio_ms: int
    options: dict[str, Any]
    queued_s: float
    processing_s: float | None
    failure: str | None = None
    deleted: bool = False
    created: float = field(default_factory=time.monotonic)
    extra: dict[str, Any] = field(default_factory=dict)

    def state(self) -> str:
        """``queued``, ``processing``, ``done``, ``failed`` or ``deleted``."""
        if self.deleted:
            return "deleted"
        age = time.monotonic() - self.created
        if age < self.queued_s:
            return "queued"
        if self.processing_s is None or age < self.queued_s + self.processing_s:
            return "processing"
        return "failed" if self.failure else "done"


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, str | None,
                                                                        bytes]]:
    """Fields of a ``multipart/form-data`` body (empty if it is not one)."""
    params = dict(p.strip().split("=", 1) for p in content_type.split(";")[1:] if "=" in p)
    boundary = params.get("boundary", "").strip('"').encode()
    if not content_type.startswith("multipart/form-data") or not boundary:
        return {}
    fields: dict[str, tuple[str | None, str | None, bytes]] = {}
    for part in body.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = dict(
            p.strip().split("=", 1) for p in headers.get("content-disposition", "").split(";")[1:]
            if "=" in p)
        name = disposition.get("name", "").strip('"')
        filename = disposition.get("filename")
        fields[name] = (filename.strip('"') if filename is not None else None,
                        headers.get("content-type"), data.removesuffix(b"\r\n"))
    return fields


def audio_ms(data: bytes) -> int:
    """Duration of a WAV file's audio; 0 for anything else."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            return round(w.getnframes() * 1000 / w.getframerate())
    except (wave.Error, EOFError, ValueError):
        return 0


def default_script(duration_ms: int, sentence_ms: int = 4_000) -> list[Utterance]:
    """A sentence every ``sentence_ms`` of audio, speakers 0 and 1 taking turns by two."""
    utterances = []
    for n, start in enumerate(range(0, max(duration_ms - 500, 1), sentence_ms)):
        end = min(start + sentence_ms - 500, duration_ms)
        if end - start < 500:
            break
        utterances.append(Utterance(f"This is sentence number {n + 1} of the recording.",
                                    start, end, speaker=(n // 2) % 2))
    return utterances


def _fmt_ts(ms: int, sep: str) -> str:
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def simple_captions(utterances: list[Utterance], fmt: str) -> str:
    """One cue per utterance, as a vendor's caption endpoint would give."""
    sep = "," if fmt == "srt" else "."
    cues = []
    for n, u in enumerate(utterances, 1):
        times = f"{_fmt_ts(u.start_ms, sep)} --> {_fmt_ts(u.end_ms, sep)}"
        cues.append(f"{n}\n{times}\n{u.text}\n" if fmt == "srt" else f"{times}\n{u.text}\n")
    return ("WEBVTT\n\n" if fmt == "vtt" else "") + "\n".join(cues)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        log.debug("fake %s: " + format, self.server.fake.vendor, *args)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        body = self._body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                          headers, body, parse_multipart(body, headers.get("content-type", "")))
        status, reply_headers, reply = fake.dispatch(request)
        self.send_response(status)
        for name, value in reply_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply)

    do_GET = do_POST = do_DELETE = do_PUT = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, fake: FakeHttpServer) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class FakeHttpServer:
    """Base of the fake batch vendors.

    Attributes:
        keys: accepted API keys.
        queued_s, processing_s: job timing (``processing_s=None``: never finishes).
        failure: when set, jobs fail with this detail.
        max_upload_bytes: larger uploads get the vendor's 413.
        script: the speech to "recognize" (default: :func:`default_script`).
        requests: every request received, in order.
        jobs: job id → :class:`FakeJob`.
    """

    vendor = ""
    #: the vendor's real upload limit
    upload_limit_bytes = 2 * 1024**3

    def __init__(self, keys: Iterable[str] = ("test-key",), *, queued_s: float = 0.0,
                 processing_s: float | None = 0.0, failure: str | None = None,
                 max_upload_bytes: int | None = None,
                 script: list[Utterance] | None = None) -> None:
        self.keys = set(keys)
        self.queued_s = queued_s
        self.processing_s = processing_s
        self.failure = failure
        self.max_upload_bytes = max_upload_bytes or self.upload_limit_bytes
        self.script = script
        self.requests: list[Request] = []
        self.jobs: dict[str, FakeJob] = {}
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> FakeHttpServer:
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"fake-{self.vendor}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()  # joins the request threads
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeHttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (add the vendor's path with :attr:`base_url`)."""
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    base_path = ""

    @property
    def base_url(self) -> str:
        """The REST base URL a client is given as ``endpoint``."""
        return self.url + self.base_path

    # -- faults and jobs -------------------------------------------------------

    def fail(self, status: int, body: Any = None, *, headers: dict[str, str] | None = None,
             method: str | None = None, path: str | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path`` (a substring)
        with ``status``; ``body`` is JSON-encoded unless bytes or str."""
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body if body is not None else self.error_body(status)).encode()
        with self._lock:
            self._faults.append(Fault(status, data, {"Content-Type": "application/json",
                                                     **(headers or {})}, method, path, times))

    def error_body(self, status: int, message: str = "") -> Any:
        """The vendor's error body for ``status``."""
        return {"error": message or f"HTTP {status}"}

    def reply(self, status: int, body: Any = None, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> Reply:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        elif body is None and status >= 400:
            data = json.dumps(self.error_body(status)).encode()
        else:
            data = json.dumps(body).encode() if body is not None else b""
        return status, {"Content-Type": content_type, **(headers or {})}, data

    def error(self, status: int, message: str) -> Reply:
        return self.reply(status, self.error_body(status, message))

    def new_job(self, audio: bytes, options: dict[str, Any], **extra: Any) -> FakeJob:
        job = FakeJob(uuid.uuid4().hex[:12], audio_ms(audio), options, self.queued_s,
                      self.processing_s, self.failure, extra=extra)
        with self._lock:
            self.jobs[job.id] = job
        return job

    def utterances(self, job: FakeJob) -> list[Utterance]:
        return list(self.script) if self.script is not None else default_script(job.audio_ms)

    def requests_to(self, method: str, path_part: str = "") -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == method and path_part in r.path]

    # -- dispatch --------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
        """Wait until ``predicate()`` holds, checked after each request (for tests)."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout_s)

    def dispatch(self, request: Request) -> Reply:
        try:
            return self._dispatch(request)
        finally:
            with self._changed:
                self._changed.notify_all()

    def _dispatch(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            for fault in self._faults:
                if (fault.method in (None, request.method)
                        and (fault.path is None or fault.path in request.path)):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault.status, fault.headers, fault.body
        try:
            return self.route(request)
        except Exception:  # a bug in a fake must answer, not hang the client
            log.exception("fake %s failed on %s %s", self.vendor, request.method, request.path)
            return self.error(500, "fake server error")

    def route(self, request: Request) -> Reply:
        raise NotImplementedError
