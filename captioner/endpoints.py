"""Endpoint URLs checked before any connection, and described without their query.

A vendor's WebSocket URL may carry the key in its query (Rev AI's
``access_token``), so nothing here ever repeats a query string: messages name
the scheme, host and port only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from captioner.errors import UserFacingError

WS_SCHEMES = ("ws", "wss")
HTTP_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"ws": 80, "wss": 443, "http": 80, "https": 443}


class EndpointError(UserFacingError):
    """The endpoint setting can't be a usable address; the message says what to fix."""


def where(url: str) -> str:
    """``host:port`` of ``url`` for messages (never its path or query); ``""`` if unparsable."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return ""
    if not host:
        return ""
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def check_ws_url(url: str, title: str) -> None:
    """Raise :class:`EndpointError` unless ``url`` is a usable ``ws(s)://host[:port]/…`` URL.

    Args:
        url: the URL the provider built (possibly with a secret in its query).
        title: the provider's name for the message ("Rev AI").
    """
    check_url(url, title, WS_SCHEMES, "a WebSocket URL such as wss://host/path")


def check_http_url(url: str, title: str) -> None:
    """Raise :class:`EndpointError` unless ``url`` is a usable ``http(s)://host[:port]/…`` URL
    (a vendor's REST API: batch jobs)."""
    check_url(url, title, HTTP_SCHEMES, "an http(s) URL such as https://host/path")


def check_url(url: str, title: str, schemes: tuple[str, ...], kind: str) -> None:
    """Raise :class:`EndpointError` unless ``url`` has one of ``schemes``, a host and a port
    in range; the message names ``kind`` (what the URL should look like), never the query."""
    fix = f"Check the {title} endpoint in Preferences (or --endpoint)."
    if any(ch.isspace() for ch in url.strip()) or "://" not in url:
        raise EndpointError(f"The {title} endpoint is not {kind}. {fix}")
    scheme = url.split("://", 1)[0].lower()
    if scheme not in schemes:
        shown = scheme if scheme.isascii() and scheme.isalnum() and len(scheme) < 12 else "?"
        allowed = " or ".join(f"{s}://" for s in reversed(schemes))
        raise EndpointError(f"The {title} endpoint must start with {allowed} "
                            f"(not {shown}://). {fix}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise EndpointError(f"The {title} endpoint has an invalid host or port (ports go from "
                            f"1 to 65535). {fix}") from None
    if not parts.hostname:
        raise EndpointError(f"The {title} endpoint has no host name. {fix}")
    if port == 0:
        raise EndpointError(f"The {title} endpoint has port 0 (ports go from 1 to 65535). {fix}")
