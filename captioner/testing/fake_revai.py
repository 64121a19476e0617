"""Fake Rev AI streaming server (v1) enforcing the documented rules.

Rules (``shared/reference/realtime-protocols.md`` §1): the token is the
``access_token`` query parameter — missing or unknown closes with 4001 right
after the upgrade (``auth_failure="http"`` refuses with HTTP 401 instead, as
the Node SDK test does); ``content_type`` is required and, for raw audio, must
give rate/format/channels — else close 4002 with the parameter named; boolean
parameters must be ``true``/``false`` (4002); ``language`` must be one of Rev's
codes, which name Mandarin ``cmn`` and have no automatic detection (``zh`` or
``multi``: 4002 — the fake's reading of docs.rev.ai, 2026-12-01, where any bad
parameter closes 4002 with it named); a ``custom_vocabulary_id`` that is not a
completed vocabulary of the account (``vocabulary_ids``, e.g. the vocabularies
fake's :meth:`~.fake_revai_batch.FakeRevAiBatch.complete_vocabulary_ids`)
closes 4002 naming it; unknown parameters are recorded
as violations. Replies: ``connected``, ``partial`` (bare words, no spaces),
``final`` (text + ``punct`` elements), and on ``EOS`` the remaining finals and
a 1000 close. Audio faster than the 3× catch-up pace of :mod:`captioner.pacing`
is recorded (Rev documents no rate limit and no close code for it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from websockets.http11 import Request, Response

from captioner.pacing import PACES
from captioner.testing.fakes import (
    PUNCTUATION,
    ConnectionLog,
    Fail,
    FakeServer,
    FakeSession,
    Utterance,
    bare,
    new_id,
    parse_bool,
)

PATH = "/speechtotext/v1/stream"
KNOWN_PARAMS = frozenset(
    {
        "access_token",
        "content_type",
        "language",
        "metadata",
        "custom_vocabulary_id",
        "filter_profanity",
        "remove_disfluencies",
        "delete_after_seconds",
        "detailed_partials",
        "start_ts",
        "max_segment_duration_seconds",
        "transcriber",
        "enable_speaker_switch",
        "skip_postprocessing",
        "priority",
        "max_connection_wait_seconds",
        "user_agent",
    }
)
BOOL_PARAMS = (
    "filter_profanity",
    "remove_disfluencies",
    "detailed_partials",
    "enable_speaker_switch",
    "skip_postprocessing",
)
BYTES_PER_SAMPLE = {"S16LE": 2, "S16BE": 2, "F32LE": 4, "S32LE": 4, "U8": 1}


def parse_content_type(value: str) -> tuple[float | None, str | None]:
    """``(bytes_per_ms or None for containers, error naming the problem or None)``."""
    mime, *fields = [part.strip() for part in value.split(";")]
    if not mime.startswith("audio/"):
        return None, f"content_type {mime!r} is not audio"
    if mime != "audio/x-raw":
        return None, None  # a container: the server reads the format itself
    attrs = dict(f.split("=", 1) for f in fields if "=" in f)
    try:
        rate = int(attrs["rate"])
        width = BYTES_PER_SAMPLE[attrs["format"]]
        channels = int(attrs.get("channels", "1"))
    except (KeyError, ValueError):
        return None, "content_type audio/x-raw needs rate, format and channels"
    if not (8000 <= rate <= 48000 and 1 <= channels <= 10):
        return None, "content_type rate or channels out of range"
    if attrs.get("layout", "interleaved") not in ("interleaved", "non-interleaved"):
        return None, "content_type layout must be interleaved or non-interleaved"
    return rate * width * channels / 1000, None


#: codes other services use that Rev does not (Rev: ``cmn`` for Mandarin, no "multi")
NOT_REV_LANGUAGES = frozenset({"zh", "zh-CN", "zh-TW", "multi", "auto"})


class RevAiSession(FakeSession):
    server: FakeRevAi

    async def open(self) -> bool:
        q = self.log
        token = q.param("access_token")
        if token is None or token not in self.server.keys:
            await self.close(4001, "Unauthorized")
            return False
        content_type = q.param("content_type")
        if content_type is None:
            await self.close(4002, "Missing required parameter: content_type")
            return False
        bytes_per_ms, error = parse_content_type(content_type)
        if error:
            await self.close(4002, f"Invalid parameter content_type: {error}")
            return False
        q.bytes_per_ms = bytes_per_ms or 0.0
        for name in BOOL_PARAMS:
            try:
                parse_bool(q.param(name))
            except ValueError:
                await self.close(4002, f"Invalid parameter {name}: must be true or false")
                return False
        vocabulary = q.param("custom_vocabulary_id")
        known = self.server.vocabulary_ids
        if vocabulary is not None and known is not None and vocabulary not in known():
            await self.close(4002, "Invalid parameter custom_vocabulary_id: no completed "
                             "custom vocabulary with this id")
            return False
        language = q.param("language") or "en"
        if language in NOT_REV_LANGUAGES:
            await self.close(4002, f"Invalid parameter language: {language}")
            return False
        for name in q.query:
            if name not in KNOWN_PARAMS:
                self.violate(f"unknown query parameter {name!r}")
        await self.send({"type": "connected", "id": new_id()[:12]})
        return True

    async def on_busy(self) -> None:
        # Rev documents the limit (10 streams) but not its refusal; 4013 "Try Again
        # Later" is what its self-hosted server (which mirrors the cloud) closes with
        await self.close(4013, "Try Again Later")

    async def on_text(self, text: str) -> bool:
        if text != "EOS":
            self.violate(f"text frame other than EOS: {text[:40]!r}")
            return True
        self.log.eos_received = True
        self.eos = True
        if not self.server.answer_eos:
            return True
        await self.finalize_all()
        await self.close(1000, "End of input. Closing")
        return False

    # -- rendering -----------------------------------------------------------

    def _offset_s(self) -> float:
        try:
            return float(self.log.param("start_ts") or 0)
        except ValueError:
            return 0.0

    def _hypothesis(self, kind: str, utt: Utterance, end_ms: int, elements: list) -> dict:
        msg: dict[str, Any] = {
            "type": kind,
            "ts": round(utt.start_ms / 1000 + self._offset_s(), 3),
            "end_ts": round(end_ms / 1000 + self._offset_s(), 3),
            "elements": elements,
        }
        if self.log.param("enable_speaker_switch") == "true" and utt.speaker is not None:
            msg["speaker_id"] = utt.speaker
        return msg

    def partial_messages(self, index: int, utt: Utterance, n_words: int, pos_ms: int) -> list:
        detailed = self.log.param("detailed_partials") == "true"
        elements = []
        for word, start_ms, end_ms in utt.words()[:n_words]:
            element: dict[str, Any] = {"type": "text", "value": bare(word)}
            if detailed:
                element |= {
                    "ts": round(start_ms / 1000 + self._offset_s(), 3),
                    "end_ts": round(end_ms / 1000 + self._offset_s(), 3),
                    "confidence": 0.9,
                }
            elements.append(element)
        return [self._hypothesis("partial", utt, min(pos_ms, utt.end_ms), elements)]

    def final_messages(self, index: int, utt: Utterance, n_words: int | None = None) -> list:
        words = utt.words()[:n_words] if n_words is not None else utt.words()
        elements: list[dict[str, Any]] = []
        for i, (word, start_ms, end_ms) in enumerate(words):
            if i:
                elements.append({"type": "punct", "value": " "})
            core = word.rstrip(PUNCTUATION) or word
            elements.append(
                {
                    "type": "text",
                    "value": core,
                    "ts": round(start_ms / 1000 + self._offset_s(), 3),
                    "end_ts": round(end_ms / 1000 + self._offset_s(), 3),
                    "confidence": 1.0,
                }
            )
            for mark in word[len(core) :]:
                elements.append({"type": "punct", "value": mark})
        end_ms = words[-1][2] if words else utt.end_ms
        return [self._hypothesis("final", utt, end_ms, elements)]

    def error_close_reason(self, action: Fail) -> str:
        return action.message  # Rev has no in-band error message; the close says it all


class FakeRevAi(FakeServer):
    """Fake Rev AI; ``auth_failure="close"`` (4001, default) or ``"http"`` (401)."""

    vendor = "Rev AI"
    path = PATH
    session_class = RevAiSession
    realtime_only = True
    max_speed = PACES["revai"].catchup_speed or 1.0  # see captioner.pacing
    session_cap_s = 3 * 3600.0  # "Time limit per stream is 3 hours"
    concurrency_limit = 10  # "Streaming concurrency limit is 10"

    def __init__(self, *args: Any, auth_failure: str = "close",
                 vocabulary_ids: Callable[[], Iterable[str]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.auth_failure = auth_failure
        #: the account's completed vocabulary ids (None: any id is taken)
        self.vocabulary_ids = vocabulary_ids

    def check_request(self, conn_log: ConnectionLog, request: Request) -> Response | None:
        if conn_log.path != PATH:
            return self.reply(404, "Not Found")
        token = conn_log.param("access_token")
        if self.auth_failure == "http" and (token is None or token not in self.keys):
            return self.reply(401, "Unauthorized")
        return None
