"""Fake AssemblyAI Universal Streaming (v3) server enforcing the documented rules.

Rules (``shared/reference/realtime-protocols.md`` §2): ``speech_model`` is
required and must name a streaming model (docs "Model selection", read
2026-12-01: "There is no default model. If you omit speech_model, the request
will fail" — the fake fails it with HTTP 400); auth is the raw key in
``Authorization`` or a single-use ``token`` from ``GET /v3/token`` (served on
the same port); a bad or missing one closes 1008 "Unauthorized Connection:
Missing Authorization header" after the upgrade (``auth_failure="http"``:
HTTP 401 before it, as the SDK test does). ``encoding`` must be ``pcm_s16le``
or ``pcm_mulaw`` and typed parameters well-formed (else HTTP 400 — the
reference is silent, this is the fake's choice); a missing ``sample_rate`` is
recorded. Each binary frame must hold 50–1000 ms (else ``Error`` 3007 + close
3007 "Input duration violation"), and audio faster than real time gets
``Error`` 3007 + close 3007 "Audio Transmission Rate Exceeded". Bad text frames
get 3006. Replies: ``Begin``; ``Turn`` per utterance keyed by ``turn_order``
(partials with the last word not final; an unformatted end-of-turn; with
``format_turns=true`` a formatted repeat); ``Terminate`` → last turns,
``Termination``, close 1000.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from captioner.testing.fakes import (
    ConnectionLog,
    Fail,
    FakeServer,
    FakeSession,
    Notice,
    Utterance,
    bare,
    new_id,
    parse_bool,
)

PATH = "/v3/ws"
TOKEN_PATH = "/v3/token"
UNAUTHORIZED = "Unauthorized Connection: Missing Authorization header"
KNOWN_PARAMS = frozenset(
    {
        "sample_rate",
        "encoding",
        "speech_model",
        "format_turns",
        "end_of_turn_confidence_threshold",
        "min_turn_silence",
        "min_end_of_turn_silence_when_confident",
        "max_turn_silence",
        "vad_threshold",
        "keyterms_prompt",
        "prompt",
        "language_detection",
        "inactivity_timeout",
        "speaker_labels",
        "max_speakers",
        "filter_profanity",
        "token",
        "language",
    }
)
BOOL_PARAMS = ("format_turns", "language_detection", "speaker_labels", "filter_profanity")
#: streaming models (docs and SDK SpeechModel, read 2026-12-01; u3-pro is an old alias)
SPEECH_MODELS = ("u3-rt-pro", "universal-streaming-english", "universal-streaming-multilingual",
                 "whisper-rt", "universal-3-5-pro", "u3-pro")
BYTES_PER_SAMPLE = {"pcm_s16le": 2, "pcm_mulaw": 1}
UPDATABLE = frozenset(
    {
        "end_of_turn_confidence_threshold",
        "min_turn_silence",
        "max_turn_silence",
        "keyterms_prompt",
        "prompt",
    }
)


def query_problem(conn_log: ConnectionLog) -> str | None:
    """Why the query is unacceptable, or None."""
    encoding = conn_log.param("encoding") or "pcm_s16le"
    if encoding not in BYTES_PER_SAMPLE:
        return f"Invalid encoding: {encoding}"
    try:
        rate = int(conn_log.param("sample_rate") or "16000")
    except ValueError:
        return "Invalid sample_rate"
    if rate <= 0:
        return "Invalid sample_rate"
    model = conn_log.param("speech_model")
    if model is None:
        return "speech_model is required"
    if model not in SPEECH_MODELS:
        return f"Invalid speech_model: {model}"
    for name in BOOL_PARAMS:
        try:
            parse_bool(conn_log.param(name))
        except ValueError:
            return f"Invalid {name}: must be true or false"
    terms = conn_log.param("keyterms_prompt")
    if terms is not None:
        try:
            parsed = json.loads(terms)
        except ValueError:
            return "Invalid keyterms_prompt: not a JSON array"
        if not isinstance(parsed, list) or not all(isinstance(t, str) for t in parsed):
            return "Invalid keyterms_prompt: not a JSON array of strings"
    return None


class AssemblyAiSession(FakeSession):
    server: FakeAssemblyAi

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.turn_orders: dict[int, int] = {}  # utterance index → turn_order
        self.started_s = time.monotonic()

    async def open(self) -> bool:
        q = self.log
        if not self.server.auth_ok.get(q.index, False):
            await self.close(1008, UNAUTHORIZED)
            return False
        if q.param("sample_rate") is None:
            self.violate("sample_rate missing (required for PCM encodings)")
        encoding = q.param("encoding") or "pcm_s16le"
        q.bytes_per_ms = int(q.param("sample_rate") or 16000) * BYTES_PER_SAMPLE[encoding] / 1000
        for name in q.query:
            if name not in KNOWN_PARAMS:
                self.violate(f"unknown query parameter {name!r}")
        await self.send(
            {
                "type": "Begin",
                "id": new_id(),
                "expires_at": int(time.time()) + 3 * 3600,
                "configuration": {
                    "model": q.param("speech_model"),
                    "mode": None,
                    "api_version": "2025-05-12",
                },
            }
        )
        return True

    async def on_busy(self) -> None:
        await self.send({"type": "Error", "error_code": 3009, "error": TOO_MANY})
        await self.close(3009, TOO_MANY)

    async def on_session_cap(self) -> None:
        message = "Session Expired: Maximum session duration exceeded"
        await self.send({"type": "Error", "error_code": 3008, "error": message})
        await self.close(3008, message)

    async def _error(self, code: int, message: str) -> None:
        self.violate(message)
        await self.send({"type": "Error", "error_code": code, "error": message})
        await self.close(code, message)

    async def accept_audio(self, data: bytes) -> bool:
        duration_ms = len(data) / self.log.bytes_per_ms
        if not 50 <= duration_ms <= 1000:
            await self._error(
                3007,
                f"Input duration violation: {duration_ms:.0f} ms. Expected between 50 and 1000 ms",
            )
            return False
        return True

    async def on_too_fast(self, message: str) -> None:
        self.log.violations.pop()  # _error records it again with the vendor's words
        await self._error(3007, f"Audio Transmission Rate Exceeded: {message}")

    async def on_text(self, text: str) -> bool:
        try:
            msg = json.loads(text)
        except ValueError:
            await self._error(3006, f"Invalid JSON: {text[:40]}")
            return False
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "Terminate":
            self.log.eos_received = True
            self.eos = True
            if not self.server.answer_eos:
                return True
            await self.finalize_all()
            session_s = time.monotonic() - self.started_s
            await self.send(
                {
                    "type": "Termination",
                    "audio_duration_seconds": round(self.log.audio_ms / 1000),
                    "session_duration_seconds": round(session_s),
                }
            )
            await self.close(1000, "")
            return False
        if kind == "ForceEndpoint":
            await self.force_endpoint()
            return True
        if kind == "KeepAlive":
            return True
        if kind == "UpdateConfiguration":
            unknown = set(msg) - UPDATABLE - {"type"}
            if unknown:
                await self._error(3006, f"Invalid Message: unknown fields {sorted(unknown)}")
                return False
            self.log.notes.append(f"configuration updated: {sorted(set(msg) - {'type'})}")
            return True
        await self._error(3006, f"Invalid Message Type: {str(kind)[:40]}")
        return False

    # -- rendering -----------------------------------------------------------

    def _turn_order(self, index: int) -> int:
        return self.turn_orders.setdefault(index, len(self.turn_orders))

    def _turn(self, index: int, utt: Utterance, words: list, **flags: Any) -> dict:
        formatted = flags["turn_is_formatted"]
        rendered = [
            {
                "start": start_ms,
                "end": end_ms,
                "text": word if formatted else bare(word),
                "confidence": 0.9,
                "word_is_final": final,
                **({"speaker": _label(utt)} if self._diarized(utt) else {}),
            }
            for (word, start_ms, end_ms), final in words
        ]
        transcript = " ".join(w["text"] for w in rendered if w["word_is_final"])
        msg = {
            "turn_order": self._turn_order(index),
            "turn_is_formatted": formatted,
            "end_of_turn": flags["end_of_turn"],
            "transcript": transcript,
            "end_of_turn_confidence": 0.9 if flags["end_of_turn"] else 0.01,
            "words": rendered,
            "utterance": "",
            "type": "Turn",
        }
        if self._diarized(utt):
            msg["speaker_label"] = _label(utt)
        return msg

    def _diarized(self, utt: Utterance) -> bool:
        return self.log.param("speaker_labels") == "true" and utt.speaker is not None

    def partial_messages(self, index: int, utt: Utterance, n_words: int, pos_ms: int) -> list:
        words = utt.words()[:n_words]
        marked = [(w, i < len(words) - 1) for i, w in enumerate(words)]
        return [self._turn(index, utt, marked, turn_is_formatted=False, end_of_turn=False)]

    def final_messages(self, index: int, utt: Utterance, n_words: int | None = None) -> list:
        words = [(w, True) for w in (utt.words()[:n_words] if n_words is not None else utt.words())]
        messages = [self._turn(index, utt, words, turn_is_formatted=False, end_of_turn=True)]
        if self.log.param("format_turns") == "true":
            messages.append(self._turn(index, utt, words, turn_is_formatted=True, end_of_turn=True))
        return messages

    def notice_messages(self, action: Notice) -> list:
        code: int | str = int(action.code) if action.code.isdigit() else action.code
        return [{"type": "Warning", "warning_code": code, "warning": action.message}]

    def error_messages(self, action: Fail) -> list:
        return [{"type": "Error", "error_code": action.code, "error": action.message}]


def _label(utt: Utterance) -> str:
    return chr(ord("A") + (utt.speaker or 0) % 26)


TOO_MANY = "Unauthorized Connection: Too many concurrent sessions"


class FakeAssemblyAi(FakeServer):
    """Fake AssemblyAI; also serves ``GET /v3/token`` on the same port.

    AssemblyAI caps new sessions per minute, not open sessions: a connection
    beyond ``new_sessions_per_minute`` in the last 60 s is closed with 3009.

    Attributes:
        auth_failure: ``"close"`` (1008 after the upgrade, default) or ``"http"`` (401).
        tokens: issued temporary token → expiry (monotonic seconds).
        used_tokens: tokens already spent on a session.
        token_requests: query of each token request, for assertions.
    """

    vendor = "AssemblyAI"
    path = PATH
    session_class = AssemblyAiSession
    realtime_only = True
    session_cap_s = 3 * 3600.0  # 3008 "Session Expired: Maximum session duration exceeded"

    def __init__(self, *args: Any, auth_failure: str = "close",
                 new_sessions_per_minute: int = 100, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.auth_failure = auth_failure
        self.new_sessions_per_minute = new_sessions_per_minute
        self._session_starts: list[float] = []
        self.tokens: dict[str, float] = {}
        self.token_caps: dict[str, float] = {}  # token → its max_session_duration_seconds
        self.used_tokens: set[str] = set()
        self.token_requests: list[dict[str, list[str]]] = []
        self.auth_ok: dict[int, bool] = {}  # connection index → passed auth

    def authorized(self, conn_log: ConnectionLog) -> bool:
        """Key in the header, or an unused, unexpired token (spent by this call)."""
        if conn_log.headers.get("authorization") in self.keys:
            return True
        token = conn_log.param("token")
        if token is None or token in self.used_tokens:
            return False
        if self.tokens.get(token, 0.0) < time.monotonic():
            return False
        self.used_tokens.add(token)
        return True

    def check_request(self, conn_log: ConnectionLog, request: Request) -> Response | None:
        if conn_log.path != PATH:
            return self.reply(404, {"error": "Not Found"})
        problem = query_problem(conn_log)
        if problem:
            conn_log.violations.append(problem)
            return self.reply(400, {"error": problem})
        self.auth_ok[conn_log.index] = ok = self.authorized(conn_log)
        if self.auth_failure == "http" and not ok:
            return self.reply(401, {"error": UNAUTHORIZED})
        return None

    def session_cap_for(self, conn_log: ConnectionLog) -> float | None:
        """A temporary token's ``max_session_duration_seconds`` caps its session too."""
        token_cap_s = self.token_caps.get(conn_log.param("token") or "")
        caps = [c for c in (self.max_session_s, token_cap_s) if c is not None]
        return min(caps) if caps else None

    def over_limit(self, conn_log: ConnectionLog) -> bool:
        now = time.monotonic()
        self._session_starts = [t for t in self._session_starts if now - t < 60.0]
        if len(self._session_starts) >= self.new_sessions_per_minute:
            return True
        self._session_starts.append(now)
        return super().over_limit(conn_log)

    def http_response(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        if parts.path != TOKEN_PATH:
            return None
        query = parse_qs(parts.query)
        self.token_requests.append(query)
        if request.headers.get("Authorization") not in self.keys:
            return self.reply(401, {"error": "Invalid API key"})
        try:
            expires_s = int(query["expires_in_seconds"][0])
            max_session_s = int(query.get("max_session_duration_seconds", ["10800"])[0])
        except (KeyError, ValueError):
            return self.reply(400, {"error": "expires_in_seconds is required"})
        if not (1 <= expires_s <= 600 and 60 <= max_session_s <= 10800):
            return self.reply(400, {"error": "expires_in_seconds or session duration out of range"})
        token = "tmp-" + new_id()
        self.tokens[token] = time.monotonic() + expires_s
        self.token_caps[token] = float(max_session_s)
        return self.reply(200, {"token": token, "expires_in_seconds": expires_s})
