"""Deepgram live streaming (``/v1/listen``): handshake, framing, parsing, close codes.

Wire facts come from ``shared/reference/realtime-protocols.md`` section 4.
Auth is ``Authorization: Token <key>`` (option ``auth=bearer`` for a JWT from
``/v1/auth/grant``); settings are query parameters. ``Results`` with
``is_final: true`` are final segments covering ``[start, start+duration)``
and are appended; ``is_final: false`` results are interims and replace the
live partial; ``speech_final`` only marks an endpoint (pause) on a result that
is already final, so it never yields a second event. An empty transcript
becomes an empty :class:`Partial`, which clears a stale interim. ``CloseStream``
is answered by ``Metadata`` (→ :class:`Ended`) and a 1000 close.

Deepgram closes a socket that sees no data for 10 s (``1011 NET-0001``); the
session must keep audio flowing (or send ``{"type":"KeepAlive"}``) meanwhile.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from captioner.config import BYTES_PER_MS, SessionConfig
from captioner.options import BATCH, ProviderOptions, batch_speaker_labels, option, options_of
from captioner.providers.base import (
    CloseKind,
    CloseVerdict,
    Ended,
    Event,
    Final,
    Handshake,
    Partial,
    Provider,
    VendorError,
    Word,
)
from captioner.providers.wire import (
    build_url,
    generic_verdict,
    is_number,
    load_object,
    parse_guarded,
    safe_url,
    seconds_to_ms,
)
from captioner.vendors import vendor

log = logging.getLogger(__name__)

VENDOR = "Deepgram"
DEFAULT_URL = vendor("deepgram").default_url
DEFAULT_MODEL = "nova-3"
CLOSE_STREAM = json.dumps({"type": "CloseStream"})
KEEP_ALIVE = json.dumps({"type": "KeepAlive"})
FINALIZE = json.dumps({"type": "Finalize"})
MAX_FRAME_MS = 250  # Deepgram recommends 20-250 ms per message
MAX_FRAME_BYTES = MAX_FRAME_MS * BYTES_PER_MS

#: /v1/listen models (developers.deepgram.com/docs/model, read 2026-12-01; Flux is /v2/listen)
MODELS = ("nova-3", "nova-3-general", "nova-3-medical", "nova-2", "nova-2-general",
          "nova-2-meeting", "nova-2-phonecall", "nova-2-finance", "nova-2-conversationalai",
          "nova-2-voicemail", "nova-2-video", "nova-2-medical", "nova-2-drivethru",
          "nova-2-automotive", "nova", "enhanced", "base")


@dataclass(frozen=True)
class DeepgramOptions(ProviderOptions):
    """Deepgram ``/v1/listen`` settings (query parameters; checked 2026-12-01 against
    developers.deepgram.com and deepgram-python-sdk listen/v1)."""

    MODEL_FIELD: ClassVar[str | None] = "model"

    model: str = option(DEFAULT_MODEL, "recognition model", choices=MODELS)
    endpointing: int = option(300, "silence (ms) that ends an utterance; 0 turns it off "
                              "(Deepgram's 10 ms default splits captions into slivers)",
                              minimum=0, maximum=10000, title="Endpointing (ms)")
    utterance_end_ms: int | None = option(None, "gap (ms) between words that ends an "
                                          "utterance (UtteranceEnd)", minimum=1000,
                                          maximum=5000)
    interim_results: bool = option(True, "partial results while a phrase is spoken")
    punctuate: bool = option(True, "punctuation")
    smart_format: bool = option(True, "formatting of numbers, dates, currency")
    numerals: bool = option(False, "numbers as digits")
    diarize_model: str = option("latest", "diarizer used with speaker labels (diarize_model; "
                                "the older diarize=true is deprecated)",
                                choices=("latest", "v1"), title="Diarization model")
    mip_opt_out: bool = option(False, "opt out of the Deepgram Model Improvement Program")
    auth: str = option("token", "the key is an API key (token) or a JWT from /v1/auth/grant "
                       "(bearer)", choices=("token", "bearer"))
    batch_model: str = option("", BATCH + "model (empty: the live model above)",
                              choices=("", *MODELS), title="Recordings: model")
    batch_region: str = option("us", BATCH + "us (api.deepgram.com) or eu (api.eu.deepgram.com)",
                               choices=("us", "eu"), title="Recordings: region")
    batch_speaker_labels: bool = batch_speaker_labels()


class DeepgramProvider(Provider):
    """Deepgram live streaming protocol, without sockets.

    Attributes:
        name: ``"deepgram"``.
        max_speed: 1.0 — Deepgram expects live audio.
        cfg: the session settings.
        opts: its :class:`DeepgramOptions`.
        model: the Deepgram model (option ``model``, default ``nova-3``).
    """

    name = "deepgram"

    def __init__(self, cfg: SessionConfig) -> None:
        self.cfg = cfg
        self.opts = options_of(cfg.options, DeepgramOptions)
        self.model = self.opts.model

    # -- handshake -----------------------------------------------------------

    def query_params(self) -> list[tuple[str, str]]:
        cfg, opts = self.cfg, self.opts

        def flag(on: bool) -> str:
            return "true" if on else "false"

        params = [
            ("model", self.model),
            ("encoding", "linear16"),
            ("sample_rate", "16000"),
            ("channels", "1"),
            ("language", cfg.language or "en"),
            ("interim_results", flag(opts.interim_results)),
            ("punctuate", flag(opts.punctuate)),
            ("smart_format", flag(opts.smart_format)),
            ("endpointing", str(opts.endpointing) if opts.endpointing else "false"),
        ]
        if opts.utterance_end_ms is not None:
            params.append(("utterance_end_ms", str(opts.utterance_end_ms)))
        if opts.numerals:
            params.append(("numerals", "true"))
        if cfg.profanity_filter:
            params.append(("profanity_filter", "true"))
        # Deepgram drops fillers unless asked; match the other vendors' meaning
        # of remove_disfluencies=False ("keep them").
        params.append(("filler_words", "false" if cfg.remove_disfluencies else "true"))
        if cfg.speaker_labels:
            params.append(("diarize_model", opts.diarize_model))
        if opts.mip_opt_out:
            params.append(("mip_opt_out", "true"))
        term_param = "keyterm" if self.model.startswith("nova-3") else "keywords"
        params += [(term_param, term) for term in cfg.vocabulary]
        return params

    def handshake(self, secret: str | None) -> Handshake:
        """URL with settings; the key in ``Authorization: Token <key>``."""
        headers: dict[str, str] = {}
        if secret:
            scheme = "Bearer" if self.opts.auth == "bearer" else "Token"
            headers["Authorization"] = f"{scheme} {secret}"
        url = build_url(self.cfg.endpoint or DEFAULT_URL, DEFAULT_URL, self.query_params())
        log.debug("Deepgram handshake to %s", safe_url(url))
        return Handshake(url=url, headers=headers, first_message=None, wait_for_started=False)

    # -- audio ---------------------------------------------------------------

    def frame_audio(self, pcm: bytes) -> list[bytes]:
        """Blocks as they come, split above 250 ms; never an empty frame."""
        return [bytes(pcm[i : i + MAX_FRAME_BYTES]) for i in range(0, len(pcm), MAX_FRAME_BYTES)]

    def end_of_stream(self) -> str | None:
        return CLOSE_STREAM

    def keepalive_message(self) -> str | None:
        """Sent while no audio flows, so Deepgram's 10 s idle close never fires."""
        return KEEP_ALIVE

    # -- parsing -------------------------------------------------------------

    def parse(self, raw: str | bytes) -> list[Event]:
        """Turn one server frame into events; pure and never raises."""
        return parse_guarded("Deepgram", raw, self._parse)

    def _parse(self, msg: dict[str, Any]) -> list[Event]:
        kind = msg.get("type")
        if kind == "Results":
            return _results(msg)
        if kind == "Metadata":
            return [Ended()]
        if kind == "Error":
            text = msg.get("description") or msg.get("message")
            code = msg.get("code") or msg.get("variant")
            # NB: informational; the close code that follows decides what happens.
            return [
                VendorError(
                    message=text if isinstance(text, str) else "Deepgram reported an error",
                    code=code if isinstance(code, str) else "",
                    fatal=False,
                )
            ]
        if kind in ("UtteranceEnd", "SpeechStarted"):
            return []  # endpoint hints; finals already carry the text
        log.debug("Deepgram: ignoring message type %.40r", kind)
        return []

    # -- closes --------------------------------------------------------------

    def classify_refusal(self, status: int, headers: Mapping[str, str], body: bytes
                         ) -> CloseVerdict:
        """Deepgram explains a refused upgrade in ``dg-error`` (and the body's ``err_msg``)."""
        reason = headers.get("dg-error", "")
        if not reason:
            msg = load_object(body[:4096])
            reason = str(msg.get("err_msg") or "") if msg else ""
        return self.classify_close(status, " ".join(reason.split())[:200])

    def classify_close(self, code: int | None, reason: str) -> CloseVerdict:
        """Map a close code (or HTTP status of a failed upgrade, or None) to a verdict."""
        reason = (reason or "").strip()
        if code == 1008:
            return CloseVerdict(
                CloseKind.FATAL,
                "Deepgram could not decode the audio (DATA-0000) — check the Deepgram "
                "options in Preferences; if they are the defaults, please report this bug",
            )
        if code == 1011:
            if "NET-0001" in reason:
                return CloseVerdict(
                    CloseKind.RETRY,
                    "Deepgram closed the connection after 10 s without audio; reconnecting",
                )
            return CloseVerdict(
                CloseKind.RETRY,
                "Deepgram stopped responding (NET-0000); reconnecting",
                retry_after_s=1.0,
            )
        if code == 400:
            detail = f" ({reason})" if reason else ""
            return CloseVerdict(
                CloseKind.FATAL,
                f"Deepgram rejected the settings{detail} — check the Deepgram model, "
                "language and key terms in Preferences",
            )
        return generic_verdict(VENDOR, code, reason)


def _results(msg: dict[str, Any]) -> list[Event]:
    alternative = _first_alternative(msg.get("channel"))
    text = alternative.get("transcript")
    text = text.strip() if isinstance(text, str) else ""
    words = _words(alternative.get("words"))
    start_ms = seconds_to_ms(msg.get("start"))
    duration_ms = seconds_to_ms(msg.get("duration"))
    if start_ms is None:
        start_ms = words[0].start_ms if words else 0
    if duration_ms is not None:
        end_ms = start_ms + max(duration_ms, 0)
    else:
        end_ms = max(words[-1].end_ms, start_ms) if words else start_ms
    speakers = Counter(w.speaker for w in words if w.speaker)
    speaker = speakers.most_common(1)[0][0] if speakers else None
    if not text:
        return [Partial("", start_ms, end_ms)]
    if msg.get("is_final") is True:
        return [Final(text, start_ms, end_ms, words, speaker)]
    return [Partial(text, start_ms, end_ms, words, speaker)]


def _first_alternative(channel: object) -> dict[str, Any]:
    if isinstance(channel, dict):
        alternatives = channel.get("alternatives")
        if isinstance(alternatives, list) and alternatives and isinstance(alternatives[0], dict):
            return alternatives[0]
    return {}


def _words(raw_words: object) -> tuple[Word, ...]:
    if not isinstance(raw_words, list):
        return ()
    words = []
    for w in raw_words:
        if not isinstance(w, dict):
            continue
        text = w.get("punctuated_word")
        if not isinstance(text, str) or not text:
            text = w.get("word")
        start_ms, end_ms = seconds_to_ms(w.get("start")), seconds_to_ms(w.get("end"))
        if not isinstance(text, str) or start_ms is None or end_ms is None:
            continue
        confidence, speaker = w.get("confidence"), w.get("speaker")
        words.append(
            Word(
                text=text,
                start_ms=start_ms,
                end_ms=end_ms,
                confidence=float(confidence) if is_number(confidence) else None,
                speaker=_speaker_label(speaker),
            )
        )
    return tuple(words)


def _speaker_label(speaker: object) -> str | None:
    if is_number(speaker) and float(speaker).is_integer():
        return f"S{int(speaker)}"
    if isinstance(speaker, str) and speaker:
        return speaker
    return None
