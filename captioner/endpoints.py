"""Endpoint URLs checked before any connection, and described without their query.

A vendor's WebSocket URL may carry the key in its query (Rev AI's
``access_token``), so nothing here ever repeats a query string: messages name
the scheme, host and port only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from captioner.errors import UserFacingError

WS_SCHEMES = ("ws", "wss")
_DEFAULT_PORTS = {"ws": 80, "wss": 443}


class EndpointError(UserFacingError):
    """The endpoint setting can't be a WebSocket address; the message says what to fix."""


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
    fix = f"Check the {title} endpoint in Preferences (or --endpoint)."
    if any(ch.isspace() for ch in url.strip()) or "://" not in url:
        raise EndpointError(f"The {title} endpoint is not a WebSocket URL such as "
                            f"wss://host/path. {fix}")
    scheme = url.split("://", 1)[0].lower()
    if scheme not in WS_SCHEMES:
        shown = scheme if scheme.isascii() and scheme.isalnum() and len(scheme) < 12 else "?"
        raise EndpointError(f"The {title} endpoint must start with wss:// or ws:// "
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
