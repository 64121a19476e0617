"""Rev AI custom vocabularies: turn a word list into a ``custom_vocabulary_id`` for streaming.

Rev's streaming API takes no word list, only the id of a vocabulary built
beforehand through its REST API. Wire facts (checked 2026-12-01 against the
official revai-python-sdk ``custom_vocabularies_client.py`` and its
``examples/custom_vocabularies_example.py`` at d1ddb4a of 2024-06-17, the
revai-node-sdk ``custom-vocabularies-client.ts`` and
``CustomVocabularyInformation.ts`` at 107480e of 2024-01-04, and
docs.rev.ai/api/custom-vocabulary): ``POST /speechtotext/v1/vocabularies``
with JSON ``{"custom_vocabularies": [{"phrases": [...]}], "metadata": ...}``
answers ``{"id", "status": "in_progress", "created_on"}``; ``GET
/vocabularies/{id}`` is polled until ``complete`` (or ``failed`` with
``failure``/``failure_detail``); auth is ``Authorization: Bearer``; errors
are RFC 7807 problem details (400 invalid, 401 bad token, 403 deployment not
allowed, 404 unknown id); limits: up to 6000 phrases (1000 for languages other
than English), a phrase has at least one letter, at most 12 words of at most
34 characters. The REST host is the streaming host (``wss://ec1.api.rev.ai/…``
→ ``https://ec1.api.rev.ai/speechtotext/v1/vocabularies``) unless the Rev AI
option ``vocabulary_url`` names another.

Ids are cached by a hash of the phrase list and host in the user data folder
(``revai-vocabularies.json``), so a list is built once; a cached id is checked
with one GET before use (an id from another account or a deleted vocabulary is
built again). :func:`ensure_vocabulary` blocks: the stream calls the provider's
handshake in a worker thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from captioner.errors import UserFacingError
from captioner.providers.base import CloseKind, CloseVerdict
from captioner.transcript.codec import default_dir
from captioner.transcript.files import ExportError, write_atomic

log = logging.getLogger(__name__)

REST_PATH = "/speechtotext/v1/vocabularies"
CACHE_NAME = "revai-vocabularies.json"
#: how long a connection waits for a new vocabulary before going on without it
READY_TIMEOUT_S = 20.0
#: a vocabulary Rev could not take (or not build) is retried after this long
RETRY_AFTER_S = 5.0
_lock = threading.Lock()


class VocabularyError(UserFacingError):
    """Rev AI refused or failed to build the vocabulary; the message says what to do.

    Attributes:
        fatal: True for a bad token or a refused list (retrying will not help).
    """

    def __init__(self, message: str, fatal: bool) -> None:
        super().__init__(message)
        self.fatal = fatal

    @property
    def verdict(self) -> CloseVerdict:
        """What the stream does: stop (fatal) or try again shortly."""
        if self.fatal:
            return CloseVerdict(CloseKind.FATAL, str(self))
        return CloseVerdict(CloseKind.RETRY, str(self), retry_after_s=RETRY_AFTER_S)


class VocabularyPending(Exception):
    """The vocabulary is still being built after the wait; ``vocabulary_id`` is cached."""

    def __init__(self, vocabulary_id: str) -> None:
        super().__init__(vocabulary_id)
        self.vocabulary_id = vocabulary_id


def rest_url_for(stream_url: str) -> str:
    """The vocabularies endpoint on the host of a streaming URL (``ws`` → ``http``)."""
    if "://" not in stream_url:
        stream_url = "wss://" + stream_url
    parts = urlsplit(stream_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme.lower(), parts.scheme.lower())
    return urlunsplit((scheme, parts.netloc, REST_PATH, "", ""))


def normalized(phrases: tuple[str, ...] | list[str]) -> list[str]:
    """Stripped, non-empty, first occurrence of each phrase, in order."""
    return list(dict.fromkeys(p.strip() for p in phrases if p.strip()))


def list_key(phrases: list[str], rest_url: str) -> str:
    """The cache key of a phrase list on one Rev host."""
    ident = json.dumps([urlsplit(rest_url).netloc, phrases], ensure_ascii=False)
    return hashlib.sha256(ident.encode()).hexdigest()[:32]


class VocabularyCache:
    """Vocabulary ids by list hash, in a small JSON file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_dir().parent / CACHE_NAME

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str)}

    def get(self, key: str) -> str | None:
        with _lock:
            return self._load().get(key)

    def put(self, key: str, vocab_id: str | None) -> None:
        with _lock:
            data = self._load()
            if vocab_id is None:
                data.pop(key, None)
            else:
                data[key] = vocab_id
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True))
            except (OSError, ExportError) as exc:
                log.warning("could not save the Rev AI vocabulary cache: %s", exc)


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [str(body[k]) for k in ("title", "detail") if body.get(k)]
    if isinstance(body.get("parameters"), dict):
        parts += [str(m) for msgs in body["parameters"].values() for m in (msgs or [])]
    return "; ".join(parts)[:300]


def _check(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = _problem(response)
    said = f" ({detail})" if detail else ""
    if status in (401, 403):
        raise VocabularyError(f"Rev AI rejected the access token (HTTP {status}) while "
                              "building the custom vocabulary — check the Rev AI key in "
                              "Preferences → Providers or REV_ACCESS_TOKEN", True)
    if status == 400:
        raise VocabularyError(f"Rev AI refused the custom vocabulary{said} — edit the custom "
                              "words (Preferences or --vocabulary)", True)
    raise VocabularyError(f"Rev AI could not take the custom vocabulary (HTTP {status})"
                          f"{said}; trying again", False)


def _state(response: httpx.Response) -> tuple[str, str]:
    """``(status, failure reason)`` of a vocabulary reply."""
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError("not an object")
    reason = body.get("failure_detail") or body.get("failure") or ""
    return str(body.get("status") or ""), str(reason)


def ensure_vocabulary(phrases: tuple[str, ...] | list[str], secret: str | None, rest_url: str,
                      *, cache: VocabularyCache | None = None,
                      ready_timeout_s: float = READY_TIMEOUT_S,
                      poll_s: float = 0.5, http_timeout_s: float = 5.0) -> str | None:
    """The id of a completed vocabulary for ``phrases``, building it if needed (blocking).

    Returns:
        The id, or None for an empty list.
    Raises:
        VocabularyPending: still being built after ``ready_timeout_s`` (the id
            stays cached; the next connection uses it once complete).
        VocabularyError: refused, failed, or Rev could not be reached.
    """
    words = normalized(phrases)
    if not words:
        return None
    cache = cache or VocabularyCache()
    key = list_key(words, rest_url)
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    deadline = time.monotonic() + ready_timeout_s
    try:
        with httpx.Client(timeout=http_timeout_s, headers=headers) as client:
            vocab_id = cache.get(key)
            if vocab_id is not None:
                status = client.get(f"{rest_url}/{vocab_id}")
                if status.status_code == 404:
                    log.info("Rev AI: cached vocabulary %s is gone; building it again", vocab_id)
                    vocab_id = None
                else:
                    _check(status)
                    state, _ = _state(status)
                    if state == "complete":
                        return vocab_id
                    if state == "failed":
                        vocab_id = None
                if vocab_id is None:
                    cache.put(key, None)
            if vocab_id is None:
                created = client.post(rest_url, json={
                    "custom_vocabularies": [{"phrases": words}], "metadata": "captioner"})
                _check(created)
                vocab_id = str(created.json()["id"])
                cache.put(key, vocab_id)  # saved at once: a restart does not build it twice
                log.info("Rev AI: building custom vocabulary %s (%d phrases)", vocab_id,
                         len(words))
            return _wait_until_complete(client, rest_url, vocab_id, key, cache, deadline,
                                        poll_s)
    except httpx.HTTPError as exc:
        raise VocabularyError(f"Can't reach Rev AI to build the custom vocabulary "
                              f"({type(exc).__name__}) — check the network and the endpoint",
                              False) from None
    except (KeyError, ValueError, TypeError):
        raise VocabularyError("Rev AI sent an unreadable custom vocabulary reply; trying again",
                              False) from None


def _wait_until_complete(client: httpx.Client, rest_url: str, vocab_id: str, key: str,
                         cache: VocabularyCache, deadline: float, poll_s: float) -> str:
    delay_s = poll_s
    while True:
        response = client.get(f"{rest_url}/{vocab_id}")
        _check(response)
        state, reason = _state(response)
        if state == "complete":
            return vocab_id
        if state == "failed":
            cache.put(key, None)
            raise VocabularyError(f"Rev AI could not build the custom vocabulary: "
                                  f"{reason or 'no reason given'} — edit the custom words "
                                  "(Preferences or --vocabulary)", True)
        if time.monotonic() + delay_s > deadline:
            raise VocabularyPending(vocab_id)
        time.sleep(delay_s)
        delay_s = min(delay_s * 1.5, 5.0)
