"""AssemblyAI Universal Streaming (v3): handshake, framing, parsing, close codes.

Wire facts come from ``shared/reference/realtime-protocols.md`` section 2.
Auth is the raw key in the ``Authorization`` header, or a single-use temporary
token in the ``token`` query parameter (:func:`fetch_temporary_token`, enabled
with option ``temporary_token=true``). Each binary frame must hold 50–1000 ms
of audio, so :meth:`AssemblyAiProvider.frame_audio` buffers small blocks; the
last < 50 ms is held back until :meth:`AssemblyAiProvider.flush_audio`, which
pads it with silence to 50 ms (the session sends that just before
``Terminate``; without it at most 50 ms of trailing audio is dropped).

Turns are keyed by ``turn_order``; word times are already milliseconds. With
``format_turns`` (on by default) the server sends the end-of-turn twice: first
unformatted, then formatted. The unformatted one becomes a :class:`Partial`
and the formatted one the :class:`Final`. ``parse`` does no I/O and never
raises, but keeps a two-field turn tracker so that a formatted turn that never
comes is still finalized (when the next turn or ``Termination`` arrives) and a
turn is never finalized twice; ``Begin`` resets it.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

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
    Started,
    VendorError,
    Word,
)
from captioner.providers.base import Warning as VendorWarning
from captioner.providers.wire import (
    build_url,
    generic_verdict,
    is_number,
    load_object,
    parse_guarded,
    safe_url,
)
from captioner.vendors import vendor

log = logging.getLogger(__name__)

VENDOR = "AssemblyAI"
DEFAULT_URL = vendor("assemblyai").default_url
TOKEN_PATH = "/v3/token"
TERMINATE = json.dumps({"type": "Terminate"})
FORCE_ENDPOINT = json.dumps({"type": "ForceEndpoint"})

MIN_FRAME_MS = 50
MAX_FRAME_MS = 1000
MIN_FRAME_BYTES = MIN_FRAME_MS * BYTES_PER_MS  # 1600
MAX_FRAME_BYTES = MAX_FRAME_MS * BYTES_PER_MS  # 32000

#: streaming models (checked 2026-12-01: docs "Model selection" says speech_model is
#: required with no default; SDK assemblyai/streaming/v3/models.py SpeechModel)
#: pre-recorded ``speech_models`` (checked 2026-12-01 against assemblyai-python-sdk 530eca5's
#: README, which passes ["universal-3-5-pro", "universal-2"], and AssemblyAI's model docs)
BATCH_MODELS = ("universal-3-5-pro", "universal-2", "assemblyai-stt-3-7", "slam-1")
BATCH_MODELS_DEFAULT = ("universal-3-5-pro", "universal-2")
MODELS = ("u3-rt-pro", "universal-streaming-english", "universal-streaming-multilingual",
          "whisper-rt")
#: what u3-rt-pro and universal-streaming-multilingual cover; whisper-rt detects the rest
U3_LANGUAGES = ("en", "es", "fr", "de", "it", "pt")


@dataclass(frozen=True)
class AssemblyAiOptions(ProviderOptions):
    """AssemblyAI Universal Streaming v3 settings (query parameters, checked 2026-12-01
    against the docs and AssemblyAI/assemblyai-python-sdk 530eca5)."""

    MODEL_FIELD: ClassVar[str | None] = "speech_model"

    speech_model: str = option(
        "auto", "auto: u3-rt-pro for en/es/fr/de/it/pt, whisper-rt for other languages",
        choices=("auto", *MODELS), title="Model")
    region: str = option("us", "data residency: us or eu (streaming.eu.assemblyai.com)",
                         choices=tuple(vendor("assemblyai").regions))
    temporary_token: bool = option(
        False, "send a single-use token per session (GET /v3/token) instead of the key")
    token_expires_in_s: int = option(60, "how long a temporary token may wait for its session",
                                     minimum=1, maximum=600, title="Token valid for (s)")
    max_session_duration_s: int | None = option(
        None, "cap on a session opened with a temporary token (s)", minimum=60, maximum=10800,
        title="Token session cap (s)")
    format_turns: bool = option(True, "punctuation and casing on finished turns")
    min_turn_silence: int | None = option(
        None, "silence (ms) that ends a turn when the model is confident", minimum=0,
        maximum=10000, title="Endpointing: min silence (ms)")
    max_turn_silence: int | None = option(
        None, "silence (ms) that always ends a turn", minimum=0, maximum=10000,
        title="Endpointing: max silence (ms)")
    end_of_turn_confidence_threshold: float | None = option(
        None, "confidence needed to end a turn (universal-streaming models)", minimum=0.0,
        maximum=1.0, title="End-of-turn confidence")
    vad_threshold: float | None = option(None, "voice activity threshold", minimum=0.0,
                                         maximum=1.0)
    max_speakers: int | None = option(None, "most speakers told apart (with speaker labels)",
                                      minimum=1, maximum=10)
    inactivity_timeout: int | None = option(
        None, "close the session after this many seconds without audio", minimum=5,
        maximum=3600)
    prompt: str = option("", "instructions for the u3-rt-pro model")
    language_detection: bool = option(False, "report the detected language (multilingual)")
    batch_speech_models: tuple[str, ...] = option(
        BATCH_MODELS_DEFAULT, BATCH + "speech_models in priority order (the first that covers "
        "the language is used; AssemblyAI has no default)", choices=BATCH_MODELS, max_items=4,
        title="Recordings: models")
    batch_speaker_labels: bool = batch_speaker_labels()
    batch_format_text: bool = option(True, BATCH + "casing and number formatting",
                                     title="Recordings: format text")
    batch_punctuate: bool = option(True, BATCH + "punctuation", title="Recordings: punctuate")
    batch_multichannel: bool = option(False, BATCH + "transcribe each channel on its own "
                                      "(one speaker per channel)",
                                      title="Recordings: channels apart")


class TemporaryTokenError(Exception):
    """Fetching a temporary token failed.

    Attributes:
        status: the HTTP status, or None when the server was not reached.
        retryable: whether trying again later may help.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = status is None or status == 429 or status >= 500


def fetch_temporary_token(
    key: str,
    base_url: str = "https://streaming.assemblyai.com",
    *,
    expires_in_s: int = 60,
    max_session_duration_s: int | None = None,
    timeout_s: float = 10.0,
) -> str:
    """Get a single-use streaming token (blocking; call it from a thread).

    ``GET {base_url}/v3/token?expires_in_seconds=N`` with the raw key in
    ``Authorization``; the reply is ``{"token": ..., "expires_in_seconds": N}``.

    Args:
        key: the AssemblyAI API key.
        base_url: ``https://`` host of the streaming API (a ``ws(s)://``
            endpoint is accepted and converted; its path is ignored).
        expires_in_s: how long the token may wait before its session opens
            (1–600).
        max_session_duration_s: cap on the session it opens (60–10800).
        timeout_s: HTTP timeout.

    Returns:
        The token, for the ``token`` query parameter.

    Raises:
        TemporaryTokenError: on HTTP errors, bad replies or no connection; the
            message is fit for the user.
    """
    url = token_url(base_url, expires_in_s, max_session_duration_s)
    request = urllib.request.Request(url, method="GET", headers={"Authorization": key})
    log.debug("AssemblyAI: fetching a temporary token from %s", safe_url(url))
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise TemporaryTokenError(_token_error_message(exc), exc.code) from None
    except (urllib.error.URLError, OSError) as exc:
        raise TemporaryTokenError(
            f"Could not reach AssemblyAI to get a session token ({exc.__class__.__name__})"
            " — check your internet connection"
        ) from None
    msg = load_object(body)
    token = msg.get("token") if msg else None
    if not isinstance(token, str) or not token:
        raise TemporaryTokenError("AssemblyAI sent an unreadable token reply", 200)
    return token


def token_url(base_url: str, expires_in_s: int, max_session_duration_s: int | None) -> str:
    """The token endpoint URL for a streaming host (scheme mapped ws→http)."""
    if "://" not in base_url:
        base_url = "https://" + base_url
    parts = urlsplit(base_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme.lower(), parts.scheme.lower())
    params = [("expires_in_seconds", str(int(expires_in_s)))]
    if max_session_duration_s is not None:
        params.append(("max_session_duration_seconds", str(int(max_session_duration_s))))
    return urlunsplit((scheme, parts.netloc, TOKEN_PATH, urlencode(params), ""))


def _token_error_message(exc: urllib.error.HTTPError) -> str:
    try:
        detail = load_object(exc.read(4096)) or {}
    except OSError:
        detail = {}
    text = detail.get("error") if isinstance(detail.get("error"), str) else ""
    if exc.code in (401, 403):
        return "AssemblyAI rejected the API key — check it in Preferences"
    if exc.code == 429:
        return "AssemblyAI is rate-limiting new sessions; trying again shortly"
    suffix = f": {text}" if text else ""
    return f"AssemblyAI refused a session token (HTTP {exc.code}){suffix}"


class AssemblyAiProvider(Provider):
    """AssemblyAI v3 streaming protocol, without sockets.

    Attributes:
        name: ``"assemblyai"``.
        max_speed: 1.0 — faster than real time is closed with 3007.
        cfg: the session settings.
        format_turns: whether formatted end-of-turn messages are requested.
        use_temporary_token: whether :meth:`handshake` swaps the key for a
            single-use token (option ``temporary_token``).
    """

    name = "assemblyai"
    max_session_s = 3 * 3600.0 - 300.0  # roll over before the 3 h cap

    def __init__(self, cfg: SessionConfig) -> None:
        self.cfg = cfg
        self.opts = options_of(cfg.options, AssemblyAiOptions)
        self.format_turns = self.opts.format_turns
        self.use_temporary_token = self.opts.temporary_token
        token_cap_s = self.opts.max_session_duration_s
        if self.use_temporary_token and token_cap_s:
            self.max_session_s = max(token_cap_s - 60.0, 30.0)  # the token caps the session
        self._buffer = bytearray()
        self._last_final_turn = -1
        self._held: tuple[int, Final] | None = None

    # -- handshake -----------------------------------------------------------

    def base_url(self) -> str:
        return self.cfg.endpoint or vendor("assemblyai").url_for(self.opts.region)

    def speech_model(self) -> str:
        """The model to send: the chosen one, or by language for ``auto``."""
        if self.opts.speech_model != "auto":
            return self.opts.speech_model
        language = (self.cfg.language or "en").split("-")[0].lower()
        return "u3-rt-pro" if language in U3_LANGUAGES else "whisper-rt"

    def query_params(self) -> list[tuple[str, str]]:
        """Query parameters except ``token``, in send order (``speech_model`` always)."""
        cfg, opts = self.cfg, self.opts
        params = [("sample_rate", "16000"), ("encoding", "pcm_s16le"),
                  ("speech_model", self.speech_model()),
                  ("format_turns", "true" if self.format_turns else "false")]
        if cfg.vocabulary:
            params.append(("keyterms_prompt", json.dumps(list(cfg.vocabulary))))
        if cfg.speaker_labels:
            params.append(("speaker_labels", "true"))
        if cfg.profanity_filter:
            params.append(("filter_profanity", "true"))
        if cfg.remove_disfluencies:
            log.debug("AssemblyAI streaming has no disfluency setting; ignored")
        for name in ("min_turn_silence", "max_turn_silence", "end_of_turn_confidence_threshold",
                     "vad_threshold", "max_speakers", "inactivity_timeout"):
            value = getattr(opts, name)
            if value is not None:
                params.append((name, f"{value:g}" if isinstance(value, float) else str(value)))
        if opts.prompt:
            params.append(("prompt", opts.prompt))
        if opts.language_detection:
            params.append(("language_detection", "true"))
        return params

    def handshake(self, secret: str | None) -> Handshake:
        """URL and headers: the key in ``Authorization``, or a temporary token.

        With option ``temporary_token=true`` this first fetches a fresh
        single-use token over HTTPS (blocking — the session calls ``handshake``
        in a thread, once per connection) and passes it as ``token=``; the key
        itself never goes in a URL.

        Raises:
            TemporaryTokenError: the token could not be fetched (see
                :meth:`classify_exception`).
        """
        params = self.query_params()
        headers: dict[str, str] = {}
        if secret and self.use_temporary_token:
            params.append(("token", self.fetch_token(secret)))
        elif secret:
            headers["Authorization"] = secret
        url = build_url(self.base_url(), DEFAULT_URL, params)
        log.debug("AssemblyAI handshake to %s", safe_url(url))
        return Handshake(url=url, headers=headers, first_message=None, wait_for_started=True)

    def fetch_token(self, key: str) -> str:
        """A single-use token for this provider's host and options (blocking)."""
        return fetch_temporary_token(
            key,
            self.base_url(),
            expires_in_s=self.opts.token_expires_in_s,
            max_session_duration_s=self.opts.max_session_duration_s,
        )

    def classify_exception(self, exc: BaseException) -> CloseVerdict:
        """Verdict for an exception raised by :meth:`handshake` (the token fetch)."""
        if isinstance(exc, TemporaryTokenError):
            if exc.retryable:
                return CloseVerdict(CloseKind.RETRY, str(exc), retry_after_s=5.0)
            return CloseVerdict(CloseKind.FATAL, str(exc))
        return super().classify_exception(exc)

    # -- audio ---------------------------------------------------------------

    def frame_audio(self, pcm: bytes) -> list[bytes]:
        """Frames of 50–1000 ms; under 50 ms (and any odd byte) waits for more."""
        self._buffer += pcm
        usable = len(self._buffer) - len(self._buffer) % 2
        if usable < MIN_FRAME_BYTES:
            return []
        full, rest = divmod(usable, MAX_FRAME_BYTES)
        sizes = [MAX_FRAME_BYTES] * full
        if rest >= MIN_FRAME_BYTES:
            sizes.append(rest)
        frames, offset = [], 0
        for size in sizes:
            frames.append(bytes(self._buffer[offset : offset + size]))
            offset += size
        del self._buffer[:offset]
        return frames

    def flush_audio(self) -> list[bytes]:
        """The held-back tail (< 50 ms), padded with silence to 50 ms; [] if none."""
        tail = bytes(self._buffer)
        self._buffer.clear()
        if not tail:
            return []
        return [tail + bytes(MIN_FRAME_BYTES - len(tail))]

    def finalize_message(self) -> str | None:
        """``ForceEndpoint``: the turn in progress becomes final now, not after Terminate."""
        return FORCE_ENDPOINT

    def end_of_stream(self) -> str | None:
        return TERMINATE

    # -- parsing -------------------------------------------------------------

    def parse(self, raw: str | bytes) -> list[Event]:
        """Turn one server frame into events; never raises."""
        return parse_guarded("AssemblyAI", raw, self._parse)

    def _parse(self, msg: dict[str, Any]) -> list[Event]:
        kind = msg.get("type")
        if kind is None and "error" in msg:  # the SDK also reads error frames without a type
            kind = "Error"
        if kind == "Begin":
            self._last_final_turn, self._held = -1, None
            session_id = msg.get("id")
            return [Started(session_id=session_id if isinstance(session_id, str) else "")]
        if kind == "Turn":
            return self._turn(msg)
        if kind == "Termination":
            events: list[Event] = self._release_held()
            return [*events, Ended()]
        if kind == "Error":
            return [self._error(msg)]
        if kind == "SpeakerRevision":
            self._revise_speakers(msg.get("revisions"))
            return []
        if kind == "Warning":
            text = msg.get("warning")
            code = msg.get("warning_code")
            return [
                VendorWarning(
                    message=text if isinstance(text, str) else "AssemblyAI warning",
                    code=str(code) if isinstance(code, (int, str)) else "",
                )
            ]
        log.debug("AssemblyAI: ignoring message type %.40r", kind)
        return []

    def _turn(self, msg: dict[str, Any]) -> list[Event]:
        order = msg.get("turn_order")
        if not isinstance(order, int) or isinstance(order, bool):
            order = None
        if order is not None and order <= self._last_final_turn:
            log.debug("AssemblyAI: turn %d already final; ignoring a repeat", order)
            return []
        events: list[Event] = []
        if self._held is not None and order is not None and order > self._held[0]:
            log.debug("AssemblyAI: formatted turn %d never came; using the raw one", order)
            events += self._release_held()
        words = _words(msg.get("words"))
        speaker = _turn_speaker(msg, words)
        key = str(order) if order is not None else None
        start_ms = words[0].start_ms if words else 0
        end_ms = max(words[-1].end_ms, start_ms) if words else start_ms
        if msg.get("end_of_turn") is not True:
            text = " ".join(w.text for w in words) or _str(msg.get("transcript"))
            events.append(Partial(text, start_ms, end_ms, words, speaker, key))
            return events
        text = _str(msg.get("transcript")) or " ".join(w.text for w in words)
        final = Final(text, start_ms, end_ms, words, speaker, key)
        if self.format_turns and msg.get("turn_is_formatted") is not True and order is not None:
            self._held = (order, final)
            events.append(Partial(text, start_ms, end_ms, words, speaker, key))
            return events
        events.append(final)
        if order is not None:
            self._last_final_turn = order
            if self._held is not None and self._held[0] == order:
                self._held = None
        return events

    def _revise_speakers(self, revisions: object) -> None:
        """Apply ``SpeakerRevision`` to the turn still held back; finals already out keep
        their label (the transcript never rewrites a final)."""
        for item in revisions if isinstance(revisions, list) else []:
            if not isinstance(item, dict) or self._held is None:
                continue
            order, final = self._held
            if item.get("turn_order") != order:
                log.debug("AssemblyAI: speaker revision for a turn already final; kept")
                continue
            words = _words(item.get("words")) or final.words
            speaker = _turn_speaker(item, words)
            self._held = (order, replace(final, words=words, speaker=speaker))

    def _release_held(self) -> list[Event]:
        if self._held is None:
            return []
        order, final = self._held
        self._held = None
        self._last_final_turn = max(self._last_final_turn, order)
        return [final]

    def _error(self, msg: dict[str, Any]) -> VendorError:
        code = msg.get("error_code")
        text = _str(msg.get("error")) or "AssemblyAI reported an error"
        if is_number(code) and float(code).is_integer():
            verdict = self.classify_close(int(code), text)
            return VendorError(
                message=text, code=str(int(code)), fatal=verdict.kind is CloseKind.FATAL
            )
        return VendorError(message=text, code="", fatal=True)

    # -- closes --------------------------------------------------------------

    def classify_close(self, code: int | None, reason: str) -> CloseVerdict:
        """Map a close code (or HTTP status of a failed upgrade, or None) to a verdict."""
        reason = (reason or "").strip()
        lowered = reason.lower()
        busy = "concurrent" in lowered or "too many" in lowered
        if code == 3009 or (code in (1008, 4102) and busy):
            return CloseVerdict(
                CloseKind.RETRY,
                "AssemblyAI says too many sessions are open or starting; trying again shortly",
                retry_after_s=15.0,
            )
        if code == 1008:
            detail = reason.split(":", 1)[1].strip() if ":" in reason else reason
            if not detail or any(w in detail.lower() for w in ("authoriz", "key", "token")):
                return AUTH_FAILED
            return CloseVerdict(
                CloseKind.FATAL,
                f"AssemblyAI refused the account ({detail}) — check your AssemblyAI account",
            )
        if code == 3005:  # before Feb 2026 also carried 3006-3008 causes
            for needle, legacy in (
                ("input duration", 3007),
                ("transmission rate", 3007),
                ("invalid", 3006),
                ("expired", 3008),
            ):
                if needle in lowered:
                    return self.classify_close(legacy, reason)
        if code == 3007 and "rate" in lowered:
            return CloseVerdict(
                CloseKind.RETRY,
                "AssemblyAI says audio arrived faster than real time; reconnecting",
                retry_after_s=1.0,
            )
        if code is not None and code in CLOSE_CODES:
            verdict = CLOSE_CODES[code]
            if verdict.kind is CloseKind.FATAL and reason and code not in (4001,):
                return CloseVerdict(verdict.kind, f"{verdict.message} (AssemblyAI said: {reason})")
            return verdict
        return generic_verdict(VENDOR, code, reason)


AUTH_FAILED = CloseVerdict(
    CloseKind.FATAL, "AssemblyAI rejected the API key — check it in Preferences"
)
BUG = "— please report this bug"
CLOSE_CODES: dict[int, CloseVerdict] = {
    1000: CloseVerdict(CloseKind.NORMAL, "AssemblyAI finished the session."),
    3005: CloseVerdict(
        CloseKind.RETRY, "AssemblyAI cancelled the session after a server error; reconnecting"
    ),
    3006: CloseVerdict(
        CloseKind.FATAL, f"AssemblyAI did not understand a message from captioner {BUG}"
    ),
    3007: CloseVerdict(CloseKind.FATAL, f"AssemblyAI rejected the size of an audio frame {BUG}"),
    3008: CloseVerdict(
        CloseKind.RETRY, "The AssemblyAI session reached its time limit; starting a new one"
    ),
    # legacy v2 real-time codes, still in the SDK's table
    1013: CloseVerdict(
        CloseKind.RETRY, "AssemblyAI is temporarily busy; trying again shortly", retry_after_s=5.0
    ),
    4000: CloseVerdict(CloseKind.FATAL, f"AssemblyAI rejected the audio sample rate {BUG}"),
    4001: AUTH_FAILED,
    4002: CloseVerdict(
        CloseKind.FATAL,
        "Your AssemblyAI account has insufficient funds — add funds, then start again",
    ),
    4003: CloseVerdict(
        CloseKind.FATAL,
        "This AssemblyAI feature needs a paid account — upgrade it or turn the option off",
    ),
    4008: CloseVerdict(
        CloseKind.RETRY, "The AssemblyAI session reached its time limit; starting a new one"
    ),
    4029: CloseVerdict(
        CloseKind.RETRY,
        "AssemblyAI says audio arrived faster than real time; reconnecting",
        retry_after_s=1.0,
    ),
    4030: CloseVerdict(CloseKind.FATAL, "AssemblyAI ended the session"),
    4031: CloseVerdict(
        CloseKind.RETRY, "AssemblyAI closed the session after it was idle; reconnecting"
    ),
    4032: CloseVerdict(CloseKind.FATAL, f"AssemblyAI rejected an audio frame as too short {BUG}"),
    4033: CloseVerdict(CloseKind.FATAL, f"AssemblyAI rejected an audio frame as too long {BUG}"),
    4034: CloseVerdict(CloseKind.FATAL, f"AssemblyAI could not decode an audio frame {BUG}"),
    4100: CloseVerdict(CloseKind.FATAL, f"AssemblyAI did not understand a message {BUG}"),
    4101: CloseVerdict(CloseKind.FATAL, f"AssemblyAI did not understand a message {BUG}"),
    4102: CloseVerdict(
        CloseKind.RETRY,
        "AssemblyAI says too many sessions are open; trying again shortly",
        retry_after_s=15.0,
    ),
    4103: CloseVerdict(CloseKind.FATAL, "AssemblyAI ended the session"),
}


def _words(raw_words: object) -> tuple[Word, ...]:
    if not isinstance(raw_words, list):
        return ()
    words = []
    for w in raw_words:
        if not isinstance(w, dict) or not isinstance(w.get("text"), str):
            continue
        start, end = w.get("start"), w.get("end")
        if not (is_number(start) and is_number(end)) or max(abs(start), abs(end)) > 1e12:
            continue
        confidence = w.get("confidence")
        speaker = w.get("speaker")
        words.append(
            Word(
                text=w["text"],
                start_ms=round(start),
                end_ms=round(end),
                confidence=float(confidence) if is_number(confidence) else None,
                speaker=speaker if isinstance(speaker, str) and speaker else None,
            )
        )
    return tuple(words)


def _turn_speaker(msg: dict[str, Any], words: tuple[Word, ...]) -> str | None:
    label = msg.get("speaker_label")
    if isinstance(label, str) and label:
        return label
    speakers = Counter(w.speaker for w in words if w.speaker)
    return speakers.most_common(1)[0][0] if speakers else None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""
