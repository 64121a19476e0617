"""Rev AI streaming speech-to-text (v1): handshake, framing, parsing, close codes.

Wire facts come from ``shared/reference/realtime-protocols.md`` section 1. Auth
is the ``access_token`` query parameter (so the URL is a secret and is never
logged); every setting is in the query string; audio goes as binary frames in
real time; ``EOS`` ends the stream and the server answers with its last finals
and a 1000 close (Rev has no in-band end message, so that close *is* the end).
Partials list bare words (joined here with spaces); finals carry explicit
``punct`` elements for spaces and punctuation (joined as-is). Times are seconds
on the wire and milliseconds in events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from captioner.config import SessionConfig
from captioner.options import BATCH, ProviderOptions, batch_speaker_labels, option, options_of
from captioner.providers.base import (
    CloseKind,
    CloseVerdict,
    Event,
    Final,
    Handshake,
    Partial,
    Provider,
    Started,
    Word,
)
from captioner.providers.base import Warning as VendorWarning
from captioner.providers.revai_vocabulary import (
    READY_TIMEOUT_S,
    VocabularyError,
    VocabularyPending,
    ensure_vocabulary,
    rest_url_for,
)
from captioner.providers.wire import (
    UnsupportedLanguage,
    build_url,
    generic_verdict,
    is_number,
    mapped_language,
    parse_guarded,
    safe_url,
    seconds_to_ms,
)
from captioner.vendors import vendor

log = logging.getLogger(__name__)

VENDOR = "Rev AI"
DEFAULT_URL = vendor("revai").default_url
CONTENT_TYPE = "audio/x-raw;layout=interleaved;rate=16000;format=S16LE;channels=1"
END_OF_STREAM = "EOS"
#: our language codes -> Rev's (Rev names Mandarin ``cmn``; checked 2026-12-01, docs.rev.ai)
LANGUAGE_CODES = {"zh": "cmn"}


@dataclass(frozen=True)
class RevAiOptions(ProviderOptions):
    """Rev AI streaming settings (query parameters; docs.rev.ai/api/streaming/requests,
    checked 2026-12-01)."""

    MODEL_FIELD: ClassVar[str | None] = "transcriber"

    region: str = option("us", "Rev deployment: us (api.rev.ai) or eu (ec1.api.rev.ai)",
                         choices=tuple(vendor("revai").regions))
    transcriber: str = option("", "streaming recognizer (empty: Rev's default)",
                              choices=("", "machine", "machine_v2"), title="Model")
    custom_vocabulary_id: str = option(
        "", "id of a custom vocabulary made with Rev's REST API (otherwise the vocabulary "
        "list is submitted for one)", title="Custom vocabulary id")
    vocabulary_url: str = option(
        "", "Rev's custom vocabularies API (empty: on the streaming host, "
        "https://<host>/speechtotext/v1/vocabularies)", title="Vocabularies API URL")
    vocabulary_wait_s: float = option(
        READY_TIMEOUT_S, "how long a session waits for a new custom vocabulary before "
        "captioning without it (it is used from the next connection)", minimum=0.0,
        maximum=120.0, title="Wait for vocabulary (s)")
    detailed_partials: bool = option(False, "word timings and confidence on partials too")
    max_segment_duration_seconds: int | None = option(
        None, "longest final segment in seconds", minimum=5, maximum=30,
        title="Longest segment (s)")
    skip_postprocessing: bool = option(False, "skip Rev's text post-processing of finals")
    delete_after_seconds: int | None = option(
        None, "delete the job at Rev this many seconds after it ends", minimum=0,
        maximum=2_592_000)
    metadata: str = option("", "free text stored with the job at Rev")
    batch_transcriber: str = option("", BATCH + "machine, low_cost or fusion (empty: Rev's "
                                    "default)", choices=("", "machine", "low_cost", "fusion"),
                                    title="Recordings: transcriber")
    batch_speaker_labels: bool = batch_speaker_labels()
    batch_speakers_count: int | None = option(None, BATCH + "how many speakers there are",
                                              minimum=1, maximum=100,
                                              title="Recordings: speakers")
    batch_speaker_channels_count: int | None = option(
        None, BATCH + "channels to transcribe apart (one speaker each)", minimum=1, maximum=8,
        title="Recordings: speaker channels")
    batch_remove_atmospherics: bool = option(False, BATCH + "leave out <laugh>, <affirmative> "
                                             "and the like", title="Recordings: no atmospherics")


__all__ = ["RevAiOptions", "RevAiProvider", "VocabularyError"]

#: shown (as a notice) once Rev has answered, when the vocabulary was not ready in time
PENDING_NOTE = ("the custom vocabulary is still being built; captioning without it until "
                "the next connection")


class RevAiProvider(Provider):
    """Rev AI streaming protocol, without sockets.

    Attributes:
        name: ``"revai"``.
        max_speed: 1.0 — Rev bills wall-clock time and wants real-time audio.
        cfg: the session settings.
        opts: its :class:`RevAiOptions`.
    """

    name = "revai"
    max_session_s = 3 * 3600.0 - 300.0  # roll over before the 3 h cap

    def __init__(self, cfg: SessionConfig) -> None:
        self.cfg = cfg
        self.opts = options_of(cfg.options, RevAiOptions)
        self._notes: list[str] = []  # warnings to show once the session has started

    # -- handshake -----------------------------------------------------------

    def language(self) -> str:
        """Rev's code for the configured language (``zh`` → ``cmn``)."""
        return mapped_language(self.cfg.language, LANGUAGE_CODES, VENDOR)

    def query_params(self, vocabulary_id: str = "") -> list[tuple[str, str]]:
        """The query parameters except ``access_token``, in send order."""
        cfg, opts = self.cfg, self.opts
        params: list[tuple[str, str]] = [("content_type", CONTENT_TYPE)]
        params.append(("language", self.language()))
        if cfg.profanity_filter:
            params.append(("filter_profanity", "true"))
        if cfg.remove_disfluencies:
            params.append(("remove_disfluencies", "true"))
        if cfg.speaker_labels:
            params.append(("enable_speaker_switch", "true"))
        vocabulary_id = opts.custom_vocabulary_id or vocabulary_id
        if vocabulary_id:
            params.append(("custom_vocabulary_id", vocabulary_id))
        if opts.transcriber:
            params.append(("transcriber", opts.transcriber))
        for name in ("detailed_partials", "skip_postprocessing"):
            if getattr(opts, name):
                params.append((name, "true"))
        for name in ("max_segment_duration_seconds", "delete_after_seconds"):
            value = getattr(opts, name)
            if value is not None:
                params.append((name, str(value)))
        if opts.metadata:
            params.append(("metadata", opts.metadata))
        return params

    def base_url(self) -> str:
        """The endpoint without query: ``cfg.endpoint`` or the (regional) default."""
        return self.cfg.endpoint or vendor("revai").url_for(self.opts.region)

    def vocabulary_id(self, secret: str | None) -> str:
        """The id of a custom vocabulary for the vocabulary list ("" if none), built through
        Rev's custom vocabularies API (:mod:`.revai_vocabulary`; blocking).

        Raises:
            VocabularyError: Rev refused or failed the list, or could not be reached.
        """
        words = self.cfg.vocabulary
        if not words or self.opts.custom_vocabulary_id:
            return ""
        url = self.opts.vocabulary_url or rest_url_for(self.base_url())
        try:
            return ensure_vocabulary(words, secret, url,
                                     ready_timeout_s=self.opts.vocabulary_wait_s) or ""
        except VocabularyPending as pending:
            # info: the user reads PENDING_NOTE as a notice once Rev answers
            log.info("Rev AI: vocabulary %s not ready yet; connecting without it",
                     pending.vocabulary_id)
            self._notes.append(PENDING_NOTE)
            return ""

    def handshake(self, secret: str | None) -> Handshake:
        """URL with the query string; the token is the ``access_token`` parameter.

        Args:
            secret: the Rev AI access token, or None for a self-hosted server
                without auth.
        """
        params = self.query_params(self.vocabulary_id(secret))
        if secret:
            params.insert(0, ("access_token", secret))
        url = build_url(self.base_url(), DEFAULT_URL, params)
        log.debug("Rev AI handshake to %s", safe_url(url))
        return Handshake(url=url, headers={}, first_message=None, wait_for_started=True)

    # -- audio ---------------------------------------------------------------

    def frame_audio(self, pcm: bytes) -> list[bytes]:
        """Rev has no frame-size rule; send each block as it comes (never empty)."""
        return [bytes(pcm)] if pcm else []

    def end_of_stream(self) -> str | None:
        return END_OF_STREAM

    # -- parsing -------------------------------------------------------------

    def parse(self, raw: str | bytes) -> list[Event]:
        """Turn one server frame into events; never raises."""
        return parse_guarded("Rev AI", raw, self._parse)

    def _parse(self, msg: dict[str, Any]) -> list[Event]:
        kind = msg.get("type")
        if kind == "connected":
            session_id = msg.get("id")
            notes: list[Event] = [VendorWarning(note) for note in self._notes]
            self._notes.clear()
            return [Started(session_id=session_id if isinstance(session_id, str) else ""),
                    *notes]
        if kind == "partial":
            return self._partial(msg)
        if kind == "final":
            return self._final(msg)
        log.debug("Rev AI: ignoring message type %.40r", kind)
        return []

    def _partial(self, msg: dict[str, Any]) -> list[Event]:
        elements = _elements(msg)
        texts = [e["value"] for e in elements if e.get("type") == "text" and e["value"].strip()]
        words = _timed_words(elements, speaker=_speaker(msg))
        start_ms, end_ms = _span(msg, words)
        return [
            Partial(
                text=" ".join(t.strip() for t in texts),
                start_ms=start_ms,
                end_ms=end_ms,
                words=words,
                speaker=_speaker(msg),
            )
        ]

    def _final(self, msg: dict[str, Any]) -> list[Event]:
        elements = _elements(msg)
        text = "".join(e["value"] for e in elements).strip()
        words = _timed_words(elements, speaker=_speaker(msg))
        start_ms, end_ms = _span(msg, words)
        return [
            Final(
                text=text,
                start_ms=start_ms,
                end_ms=end_ms,
                words=words,
                speaker=_speaker(msg),
            )
        ]

    # -- closes --------------------------------------------------------------

    def classify_exception(self, exc: BaseException) -> CloseVerdict:
        """A language Rev lacks is fatal; a failed vocabulary says whether to retry."""
        if isinstance(exc, UnsupportedLanguage):
            return CloseVerdict(CloseKind.FATAL, str(exc))
        if isinstance(exc, VocabularyError):
            return exc.verdict
        return super().classify_exception(exc)

    def classify_close(self, code: int | None, reason: str) -> CloseVerdict:
        """Map a close code (or HTTP status of a failed upgrade, or None) to a verdict."""
        reason = (reason or "").strip()
        verdict = CLOSE_CODES.get(code) if code is not None else None
        if verdict is not None:
            if code == 4002 and reason:
                return CloseVerdict(
                    CloseKind.FATAL,
                    f"Rev AI rejected a setting ({reason}) — check the Rev AI options "
                    "in Preferences",
                )
            return verdict
        return generic_verdict(VENDOR, code, reason)


CLOSE_CODES: dict[int, CloseVerdict] = {
    1000: CloseVerdict(CloseKind.NORMAL, "Rev AI finished the session."),
    4001: CloseVerdict(
        CloseKind.FATAL, "Rev AI rejected the access token — check it in Preferences"
    ),
    4002: CloseVerdict(
        CloseKind.FATAL,
        "Rev AI rejected a setting — check the Rev AI options in Preferences",
    ),
    4003: CloseVerdict(
        CloseKind.FATAL,
        "Your Rev AI account is out of credits — add credits at rev.ai, then start again",
    ),
    4010: CloseVerdict(
        CloseKind.RETRY, "The Rev AI server is shutting down; reconnecting to another one"
    ),
    4013: CloseVerdict(
        CloseKind.RETRY,
        "Rev AI has no free recognizer right now; trying again shortly",
        retry_after_s=5.0,
    ),
}


# -- Rev message helpers ------------------------------------------------------


def _elements(msg: dict[str, Any]) -> list[dict[str, Any]]:
    """The well-formed elements of a hypothesis (dicts with a string ``value``)."""
    elements = msg.get("elements")
    if not isinstance(elements, list):
        return []
    return [e for e in elements if isinstance(e, dict) and isinstance(e.get("value"), str)]


def _timed_words(elements: list[dict[str, Any]], speaker: str | None) -> tuple[Word, ...]:
    words = []
    for e in elements:
        if e.get("type") != "text":
            continue
        start_ms, end_ms = seconds_to_ms(e.get("ts")), seconds_to_ms(e.get("end_ts"))
        if start_ms is None or end_ms is None:
            continue
        confidence = e.get("confidence")
        words.append(
            Word(
                text=e["value"].strip(),
                start_ms=start_ms,
                end_ms=end_ms,
                confidence=float(confidence) if is_number(confidence) else None,
                speaker=speaker,
            )
        )
    return tuple(words)


def _span(msg: dict[str, Any], words: tuple[Word, ...]) -> tuple[int, int]:
    start_ms = seconds_to_ms(msg.get("ts"))
    end_ms = seconds_to_ms(msg.get("end_ts"))
    if start_ms is None:
        start_ms = words[0].start_ms if words else 0
    if end_ms is None:
        end_ms = words[-1].end_ms if words else start_ms
    return start_ms, max(start_ms, end_ms)


def _speaker(msg: dict[str, Any]) -> str | None:
    speaker = msg.get("speaker_id")
    if is_number(speaker) and float(speaker).is_integer():
        return f"S{int(speaker)}"
    if isinstance(speaker, str) and speaker:
        return speaker
    return None


