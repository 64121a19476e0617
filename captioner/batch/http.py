"""HTTP for the batch clients: one vendor's base URL and auth, retries, uploads, plain-words errors.

:class:`Http` wraps an ``httpx.AsyncClient`` for one vendor. Every request
goes through :meth:`Http.request`, which retries 429 (waiting as long as
``Retry-After`` says, or with backoff) and 502/503/504 and network failures (at
most :attr:`RetrySettings.max_server_retries` times, backoff with jitter), and
turns any other non-2xx answer into a :class:`BatchError` whose message says
what to do. Upload bodies (:class:`Body`) are files streamed from disk in
chunks with byte progress, as a raw body or ``multipart/form-data``; they are
rebuilt for each retry. No message or log line holds the key or a URL query.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import mimetypes
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from captioner.errors import UserFacingError
from captioner.retry import RetryPolicy

log = logging.getLogger(__name__)
# httpx logs every request with its full URL (a query may hold options or a token)
logging.getLogger("httpx").setLevel(logging.WARNING)

CHUNK_BYTES = 256 * 1024
RETRY_STATUSES = frozenset({502, 503, 504})
CREDIT_WORDS = ("credit", "balance", "insufficient", "payment", "funds")

ProgressFn = Callable[[int, int], None]


class BatchError(UserFacingError):
    """A batch job failed; the message says what to do.

    Attributes:
        kind: ``"auth"``, ``"credit"``, ``"too_large"``, ``"rate_limited"``,
            ``"server"``, ``"network"``, ``"refused"``, ``"not_found"``,
            ``"failed"`` (the vendor could not transcribe the file) or ``"cancelled"``.
        status: the HTTP status behind it, if any.
    """

    def __init__(self, message: str, kind: str = "refused", status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


@dataclass(frozen=True)
class RetrySettings:
    """How hard to try before giving up on one request.

    Attributes:
        backoff: delays between retries of 5xx answers and network failures.
        max_server_retries: retries of 502/503/504 and network failures.
        max_unreached_retries: retries while the vendor has never answered (a
            wrong endpoint, no network): fail fast, within seconds.
        unreached_delay_s: the delay between those.
        max_rate_limited: 429 answers in a row before giving up.
        timeout_s: connect/read timeout of one request.
    """

    backoff: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(initial_s=1.0, factor=2.0, max_s=30.0, jitter=0.2,
                                            max_attempts=None))
    max_server_retries: int = 5
    max_unreached_retries: int = 2
    unreached_delay_s: float = 0.5
    max_rate_limited: int = 30
    timeout_s: float = 60.0


@dataclass(frozen=True)
class Part:
    """One text field of a multipart form."""

    name: str
    value: str
    content_type: str | None = None


class Body:
    """A file to send as the request body, raw or inside a multipart form.

    Attributes:
        path: the file.
        content_type: of the whole body (``multipart/form-data; boundary=…`` for a form).
        length: bytes the body will have.
    """

    def __init__(self, path: Path, *, parts: tuple[Part, ...] = (), file_field: str | None = None,
                 file_type: str | None = None, parts_after: tuple[Part, ...] = ()) -> None:
        self.path = path
        self.file_bytes = path.stat().st_size
        self.file_type = file_type or guess_type(path)
        self._head = self._tail = b""
        if file_field is None:
            self.content_type = self.file_type
        else:
            boundary = secrets.token_hex(16)
            self.content_type = f"multipart/form-data; boundary={boundary}"
            head = b"".join(_form_part(boundary, p.name, p.value.encode(), p.content_type)
                            for p in parts)
            filename = path.name.replace('"', "_").replace("\r", "_").replace("\n", "_")
            head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; "
                     f"filename=\"{filename}\"\r\nContent-Type: {self.file_type}\r\n\r\n").encode()
            tail = b"\r\n" + b"".join(_form_part(boundary, p.name, p.value.encode(),
                                                  p.content_type) for p in parts_after)
            self._head, self._tail = head, tail + f"--{boundary}--\r\n".encode()
        self.length = len(self._head) + self.file_bytes + len(self._tail)

    async def chunks(self, progress: ProgressFn | None) -> AsyncIterator[bytes]:
        """The body in chunks; ``progress(sent_file_bytes, file_bytes)`` after each."""
        yield self._head
        sent = 0
        with self.path.open("rb") as f:
            while chunk := f.read(CHUNK_BYTES):
                yield chunk
                sent += len(chunk)
                if progress:
                    progress(sent, self.file_bytes)
                await asyncio.sleep(0)
        if progress and not self.file_bytes:
            progress(0, 0)
        yield self._tail


def _form_part(boundary: str, name: str, value: bytes, content_type: str | None) -> bytes:
    head = f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + value + b"\r\n"


def guess_type(path: Path) -> str:
    kind, _ = mimetypes.guess_type(path.name)
    if path.suffix.lower() == ".opus":
        return "audio/ogg"
    return kind or "application/octet-stream"


def retry_after_s(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta or HTTP date), or None."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.hostname or url.split("?")[0]


def generic_detail(response: httpx.Response) -> str:
    """A vendor error body in a few words: JSON ``detail``/``error``/``message``… or text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict):
        found = [str(body[k]) for k in ("title", "detail", "error", "err_msg", "message", "reason")
                 if isinstance(body.get(k), (str, int)) and str(body.get(k)).strip()]
        if isinstance(body.get("parameter"), str):
            found.append(f"parameter: {body['parameter']}")
        elif isinstance(body.get("parameters"), dict):
            found.append("parameters: " + ", ".join(map(str, body["parameters"])))
        return "; ".join(dict.fromkeys(found))[:300]
    return str(body)[:200]


class Http:
    """Requests to one vendor with its auth, retries and error wording.

    Attributes:
        base_url: the vendor's REST base (no query string).
        title: the vendor's name in messages.
        env_var: where the key can also come from, for the 401 message.
        upload_limit: the vendor's documented file limit, for the 413 message.
    """

    def __init__(self, client: httpx.AsyncClient, base_url: str, *, title: str,
                 auth_headers: dict[str, str], secret: str | None = None, env_var: str = "",
                 upload_limit: str = "", detail: Callable[[httpx.Response], str] = generic_detail,
                 retry: RetrySettings | None = None) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.title = title
        self.auth_headers = auth_headers
        self.secret = secret
        self.env_var = env_var
        self.upload_limit = upload_limit
        self.detail = detail
        self.retry = retry or RetrySettings()
        #: ``Retry-After`` of the last answer, for the poll loop
        self.last_retry_after_s: float | None = None
        #: whether the vendor ever answered (until then, network failures fail fast)
        self.reached = False

    def url(self, path: str) -> str:
        return path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"

    def clean(self, text: str) -> str:
        """``text`` with the key blanked out (vendor messages may echo a header)."""
        if self.secret and len(self.secret) >= 4:
            text = text.replace(self.secret, "•••")
        return text

    async def request(self, method: str, path: str, *, body: Body | None = None,
                      progress: ProgressFn | None = None, ok: tuple[int, ...] = (),
                      **kwargs: Any) -> httpx.Response:
        """Send with retries; return a 2xx response (or one whose status is in ``ok``).

        Raises:
            BatchError: any other answer, or the network failed for good.
        """
        server_failures = rate_limited = 0
        headers = {**self.auth_headers, **kwargs.pop("headers", {})}
        while True:
            if body is not None:
                kwargs["content"] = body.chunks(progress)
                headers["Content-Type"] = body.content_type
                headers["Content-Length"] = str(body.length)
            started = time.monotonic()
            try:
                response = await self.client.request(method, self.url(path), headers=headers,
                                                     **kwargs)
            except (httpx.TransportError, httpx.InvalidURL, OSError) as exc:
                server_failures += 1
                log.info("%s %s %s: %s", self.title, method, urlsplit(self.url(path)).path,
                         type(exc).__name__)
                limit = self.retry.max_server_retries if self.reached \
                    else self.retry.max_unreached_retries
                if server_failures > limit or isinstance(exc, httpx.InvalidURL):
                    raise BatchError(
                        f"Can't reach {self.title} at {host_of(self.base_url)} "
                        f"({_network_reason(exc)}, {server_failures} attempts) — check the "
                        "network and the endpoint, then run the same command again",
                        "network") from None
                await asyncio.sleep(self.retry.backoff.delay_s(server_failures) if self.reached
                                    else self.retry.unreached_delay_s * server_failures)
                continue
            self.reached = True
            self.last_retry_after_s = retry_after_s(response)
            log.debug("%s %s %s → %d in %.2f s", self.title, method,
                      urlsplit(str(response.url)).path, response.status_code,
                      time.monotonic() - started)
            status = response.status_code
            if 200 <= status < 300 or status in ok:
                return response
            if status == 429:
                rate_limited += 1
                if rate_limited <= self.retry.max_rate_limited:
                    wait_s = self.last_retry_after_s
                    if wait_s is None:
                        wait_s = self.retry.backoff.delay_s(rate_limited)
                    log.info("%s: rate limited; waiting %.1f s", self.title, wait_s)
                    await asyncio.sleep(wait_s)
                    continue
            elif status in RETRY_STATUSES:
                server_failures += 1
                if server_failures <= self.retry.max_server_retries:
                    wait_s = max(self.last_retry_after_s or 0.0,
                                 self.retry.backoff.delay_s(server_failures))
                    log.info("%s: HTTP %d; retry %d in %.1f s", self.title, status,
                             server_failures, wait_s)
                    await asyncio.sleep(wait_s)
                    continue
            raise self.error(response)

    def error(self, response: httpx.Response) -> BatchError:
        """The plain-words error for a failed answer."""
        status = response.status_code
        detail = self.clean(self.detail(response))
        said = f" ({detail})" if detail else ""
        vendor = self.title
        credit = any(w in detail.lower() for w in CREDIT_WORDS)
        if status == 402 or (status in (400, 403) and credit):
            return BatchError(f"Your {vendor} account has no credit left{said} — add credit "
                              f"in your {vendor} account, then run the same command again",
                              "credit", status)
        if status in (401, 403):
            where = f" or {self.env_var}" if self.env_var else ""
            return BatchError(f"{vendor} rejected the API key (HTTP {status}){said} — check "
                              f"the key in Preferences → Providers{where}", "auth", status)
        if status == 413:
            limit = f"; {vendor} accepts files up to {self.upload_limit}" if self.upload_limit \
                else ""
            return BatchError(f"The file is too large for {vendor} (HTTP 413{limit}) — "
                              "split or compress it (FLAC or Opus) and try again",
                              "too_large", status)
        if status == 429:
            return BatchError(f"{vendor} kept refusing with 'too many requests'{said} — wait "
                              "a few minutes and run the same command again",
                              "rate_limited", status)
        if status >= 500:
            return BatchError(f"{vendor} had a server error (HTTP {status}){said} — try again "
                              "later; a job already submitted is resumed, not paid twice",
                              "server", status)
        if status == 404:
            return BatchError(f"{vendor} does not know this job or path (HTTP 404){said}",
                              "not_found", status)
        return BatchError(f"{vendor} refused the request (HTTP {status}){said}", "refused",
                          status)


def _network_reason(exc: BaseException) -> str:
    """A network failure in a few words (never its text, which may name the URL)."""
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:  # httpx wraps the OS error
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "no server by that name"  # a typo in the endpoint, or no DNS
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return type(exc).__name__


def json_of(response: httpx.Response, what: str, title: str) -> dict[str, Any]:
    """The JSON object of a response, or a clear error naming ``what``."""
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        body = None
    if not isinstance(body, dict):
        raise BatchError(f"{title} sent an unreadable {what}", "server", response.status_code)
    return body
