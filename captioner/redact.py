"""Keep secrets out of every message, log line and crash report.

:func:`redact` removes what can carry a credential from a piece of text: URL
query strings (Rev AI's ``access_token``, AssemblyAI's temporary ``token``,
Speechmatics' ``jwt``), ``Authorization`` header values (``Bearer``, ``Token``,
a bare key), and every secret value registered with :func:`register_secret`
(API keys, temporary keys fetched for one session) wherever it appears.

The stream catches every exception at its boundary and reports only redacted
text; :func:`install_log_redaction` is the safety net behind it: every log
record (message, arguments, traceback, stack) is redacted when it is made, so
no handler — console, log file, crash dialog — can write a secret.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

MASK = "[redacted]"
_MIN_SECRET_CHARS = 4  # shorter "secrets" would blank out ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()

# scheme://host/path?query  →  scheme://host/path?[redacted]
_URL_QUERY = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>?#]*)\?[^\s'\"<>#]*")
# a query fragment without its URL (an HTTP request line, a path)
_SECRET_NAMES = (r"access_token|token|jwt|key|api_key|apikey|auth|authorization|secret|"
                 r"password|signature|sig")
_SECRET_PARAMS = re.compile(f"(?i)(?:{_SECRET_NAMES})")
_PARAM = re.compile(f"(?i)([?&;](?:{_SECRET_NAMES})=)[^&\\s'\"#]*")
# Authorization: Bearer x / 'Authorization': 'x' / authorization=x
_AUTH_HEADER = re.compile(
    r"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)(?:(?:bearer|token|basic)\s+)?"
    r"[^\s'\",}\]]+")
_AUTH_SCHEME = re.compile(r"\b(Bearer|Token|Basic)\s+[A-Za-z0-9._~+/=\-]{8,}")


def register_secret(value: str | None) -> None:
    """Remember ``value`` (a key or token) so that it is masked wherever it appears."""
    if value and len(value) >= _MIN_SECRET_CHARS:
        with _lock:
            _secrets.add(value)


def register_handshake(url: str, headers: dict[str, str]) -> None:
    """Register the credentials a handshake carries (query tokens, ``Authorization`` values)."""
    query = urlsplit(url).query if "?" in url else ""
    for name, value in parse_qsl(query, keep_blank_values=True):
        if _SECRET_PARAMS.fullmatch(name):
            register_secret(value)
    for name, value in headers.items():
        if name.lower() in ("authorization", "proxy-authorization"):
            register_secret(value)
            register_secret(value.partition(" ")[2])


def forget_secrets() -> None:
    """Drop every registered secret (tests)."""
    with _lock:
        _secrets.clear()


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without URL queries, authorization values and known secrets."""
    if not text:
        return text
    with _lock:
        known = set(_secrets)
    known.update(s for s in secrets if s and len(s) >= _MIN_SECRET_CHARS)
    # longest first, so a secret containing another is masked whole
    for secret in sorted(known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_QUERY.sub(lambda m: f"{m.group(1)}?{MASK}", text)
    text = _PARAM.sub(lambda m: m.group(1) + MASK, text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + MASK, text)
    return _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {MASK}", text)


def describe_exception(exc: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """``TypeName: message`` of ``exc``, redacted, on one line."""
    detail = " ".join(str(exc).split())
    name = type(exc).__name__
    return redact(f"{name}: {detail}" if detail else name, secrets)


def format_exception(exc: BaseException) -> str:
    """A traceback for logs and crash reports, redacted."""
    return redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


_installed = False


def install_log_redaction() -> None:
    """Redact every log record as it is made (idempotent).

    NB: a record factory, not a handler filter, so handlers added later (the
    log file, pytest's capture) are covered too. The message is formatted once,
    here, and a traceback is pre-rendered into ``exc_text``, which formatters
    use as is.
    """
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not hide the record
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = format_exception(record.exc_info[1]).rstrip("\n")
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)
