"""Speechmatics Real-Time API v2: handshake, StartRecognition, AddAudio, parse, closes.

Also the protocol of the bundled offline engine (``captioner serve``), which the
``local`` provider reuses unchanged. Speechmatics acknowledges every audio frame
with ``AudioAdded``; :meth:`SpeechmaticsProvider.unacked_frames` lets the session
hold back instead of flooding the server. Wire facts:
``../shared/reference/realtime-protocols.md`` §3.

Live translation (checked 2026-12-01 against docs.speechmatics.com
"Translation", the RT API reference's message list, speechmatics-python
``RTTranslationConfig`` at fc97b09 and speechmatics-python-sdk ``sdk/rt`` at
a57ee8d): ``StartRecognition`` may carry ``translation_config:
{target_languages: [...], enable_partials: bool}``; up to five targets; pairs
are English to and from 34 languages (:data:`TRANSLATION_LANGUAGES`). The
server then sends, per target, ``AddPartialTranslation`` (replaces the
previous partial of that language) and ``AddTranslation`` (final), each
``{format, language, results: [{content, start_time, end_time, speaker?}]}``
with one sentence per result, timed by the first and last source word; finals
may come up to ~5 s after the source's ``AddTranscript``. An unsupported pair
is not an error: a ``Warning`` ``unsupported_translation_pair`` names it and
transcription goes on (``empty_translation_target_list`` likewise).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, ClassVar

from captioner.config import SAMPLE_RATE_HZ, SessionConfig
from captioner.options import BATCH, ProviderOptions, option, options_of
from captioner.providers.base import (
    CloseKind,
    CloseVerdict,
    Ended,
    Event,
    Final,
    FinalTranslation,
    Handshake,
    Partial,
    PartialTranslation,
    Provider,
    Started,
    VendorError,
    Word,
)
from captioner.providers.base import Warning as VendorWarning
from captioner.providers.wire import (
    UnsupportedLanguage,
    build_url,
    dict_of,
    load_object,
    mapped_language,
    parse_guarded,
    seconds_to_ms,
)
from captioner.vendors import vendor

log = logging.getLogger(__name__)

DEFAULT_URL = vendor("speechmatics").default_url
TEMP_KEY_URL = "https://mp.speechmatics.com/v1/api_keys?type=rt"
BATCH_KEY_URL = "https://mp.speechmatics.com/v1/api_keys?type=batch"
MAX_FRAME_BYTES = 16_000  # 0.5 s; the SDK uses 4096-byte chunks, no documented rule
#: our language codes -> Speechmatics' (Mandarin is ``cmn``; checked 2026-12-01, docs
#: speech-to-text/languages)
LANGUAGE_CODES = {"zh": "cmn"}
MAX_TRANSLATION_TARGETS = 5  # the vendor's limit per session
#: languages translated to and from English (docs.speechmatics.com, checked 2026-12-01)
TRANSLATION_LANGUAGES = frozenset(
    "bg ca cmn cs da de el es et fi fr gl hi hr hu id it ja ko lt lv ms nl no pl pt ro ru sk "
    "sl sv tr uk vi".split()
)


def translation_targets(language: str) -> frozenset[str]:
    """What speech in ``language`` can be translated into live."""
    if language == "en":
        return TRANSLATION_LANGUAGES
    return frozenset({"en"}) if language in TRANSLATION_LANGUAGES else frozenset()


@dataclass(frozen=True)
class SpeechmaticsOptions(ProviderOptions):
    """Speechmatics RT v2 settings (``transcription_config``; checked 2026-12-01 against
    speechmatics/docs spec/realtime.yaml, where ``model`` replaced ``operating_point``)."""

    MODEL_FIELD: ClassVar[str | None] = "model"

    model: str = option("enhanced", "operating point: enhanced (most accurate, the SDK's "
                        "default) or standard (the server's default)",
                        choices=("enhanced", "standard"))
    region: str = option("eu", "data centre: eu (eu.rt.speechmatics.com) or us",
                         choices=tuple(vendor("speechmatics").regions))
    max_delay: float = option(2.0, "latency of finals in seconds (2 s is the vendor's "
                              "captioning advice)", minimum=0.7, maximum=4.0,
                              title="Latency: max delay (s)")
    max_delay_mode: str = option("flexible", "flexible may wait past max_delay to finish a "
                                 "number or date; fixed never does", choices=("flexible", "fixed"))
    end_of_utterance_silence_s: float | None = option(
        None, "silence (s) that ends an utterance (0 = off)", minimum=0.0, maximum=2.0,
        title="Endpointing: silence (s)")
    max_speakers: int | None = option(None, "most speakers told apart (with speaker labels)",
                                      minimum=2, maximum=100)
    temporary_key: bool = option(False, "exchange the key for a short-lived one per session")
    temporary_key_ttl_s: int = option(60, "lifetime of a temporary key (s)", minimum=60,
                                      maximum=86400)
    key_url: str = option(TEMP_KEY_URL, "where temporary keys come from",
                          title="Temporary key URL")
    batch_key_url: str = option(BATCH_KEY_URL, BATCH + "where temporary batch keys come from "
                                "(with temporary_key)", title="Recordings: temporary key URL")
    batch_diarization: str = option(
        "speaker", BATCH + "speaker: tell voices apart; channel: one speaker per channel; "
        "none", choices=("speaker", "channel", "none"), title="Recordings: diarization")
    batch_translation: tuple[str, ...] = option(
        (), BATCH + "also translate into these languages (e.g. de,fr); written beside the "
        "transcript, one file per language", max_items=5, title="Recordings: translate to")



class TemporaryKeyError(Exception):
    """The temporary-key exchange failed.

    Attributes:
        status: the HTTP status, or None when the server was not reached.
        retryable: whether trying again later may help (no answer, 429, 5xx).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = status is None or status == 429 or status >= 500


def fetch_temporary_key(api_key: str, url: str = TEMP_KEY_URL, ttl_s: int = 60,
                        timeout_s: float = 10.0) -> str:
    """Exchange the long-lived key for a short-lived RT key (blocking).

    ``POST {url}`` with ``{"ttl": N}``; the reply (201) is ``{"key_value": ...}``.

    Raises:
        TemporaryKeyError: a refusal (401: a bad key, never retried) or no answer.
    """
    body = json.dumps({"ttl": ttl_s}).encode()
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            reply = load_object(response.read(65536))
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise TemporaryKeyError("Speechmatics rejected the API key — check it in "
                                    "Preferences", exc.code) from None
        raise TemporaryKeyError(f"Speechmatics refused a temporary key (HTTP {exc.code})",
                                exc.code) from None
    except (urllib.error.URLError, OSError) as exc:
        raise TemporaryKeyError(f"Could not reach Speechmatics for a temporary key "
                                f"({type(exc).__name__}) — check your internet connection"
                                ) from None
    key = reply.get("key_value") if reply else None
    if not isinstance(key, str) or not key:
        raise TemporaryKeyError("Speechmatics sent an unreadable temporary key reply", 200)
    return key


def _seconds_to_ms(value: Any) -> int:
    return max(0, seconds_to_ms(value) or 0)


def join_results(results: list[Any], delimiter: str = " ") -> tuple[str, tuple[Word, ...]]:
    """Text and words from ``results[]``, gluing punctuation per ``attaches_to``."""
    text = ""
    glue_next = True  # no delimiter before the first token
    words: list[Word] = []
    for item in results:
        if not isinstance(item, dict):
            continue
        alternatives = item.get("alternatives")
        if not isinstance(alternatives, list) or not alternatives:
            continue
        best = alternatives[0]
        if not isinstance(best, dict) or not isinstance(best.get("content"), str):
            continue
        content = best["content"]
        kind = item.get("type")
        attaches = item.get("attaches_to", "previous" if kind == "punctuation" else "none")
        if attaches in ("previous", "both") or glue_next:
            text += content
        else:
            text += delimiter + content
        glue_next = attaches in ("next", "both")
        if kind != "punctuation":
            speaker = best.get("speaker")
            confidence = best.get("confidence")
            words.append(Word(
                text=content,
                start_ms=_seconds_to_ms(item.get("start_time")),
                end_ms=_seconds_to_ms(item.get("end_time")),
                confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
                speaker=speaker if isinstance(speaker, str) and speaker != "UU" else None,
            ))
    return text, tuple(words)


def results_language(results: list[Any]) -> str | None:
    """The language the words of ``results[]`` were recognised in (their alternatives'
    ``language``; the most frequent one if they differ), or None when none says."""
    counts: dict[str, int] = {}
    for item in results:
        if not isinstance(item, dict) or item.get("type") == "punctuation":
            continue
        alternatives = item.get("alternatives")
        best = alternatives[0] if isinstance(alternatives, list) and alternatives else None
        language = best.get("language") if isinstance(best, dict) else None
        if isinstance(language, str) and language.strip():
            code = language.strip()[:16]
            counts[code] = counts.get(code, 0) + 1
    return max(counts, key=lambda code: counts[code]) if counts else None


def _speaker(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != "UU" else None


class SpeechmaticsProvider(Provider):
    """Speechmatics RT v2 client side.

    Attributes:
        sent_seq: AddAudio frames sent on this connection.
        acked_seq: highest ``AudioAdded.seq_no`` received.
    """

    name = "speechmatics"
    translates = True  # live translation (the offline engine speaks the protocol without it)
    max_speed = None  # paced by AudioAdded acks instead
    max_session_s: float | None = 47 * 3600.0  # sessions end at 48 h

    def __init__(self, cfg: SessionConfig) -> None:
        self.cfg = cfg
        self.opts = options_of(cfg.options, SpeechmaticsOptions)
        self.sent_seq = 0
        self.acked_seq = 0
        self._delimiter = " "
        self._last_error = ""  # type of the last in-band Error

    # -- handshake --------------------------------------------------------------

    def language(self) -> str:
        """Speechmatics' code for the configured language (``zh`` → ``cmn``)."""
        return mapped_language(self.cfg.language, LANGUAGE_CODES, self.title)

    def start_recognition(self) -> dict[str, Any]:
        cfg, opts = self.cfg, self.opts
        tc: dict[str, Any] = {"language": self.language(), "enable_partials": True,
                              "model": opts.model, "max_delay": opts.max_delay,
                              "max_delay_mode": opts.max_delay_mode}
        if cfg.vocabulary:
            tc["additional_vocab"] = [{"content": w} for w in cfg.vocabulary]
        if cfg.speaker_labels:
            tc["diarization"] = "speaker"
            if opts.max_speakers is not None:
                tc["speaker_diarization_config"] = {"max_speakers": opts.max_speakers}
        if cfg.remove_disfluencies:
            tc["transcript_filtering_config"] = {"remove_disfluencies": True}
        if opts.end_of_utterance_silence_s is not None:
            tc["conversation_config"] = {
                "end_of_utterance_silence_trigger": opts.end_of_utterance_silence_s}
        if cfg.profanity_filter:
            log.debug("Speechmatics has no profanity filter; option ignored")
        start: dict[str, Any] = {
            "message": "StartRecognition",
            "audio_format": {"type": "raw", "encoding": "pcm_s16le", "sample_rate": SAMPLE_RATE_HZ},
            "transcription_config": tc,
        }
        if cfg.translate_to and self.translates:
            start["translation_config"] = {"target_languages": list(cfg.translate_to),
                                           "enable_partials": True}
        return start

    def base_url(self) -> str:
        if self.cfg.endpoint:
            return build_url(self.cfg.endpoint, DEFAULT_URL, [])
        return vendor("speechmatics").url_for(self.opts.region)

    def handshake(self, secret: str | None) -> Handshake:
        """URL, ``Authorization: Bearer`` (the key or a temporary one) and StartRecognition.

        Raises:
            TemporaryKeyError, UnsupportedLanguage: see :meth:`classify_exception`.
        """
        first = json.dumps(self.start_recognition())
        headers: dict[str, str] = {}
        if secret:
            if self.opts.temporary_key:
                secret = fetch_temporary_key(secret, self.opts.key_url,
                                             self.opts.temporary_key_ttl_s)
            headers["Authorization"] = f"Bearer {secret}"
        return Handshake(url=self.base_url(), headers=headers, first_message=first,
                         wait_for_started=True)

    def classify_exception(self, exc: BaseException) -> CloseVerdict:
        """A refused key exchange (401) or a language Speechmatics lacks is fatal."""
        if isinstance(exc, TemporaryKeyError):
            if exc.retryable:
                return CloseVerdict(CloseKind.RETRY, str(exc), retry_after_s=5.0)
            return CloseVerdict(CloseKind.FATAL, str(exc))
        if isinstance(exc, UnsupportedLanguage):
            return CloseVerdict(CloseKind.FATAL, str(exc))
        return super().classify_exception(exc)

    # -- audio ----------------------------------------------------------------

    def frame_audio(self, pcm: bytes) -> list[bytes]:
        frames = [pcm[i:i + MAX_FRAME_BYTES] for i in range(0, len(pcm), MAX_FRAME_BYTES)]
        self.sent_seq += len(frames)
        return frames

    def unacked_frames(self) -> int:
        return self.sent_seq - self.acked_seq

    def end_of_stream(self) -> str:
        return json.dumps({"message": "EndOfStream", "last_seq_no": self.sent_seq})

    # -- messages -------------------------------------------------------------

    def parse(self, raw: str | bytes) -> list[Event]:
        return parse_guarded(self.title, raw, self._parse)

    def _parse(self, msg: dict[str, Any]) -> list[Event]:
        kind = msg.get("message")
        if kind == "AudioAdded":
            seq = msg.get("seq_no")
            if isinstance(seq, int):
                self.acked_seq = max(self.acked_seq, seq)
            return []
        if kind in ("AddPartialTranscript", "AddTranscript"):
            results = msg.get("results")
            items = results if isinstance(results, list) else []
            text, words = join_results(items, self._delimiter)
            meta = dict_of(msg.get("metadata"))
            start_ms = words[0].start_ms if words else _seconds_to_ms(meta.get("start_time"))
            end_ms = words[-1].end_ms if words else _seconds_to_ms(meta.get("end_time"))
            speakers = {w.speaker for w in words if w.speaker}
            speaker = speakers.pop() if len(speakers) == 1 else None
            cls = Final if kind == "AddTranscript" else Partial
            return [cls(text=text, start_ms=start_ms, end_ms=end_ms, words=words, speaker=speaker,
                        language=results_language(items))]
        if kind in ("AddPartialTranslation", "AddTranslation"):
            return self._translation(msg, final=kind == "AddTranslation")
        if kind == "RecognitionStarted":
            info = msg.get("language_pack_info")
            if isinstance(info, dict) and isinstance(info.get("word_delimiter"), str):
                self._delimiter = info["word_delimiter"]
            return [Started(session_id=str(msg.get("id", "")))]
        if kind == "EndOfTranscript":
            return [Ended()]
        if kind == "Warning":
            reason, code = str(msg.get("reason", "")), str(msg.get("type", ""))
            return [VendorWarning(message=reason, code=code)]
        if kind == "Error":
            code = str(msg.get("type", ""))
            self._last_error = code
            return [VendorError(message=self.error_message(code, str(msg.get("reason", ""))),
                                code=code, fatal=code not in ("idle_timeout", "session_timeout"))]
        log.debug("ignoring Speechmatics message %r", kind if isinstance(kind, str) else "?")
        return []

    def _translation(self, msg: dict[str, Any], *, final: bool) -> list[Event]:
        language, results = msg.get("language"), msg.get("results")
        if not isinstance(language, str) or not isinstance(results, list):
            log.debug("ignoring a translation without language or results")
            return []
        sentences = [r for r in results
                     if isinstance(r, dict) and isinstance(r.get("content"), str)]
        parts = [(r["content"].strip(), _seconds_to_ms(r.get("start_time")),
                  _seconds_to_ms(r.get("end_time")), r.get("speaker")) for r in sentences]
        parts = [p for p in parts if p[0]]
        if final:
            return [FinalTranslation(language, text, start_ms, max(start_ms, end_ms),
                                     _speaker(speaker))
                    for text, start_ms, end_ms, speaker in parts]
        # a partial is the whole untranslated-for-good remainder: one event
        if not parts:
            return [PartialTranslation(language, "", 0, 0)]
        speakers = {_speaker(p[3]) for p in parts} - {None}
        return [PartialTranslation(language, " ".join(p[0] for p in parts), parts[0][1],
                                   max(p[2] for p in parts),
                                   speakers.pop() if len(speakers) == 1 else None)]

    def error_message(self, code: str, reason: str) -> str:
        verdict = self.classify_close(None, code)
        return verdict.message if verdict.kind is CloseKind.FATAL else f"{self.title}: {reason}"

    # -- closes ---------------------------------------------------------------

    _FATAL = {
        4001: "{t} rejected the API key. Check it in Preferences.",
        4003: "{t} does not allow this request for your account.",
        4004: "{t} does not offer the chosen model or language.",
        4006: "Your {t} usage quota is used up. Check your account.",
        1003: "{t} did not accept what captioner sent (protocol error). Please report this.",
        400: "{t} refused the session settings. Check the language and options.",
        401: "{t} rejected the API key. Check it in Preferences.",
        403: "{t} refused access. Check the API key and your account.",
        404: "No {t} service at that address. Check the endpoint URL.",
    }
    _BY_TYPE = {"not_authorised": 4001, "not_allowed": 4003, "invalid_model": 4004,
                "invalid_language": 4004, "timelimit_exceeded": 4006, "protocol_error": 1003,
                "invalid_config": 400, "invalid_audio_type": 400, "invalid_message": 1003,
                "quota_exceeded": 4005, "job_error": 4013, "internal_error": 1011}
    _RETRY = {
        4005: ("{t} is at its limit of concurrent sessions; trying again.", 10.0),
        4013: ("{t} had a problem with the session; reconnecting.", 5.0),
        1011: ("{t} had an internal error; reconnecting.", 5.0),
        429: ("{t} is busy; trying again.", 10.0),
    }

    def classify_close(self, code: int | None, reason: str) -> CloseVerdict:
        if reason in self._BY_TYPE and code not in (1000, 1008):
            code = self._BY_TYPE[reason]  # the payload names the error type precisely
        t = self.title
        if code == 1000:
            return CloseVerdict(CloseKind.NORMAL)
        if code == 1008:
            # docs (realtime.yaml, checked 2026-12-01): an idle_timeout / session_timeout
            # Error is followed by close 1008 "policy_violation": start a new session
            if "timeout" in reason or self._last_error in ("idle_timeout", "session_timeout"):
                return CloseVerdict(CloseKind.RETRY, f"{t} ended an idle or long session; "
                                    "reconnecting.")
            return CloseVerdict(CloseKind.FATAL, f"{t} closed the session (policy violation).")
        if code in self._FATAL:
            return CloseVerdict(CloseKind.FATAL, self._FATAL[code].format(t=t))
        if code in self._RETRY:
            message, after_s = self._RETRY[code]
            return CloseVerdict(CloseKind.RETRY, message.format(t=t), after_s)
        if code is not None and 4000 <= code < 5000:
            return CloseVerdict(CloseKind.FATAL, f"{t} closed the session ({reason or code}).")
        return CloseVerdict(CloseKind.RETRY, f"Lost the connection to {t}; reconnecting.")
