"""Wire helpers shared by the providers: JSON frames, numbers, URLs, generic close codes.

Pure functions; each provider module keeps its vendor's own quirks.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any, TypeGuard
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from captioner.providers.base import CloseKind, CloseVerdict, Event

log = logging.getLogger(__name__)


def is_number(value: object) -> TypeGuard[int | float]:
    """A finite int or float that is not a bool (and not absurdly large)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):
        return abs(value) < 2**53
    return math.isfinite(value)


def dict_of(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (vendor fields may be missing)."""
    return value if isinstance(value, dict) else {}


def seconds_to_ms(value: object) -> int | None:
    """Seconds (number) to whole milliseconds; None for anything else."""
    if not is_number(value) or abs(value) > 1e9:
        return None
    return round(value * 1000)


def load_object(raw: str | bytes) -> dict[str, Any] | None:
    """Decode a text frame holding a JSON object; None for anything else."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(raw, str):
        return None
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return msg if isinstance(msg, dict) else None


def build_url(base: str, default_url: str, params: list[tuple[str, str]]) -> str:
    """Join an endpoint and query parameters.

    A bare host (``wss://ec1.api.rev.ai`` or ``127.0.0.1:8080``) gets the
    vendor's default path; ``http(s)`` becomes ``ws(s)``; a query already in
    the endpoint is kept and wins over generated parameters of the same name.
    """
    if "://" not in base:
        base = "wss://" + base
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme.lower(), parts.scheme.lower())
    path = parts.path if parts.path not in ("", "/") else urlsplit(default_url).path
    given = parse_qsl(parts.query, keep_blank_values=True)
    given_keys = {k for k, _ in given}
    query = urlencode(given + [(k, v) for k, v in params if k not in given_keys])
    return urlunsplit((scheme, parts.netloc, path, query, ""))


class UnsupportedLanguage(Exception):
    """The chosen language is one the vendor does not take (its message says so)."""


def mapped_language(language: str, codes: dict[str, str], vendor: str) -> str:
    """The vendor's code for ``language`` (``zh-TW`` → ``zh`` → ``codes["zh"]``).

    Raises:
        UnsupportedLanguage: "multi"/"auto", for a vendor without language detection.
    """
    code = (language or "en").split("-")[0].lower()
    if code in ("multi", "auto"):
        raise UnsupportedLanguage(f"{vendor} needs the spoken language — choose one in "
                                  "Preferences (it has no automatic detection)")
    return codes.get(code, code)
def endpoint_problem(endpoint: str | None) -> str | None:
    """Why an endpoint (as :func:`build_url` takes it) can never work, or None if it may.

    Checked before connecting, so a typo is one clear line instead of retries.
    """
    if not endpoint:
        return None
    shown = endpoint.split("?")[0].split("#")[0]  # a query may hold a token
    base = endpoint if "://" in endpoint else "wss://" + endpoint
    try:
        parts = urlsplit(base)
        port = parts.port
    except ValueError as exc:
        return f"The endpoint {shown} is not a valid URL ({str(exc).lower()})."
    if parts.scheme.lower() not in ("ws", "wss", "http", "https"):
        return (f"The endpoint {shown} uses {parts.scheme}://; use ws:// or wss:// "
                "(a WebSocket address).")
    if not parts.hostname:
        return f"The endpoint {shown} has no host name."
    if port == 0:
        return f"The endpoint {shown} has port 0; use a port from 1 to 65535."
    return None


def safe_url(url: str) -> str:
    """The URL without its query string (which may hold a token): for logs."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))


def generic_verdict(vendor: str, code: int | None, reason: str) -> CloseVerdict:
    """Classify what a vendor table does not list: HTTP statuses and RFC 6455 codes."""
    detail = f" ({reason})" if reason else ""
    if code is None or code == 1006:
        return CloseVerdict(CloseKind.RETRY, f"Lost the connection to {vendor}; reconnecting")
    if 100 <= code < 600:  # HTTP status of a refused upgrade
        if code in (401, 403):
            return CloseVerdict(
                CloseKind.FATAL, f"{vendor} rejected the API key — check it in Preferences"
            )
        if code == 402:
            return CloseVerdict(
                CloseKind.FATAL,
                f"Your {vendor} account has no credit left — top it up, then start again",
            )
        if code in (408, 429):
            return CloseVerdict(
                CloseKind.RETRY,
                f"{vendor} is busy (too many sessions); trying again shortly",
                retry_after_s=10.0,
            )
        if code >= 500:
            return CloseVerdict(
                CloseKind.RETRY, f"{vendor} had a server problem (HTTP {code}); reconnecting"
            )
        return CloseVerdict(
            CloseKind.FATAL,
            f"{vendor} refused the connection (HTTP {code}){detail} — check the "
            f"{vendor} endpoint and options in Preferences",
        )
    if code == 1000:
        return CloseVerdict(CloseKind.NORMAL, f"{vendor} finished the session.")
    if code in (1001, 1005, 1011, 1012, 1013, 1014):
        return CloseVerdict(
            CloseKind.RETRY, f"{vendor} closed the connection{detail}; reconnecting"
        )
    if code == 1008:
        return CloseVerdict(
            CloseKind.FATAL,
            f"{vendor} refused the session{detail} — check your account and key in Preferences",
        )
    if code in (1002, 1003, 1007, 1009, 1010):
        return CloseVerdict(
            CloseKind.FATAL,
            f"{vendor} did not understand what captioner sent{detail} — please report this bug",
        )
    return CloseVerdict(
        CloseKind.FATAL,
        f"{vendor} ended the session with code {code}{detail} — check the {vendor} "
        "settings in Preferences",
    )


def parse_guarded(vendor: str, raw: str | bytes,
                  parse_message: Callable[[dict[str, Any]], list[Event]]) -> list[Event]:
    """Decode a frame and hand the JSON object to ``parse_message``; never raises.

    Not a JSON object, or any surprise in the message's shape, gives [] and a
    debug log: a malformed frame must not end a session.
    """
    msg = load_object(raw)
    if msg is None:
        log.debug("%s: ignoring a frame that is not a JSON object", vendor)
        return []
    try:
        return parse_message(msg)
    except Exception as exc:  # noqa: BLE001 - parse must never raise
        log.debug("%s: unparsable %r message (%s)", vendor, msg.get("type", msg.get("message")),
                  type(exc).__name__)
        return []
