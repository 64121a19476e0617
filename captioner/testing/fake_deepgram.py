"""Fake Deepgram live streaming server (``/v1/listen``) enforcing the documented rules.

Rules (``shared/reference/realtime-protocols.md`` §4): ``Authorization:
Token <key>`` (or ``Bearer <key>``), else HTTP 401 with ``dg-error``; every
response carries ``dg-request-id``. Malformed typed parameters → HTTP 400
(the fake's choice; the reference only says "4xx with dg-error"); unknown ones
are recorded. Raw audio needs both ``encoding`` and ``sample_rate``, else the
first audio frame closes ``1008 DATA-0000``. A zero-length binary frame is a
violation and ends the stream the legacy way (finals, ``Metadata``, 1000). No
data for ``idle_timeout_s`` (10 s) → ``1011 NET-0001``; ``KeepAlive`` only
counts once some audio arrived. Unparsable text frames get an ``Error``
(``SchemaError``). Replies: interim ``Results`` (``interim_results=true``),
final ``Results`` (split into ``final_chunk_words`` chunks, ``speech_final``
on the last), ``Finalize`` → ``from_finalize: true``, ``CloseStream`` →
remaining finals, ``Metadata``, close 1000.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from websockets.http11 import Request, Response

from captioner.pacing import PACES
from captioner.testing.fakes import (
    ConnectionLog,
    Fail,
    FakeServer,
    FakeSession,
    Utterance,
    bare,
    new_id,
    parse_bool,
)

PATH = "/v1/listen"
ENCODINGS = {
    "linear16": 2,
    "flac": 0,
    "mulaw": 1,
    "amr-nb": 0,
    "amr-wb": 0,
    "opus": 0,
    "speex": 0,
    "g729": 0,
}
BOOL_PARAMS = (
    "multichannel",
    "interim_results",
    "punctuate",
    "smart_format",
    "numerals",
    "profanity_filter",
    "filler_words",
    "dictation",
    "vad_events",
    "diarize",
    "mip_opt_out",
)
INT_PARAMS = ("sample_rate", "channels", "utterance_end_ms")
#: developers.deepgram.com/docs/diarization (read 2026-12-01): diarize_model enables
#: diarization; streaming takes latest or v1 (v2 is batch only); diarize=true is deprecated
STREAMING_DIARIZERS = ("latest", "v1")
KNOWN_PARAMS = frozenset(
    {
        *BOOL_PARAMS,
        *INT_PARAMS,
        "model",
        "encoding",
        "language",
        "endpointing",
        "keyterm",
        "keywords",
        "diarize_model",
        "redact",
        "replace",
        "search",
        "tag",
        "extra",
        "version",
        "callback",
        "callback_method",
    }
)


def query_problem(conn_log: ConnectionLog) -> str | None:
    """Why Deepgram would refuse the query (HTTP 400), or None."""
    encoding = conn_log.param("encoding")
    if encoding is not None and encoding not in ENCODINGS:
        return f"Invalid encoding: {encoding}"
    for name in BOOL_PARAMS:
        try:
            parse_bool(conn_log.param(name))
        except ValueError:
            return f"Invalid {name}: must be true or false"
    for name in INT_PARAMS:
        value = conn_log.param(name)
        if value is not None and not value.isdigit():
            return f"Invalid {name}: must be an integer"
    endpointing = conn_log.param("endpointing")
    if endpointing not in (None, "false") and not endpointing.isdigit():
        return "Invalid endpointing: must be an integer or false"
    if conn_log.param("utterance_end_ms") and conn_log.param("interim_results") != "true":
        return "utterance_end_ms requires interim_results=true"
    diarizer = conn_log.param("diarize_model")
    if diarizer is not None and diarizer not in STREAMING_DIARIZERS:
        return f"Invalid diarize_model: {diarizer} is not available for streaming"
    model = conn_log.param("model") or "base"
    if conn_log.query.get("keyterm") and not model.startswith("nova-3"):
        return "keyterm is only available with Nova-3 models"
    return None


class DeepgramSession(FakeSession):
    server: FakeDeepgram

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.request_id = new_id()
        self.got_audio = False
        self.from_finalize = False  # rendering a Finalize reply
        q = self.log
        self.diarized = q.param("diarize") == "true" or q.param("diarize_model") is not None

    async def open(self) -> bool:
        q = self.log
        for name in q.query:
            if name not in KNOWN_PARAMS:
                self.violate(f"unknown query parameter {name!r}")
        encoding, rate = q.param("encoding"), q.param("sample_rate")
        if encoding and rate:
            q.bytes_per_ms = int(rate) * ENCODINGS[encoding] * int(q.param("channels") or 1) / 1000
        return True

    async def accept_audio(self, data: bytes) -> bool:
        self.touch()
        q = self.log
        if not data:
            self.violate("zero-length binary frame (Deepgram: causes unexpected closures)")
            await self._close_stream()
            return False
        if not (q.param("encoding") and q.param("sample_rate")):
            self.violate("raw audio without both encoding and sample_rate")
            await self.close(1008, "DATA-0000")
            return False
        self.got_audio = True
        return True

    async def on_idle(self) -> None:
        self.violate(f"no data for {self.server.idle_timeout_s} s")
        await self.close(1011, "NET-0001")

    async def on_text(self, text: str) -> bool:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "KeepAlive":
            if self.got_audio:
                self.touch()
            return True
        self.touch()
        if kind == "CloseStream":
            self.log.eos_received = True
            self.eos = True
            if self.server.answer_eos:
                await self._close_stream()
                return False
            return True
        if kind == "Finalize":
            self.from_finalize = True
            await self.force_endpoint()
            self.from_finalize = False
            return True
        self.violate(f"unparsable control message {text[:40]!r}")
        await self.send(
            {
                "type": "Error",
                "variant": "SchemaError",
                "description": f"Could not parse the message {text[:40]!r}",
                "message": "",
            }
        )
        return True

    async def _close_stream(self) -> None:
        await self.finalize_all()
        await self.send(
            {
                "type": "Metadata",
                "transaction_key": "deprecated",
                "request_id": self.request_id,
                "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "created": datetime.datetime.now(datetime.UTC).isoformat(),
                "duration": self.log.audio_ms / 1000,
                "channels": 1,
            }
        )
        await self.close(1000, "")

    # -- rendering -----------------------------------------------------------

    def _results(self, utt: Utterance, words: list, start_ms: int, end_ms: int, **flags: Any):
        q = self.log
        formatted = q.param("punctuate") == "true" or q.param("smart_format") == "true"
        rendered = []
        for word, w_start, w_end in words:
            item: dict[str, Any] = {
                "word": bare(word),
                "start": w_start / 1000,
                "end": w_end / 1000,
                "confidence": 0.98,
            }
            if formatted:
                item["punctuated_word"] = word
            if self.diarized and utt.speaker is not None:
                item["speaker"] = utt.speaker
            rendered.append(item)
        key = "punctuated_word" if formatted else "word"
        return {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round((end_ms - start_ms) / 1000, 3),
            "start": start_ms / 1000,
            "is_final": flags["is_final"],
            "speech_final": flags["speech_final"],
            "from_finalize": self.from_finalize,
            "channel": {
                "alternatives": [
                    {
                        "transcript": " ".join(w[key] for w in rendered),
                        "confidence": 0.98,
                        "words": rendered,
                    }
                ]
            },
            "metadata": {
                "request_id": self.request_id,
                "model_info": {
                    "name": "2-general-nova",
                    "version": "2024-01-18.26916",
                    "arch": q.param("model") or "base",
                },
                "model_uuid": "c0d1a568-ce81-4fea-97e7-bd45cb1fdf3c",
            },
        }

    def partial_messages(self, index: int, utt: Utterance, n_words: int, pos_ms: int) -> list:
        if self.log.param("interim_results") != "true":
            return []
        words = utt.words()[:n_words]
        end_ms = min(pos_ms, utt.end_ms)
        return [self._results(utt, words, utt.start_ms, end_ms, is_final=False, speech_final=False)]

    def final_messages(self, index: int, utt: Utterance, n_words: int | None = None) -> list:
        words = utt.words()[:n_words] if n_words is not None else utt.words()
        size = self.server.final_chunk_words or max(len(words), 1)
        chunks = [words[i : i + size] for i in range(0, len(words), size)] or [[]]
        messages = []
        for i, chunk in enumerate(chunks):
            start_ms = chunk[0][1] if chunk else utt.start_ms
            end_ms = chunk[-1][2] if chunk else utt.end_ms
            last = i == len(chunks) - 1
            messages.append(
                self._results(utt, chunk, start_ms, end_ms, is_final=True, speech_final=last)
            )
        return messages

    def error_messages(self, action: Fail) -> list:
        return [
            {
                "type": "Error",
                "variant": action.error_type or "ServerError",
                "description": action.message,
                "message": action.message,
            }
        ]

    def error_close_reason(self, action: Fail) -> str:
        return action.error_type or action.message


class FakeDeepgram(FakeServer):
    """Fake Deepgram.

    Args:
        final_chunk_words: split each utterance's final into ``is_final``
            results of this many words (``speech_final`` on the last only).
    """

    vendor = "Deepgram"
    path = PATH
    session_class = DeepgramSession
    realtime_only = True
    max_speed = PACES["deepgram"].catchup_speed or 1.0  # see captioner.pacing
    default_idle_timeout_s = 10.0
    concurrency_limit = 50  # streaming, Pay as You Go / Growth; no session cap documented

    def __init__(self, *args: Any, final_chunk_words: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.final_chunk_words = final_chunk_words
        self._request_ids: dict[int, str] = {}

    def response_headers(self, conn_log: ConnectionLog) -> dict[str, str]:
        return {"dg-request-id": self._request_ids.setdefault(conn_log.index, new_id())}

    def busy_response(self, conn_log: ConnectionLog) -> Response | None:
        message = "Too many requests. Please try again later"
        return self.reply(429, {"err_code": "TOO_MANY_REQUESTS", "err_msg": message},
                          {"dg-error": message})

    def check_request(self, conn_log: ConnectionLog, request: Request) -> Response | None:
        if conn_log.path != PATH:
            return self.reply(404, {"err_code": "NOT_FOUND", "err_msg": "Not Found"})
        scheme, _, key = conn_log.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or key not in self.keys:
            message = "Invalid credentials."
            return self.reply(
                401, {"err_code": "INVALID_AUTH", "err_msg": message}, {"dg-error": message}
            )
        problem = query_problem(conn_log)
        if problem:
            conn_log.violations.append(problem)
            return self.reply(
                400, {"err_code": "Bad Request", "err_msg": problem}, {"dg-error": problem}
            )
        return None
