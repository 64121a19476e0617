"""Fake Speechmatics Real-Time v2 server enforcing the documented rules.

Rules (``shared/reference/realtime-protocols.md`` §3): ``Authorization:
Bearer <key>`` (or ``?jwt=<key>``), else HTTP 401; the first message must be
``StartRecognition`` with a valid ``audio_format`` and ``transcription_config``
(else an ``Error`` of the documented type — ``protocol_error``,
``invalid_audio_type``, ``invalid_config``, ``invalid_language``,
``invalid_model``, ``invalid_message`` — and a close: 4004 for
``invalid_model`` as documented, 1003 with the type as payload for the types
the close table does not list, which is the fake's choice). Every binary frame
is acked with ``AudioAdded`` (``seq_no`` from 1). ``EndOfStream.last_seq_no``
must equal the frames received: a mismatch is a violation, and a number above
it makes the fake wait for audio that never comes, as the real server does.
Replies: ``RecognitionStarted`` (+ ``Info`` messages), ``AddPartialTranscript``
(``enable_partials``), ``AddTranscript`` with punctuation results
(``attaches_to: previous``), an empty partial after each final,
``EndOfUtterance`` when ``conversation_config`` asks for it, and on
``EndOfStream`` the remaining finals and ``EndOfTranscript``; the client closes
(``close_after_end=True`` makes the fake close with 1000 itself). Pacing is
not enforced by default (the offline engine speaks this protocol faster than
real time); ``enforce_realtime=True`` records a violation.

Live translation (checked 2026-12-01, see :mod:`captioner.providers.speechmatics`):
``translation_config`` must be an object with a list ``target_languages``
(strings) and an optional boolean ``enable_partials`` (else ``invalid_config``);
more than five targets is refused with ``invalid_config`` (the documented limit;
the error type is the fake's choice); an empty list or a target the source
language can't be translated into gets a ``Warning``
(``empty_translation_target_list`` / ``unsupported_translation_pair``) and no
translations for it, as the service does. For each remaining target, each
final is followed, ``translation_delay_ms`` of audio later (or at end of
stream, before ``EndOfTranscript``), by an ``AddTranslation`` with one result
per sentence, timed by the sentence's first and last word; with partials on,
each partial transcript is followed by an ``AddPartialTranslation`` of the
words heard so far. Texts come from the ``phrasebook`` (``{language:
{sentence: translation}}``), else are the sentence tagged ``"(<language>)"``.
"""

from __future__ import annotations

import datetime
import http.server
import json
import threading
from typing import Any

from websockets.http11 import Request, Response

from captioner.providers.speechmatics import MAX_TRANSLATION_TARGETS, translation_targets
from captioner.testing.fakes import (
    PUNCTUATION,
    ConnectionLog,
    Fail,
    FakeServer,
    FakeSession,
    Notice,
    Utterance,
    bare,
    new_id,
)

ENCODINGS = {"pcm_s16le": 2, "pcm_f32le": 4, "mulaw": 1}
MODELS = ("standard", "enhanced", "melia-1")
DIARIZATION = ("none", "speaker", "channel", "channel_and_speaker")
TRANSCRIPTION_FIELDS = frozenset(
    {
        "language",
        "domain",
        "output_locale",
        "additional_vocab",
        "diarization",
        "max_delay",
        "max_delay_mode",
        "speaker_diarization_config",
        "audio_filtering_config",
        "transcript_filtering_config",
        "enable_partials",
        "enable_entities",
        "model",
        "operating_point",
        "punctuation_overrides",
        "conversation_config",
        "channel_diarization_labels",
    }
)
START_FIELDS = frozenset(
    {"message", "audio_format", "transcription_config", "translation_config", "audio_events_config"}
)
SET_CONFIG_FIELDS = frozenset(
    {
        "max_delay",
        "max_delay_mode",
        "audio_filtering_config",
        "enable_partials",
        "conversation_config",
        "language",
    }
)
LANGUAGES = frozenset(
    "auto ar ba be bg bn ca cmn cs cy da de el en eo es et eu fa fi fr ga gl he hi hr hu ia id "
    "it ja ko lt lv mn mr ms mt nl no pl pt ro ru sk sl sv sw ta th tr ug uk ur vi yue".split()
)
#: close codes for error types; types the reference's close table lacks use 1003
CLOSE_FOR_ERROR = {
    "protocol_error": 1003,
    "not_authorised": 4001,
    "not_allowed": 4003,
    "invalid_model": 4004,
    "quota_exceeded": 4005,
    "timelimit_exceeded": 4006,
    "job_error": 4013,
    "idle_timeout": 1008,
    "session_timeout": 1008,
    "unknown_error": 1011,
}
ERROR_FOR_CLOSE = {code: kind for kind, code in CLOSE_FOR_ERROR.items()}


TRANSLATION_FIELDS = frozenset({"target_languages", "enable_partials"})
SENTENCE_END = ".?!"


def translation_error(start: dict[str, Any]) -> tuple[str, str] | None:
    """``(error type, reason)`` for a ``translation_config`` the service refuses."""
    if "translation_config" not in start:
        return None
    tr = start["translation_config"]
    if not isinstance(tr, dict) or set(tr) - TRANSLATION_FIELDS:
        return "invalid_config", "translation_config takes target_languages and enable_partials"
    targets = tr.get("target_languages")
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        return "invalid_config", "translation_config.target_languages must list language codes"
    if len(targets) > MAX_TRANSLATION_TARGETS:
        return "invalid_config", (
            f"at most {MAX_TRANSLATION_TARGETS} translation target languages, got {len(targets)}"
        )
    if not isinstance(tr.get("enable_partials", False), bool):
        return "invalid_config", "translation_config.enable_partials must be a boolean"
    return None


def config_error(start: dict[str, Any]) -> tuple[str, str] | None:
    """``(error type, reason)`` for a bad ``StartRecognition``, or None."""
    extra = set(start) - START_FIELDS
    if extra:
        return "invalid_message", f"unknown fields {sorted(extra)}"
    fmt = start.get("audio_format")
    if not isinstance(fmt, dict) or fmt.get("type") not in ("raw", "file"):
        return "invalid_audio_type", "audio_format.type must be raw or file"
    if fmt["type"] == "raw":
        rate = fmt.get("sample_rate")
        if fmt.get("encoding") not in ENCODINGS:
            return "invalid_audio_type", f"unsupported encoding {fmt.get('encoding')!r}"
        if not isinstance(rate, int) or isinstance(rate, bool) or rate <= 0:
            return "invalid_audio_type", "audio_format.sample_rate must be a positive integer"
    tc = start.get("transcription_config")
    if not isinstance(tc, dict) or not isinstance(tc.get("language"), str):
        return "invalid_config", "transcription_config.language is required"
    extra = set(tc) - TRANSCRIPTION_FIELDS
    if extra:
        return "invalid_config", f"unknown transcription_config fields {sorted(extra)}"
    if tc["language"] not in LANGUAGES:
        return "invalid_language", f"language {tc['language']!r} is not supported"
    model = tc.get("model", tc.get("operating_point", "standard"))
    if model not in MODELS:
        return "invalid_model", f"model {model!r} is not supported"
    max_delay = tc.get("max_delay", 4)
    if not isinstance(max_delay, (int, float)) or not 0.7 <= max_delay <= 4:
        return "invalid_config", "max_delay must be between 0.7 and 4"
    if tc.get("max_delay_mode", "flexible") not in ("flexible", "fixed"):
        return "invalid_config", "max_delay_mode must be flexible or fixed"
    trigger = (tc.get("conversation_config") or {}).get("end_of_utterance_silence_trigger", 0)
    if not isinstance(trigger, (int, float)) or not 0 <= trigger <= 2:
        return "invalid_config", "end_of_utterance_silence_trigger must be between 0 and 2"
    translation = start.get("translation_config")
    if translation is not None and (
            not isinstance(translation, dict)
            or not isinstance(translation.get("target_languages"), list)
            or not all(t in LANGUAGES for t in translation["target_languages"])):
        return "invalid_config", "translation_config.target_languages must list languages"
    if tc.get("diarization", "none") not in DIARIZATION:
        return "invalid_config", f"diarization {tc.get('diarization')!r} is not supported"
    if not isinstance(tc.get("enable_partials", False), bool):
        return "invalid_config", "enable_partials must be a boolean"
    vocab = tc.get("additional_vocab", [])
    if not isinstance(vocab, list) or not all(
        isinstance(v, str) or (isinstance(v, dict) and isinstance(v.get("content"), str))
        for v in vocab
    ):
        return "invalid_config", "additional_vocab must list strings or {content, sounds_like}"
    return translation_error(start)


class SpeechmaticsSession(FakeSession):
    server: FakeSpeechmatics
    greets_on_open = False  # RecognitionStarted answers StartRecognition

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.started = False
        self.seq_no = 0
        self.wanted_seq_no: int | None = None  # EndOfStream waiting for audio
        self.partials = False
        self.diarization = "none"
        self.eou_trigger_s = 0.0
        self.forced = False  # rendering a ForceEndOfUtterance reply
        self.targets: list[str] = []  # translation languages being served
        self.translation_partials = False
        self.due_translations: list[tuple[int, dict[str, Any]]] = []  # (at audio ms, message)

    async def _error(self, kind: str, reason: str, code: int | None = None) -> None:
        self.violate(f"{kind}: {reason}")
        await self.send({"message": "Error", "type": kind, "reason": reason})
        await self.close(code or CLOSE_FOR_ERROR.get(kind, 1003), kind)

    async def on_busy(self) -> None:
        quota = self.server.max_concurrent
        await self.send({"message": "Error", "type": "quota_exceeded",
                         "reason": f"Concurrent session quota of {quota} exceeded"})
        await self.close(4005, "quota_exceeded")

    async def on_session_cap(self) -> None:
        await self.send({"message": "Error", "type": "session_timeout",
                         "reason": "Session has reached its maximum duration"})
        await self.close(1008, "policy_violation")

    async def accept_audio(self, data: bytes) -> bool:
        if not self.started:
            await self._error("protocol_error", "AddAudio before StartRecognition")
            return False
        if self.eos:
            self.violate("audio after EndOfStream")
            await self.send(
                {"message": "Warning", "type": "add_audio_after_eos", "reason": "Audio after EOS"}
            )
            return True
        return True

    async def after_audio(self, data: bytes) -> None:
        if self.eos:
            return
        self.seq_no += 1
        await self.send({"message": "AudioAdded", "seq_no": self.seq_no})
        if self.wanted_seq_no is not None and self.seq_no >= self.wanted_seq_no:
            await self._end_of_transcript()

    async def on_text(self, text: str) -> bool:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict) or not isinstance(msg.get("message"), str):
            await self._error("invalid_message", f"not a JSON message object: {text[:40]!r}")
            return False
        kind = msg["message"]
        if not self.started and kind != "StartRecognition":
            await self._error("protocol_error", f"{kind} before StartRecognition")
            return False
        handler = {
            "StartRecognition": self._start,
            "EndOfStream": self._end_of_stream,
            "SetRecognitionConfig": self._set_config,
            "ForceEndOfUtterance": self._force,
            "GetSpeakers": self._ignore,
        }.get(kind)
        if handler is None:
            await self._error("invalid_message", f"unknown message {kind[:40]!r}")
            return False
        return await handler(msg)

    async def _start(self, msg: dict[str, Any]) -> bool:
        if self.started:
            await self._error("protocol_error", "StartRecognition sent twice")
            return False
        problem = config_error(msg)
        if problem:
            await self._error(*problem)
            return False
        self.log.config = msg
        fmt, tc = msg["audio_format"], msg["transcription_config"]
        if fmt["type"] == "raw":
            self.log.bytes_per_ms = fmt["sample_rate"] * ENCODINGS[fmt["encoding"]] / 1000
        self.partials = tc.get("enable_partials", False)
        self.diarization = tc.get("diarization", "none")
        conversation = tc.get("conversation_config") or {}
        self.eou_trigger_s = float(conversation.get("end_of_utterance_silence_trigger", 0) or 0)
        self.started = True
        warnings = self._choose_targets(msg)
        await self.send(
            {
                "message": "RecognitionStarted",
                "orchestrator_version": "2025.11.07+cd4ff775c0+14.7.0",
                "id": new_id(),
                "language_pack_info": {
                    "adapted": False,
                    "itn": True,
                    "language_description": "English",
                    "word_delimiter": " ",
                    "writing_direction": "left-to-right",
                },
            }
        )
        if self.server.send_info:
            await self.send_all(_info_messages(self.server.active, self.server.max_concurrent))
        await self.send_all(warnings)
        return not await self.run_actions(0)

    def _choose_targets(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        """Keep the targets the source language can be translated into; warn about the rest."""
        tr = msg.get("translation_config")
        if tr is None:
            return []
        self.translation_partials = tr.get("enable_partials", False)
        if not tr["target_languages"]:
            return [{"message": "Warning", "type": "empty_translation_target_list",
                     "reason": "translation_config.target_languages is empty"}]
        source = msg["transcription_config"]["language"]
        offered = translation_targets(source)
        warnings = []
        for target in dict.fromkeys(tr["target_languages"]):
            if target in offered:
                self.targets.append(target)
            else:
                self.log.notes.append(f"unsupported translation pair {source}->{target}")
                warnings.append({"message": "Warning", "type": "unsupported_translation_pair",
                                 "reason": f"Translation from {source} to {target} "
                                 "is not supported"})
        return warnings

    async def _end_of_stream(self, msg: dict[str, Any]) -> bool:
        self.log.eos_received = True
        self.eos = True
        last = msg.get("last_seq_no")
        if not isinstance(last, int) or isinstance(last, bool):
            await self._error("invalid_message", "EndOfStream needs an integer last_seq_no")
            return False
        if last != self.seq_no:
            self.violate(f"EndOfStream last_seq_no={last} but {self.seq_no} AddAudio received")
        if not self.server.answer_eos:
            return True
        if last > self.seq_no:
            self.eos = False  # keep acking: the server waits for the missing audio
            self.wanted_seq_no = last
            return True
        await self._end_of_transcript()
        return not self.ended

    async def _end_of_transcript(self) -> None:
        self.eos = True
        await self.finalize_all()
        await self._send_due_translations(flush=True)
        await self.send({"message": "EndOfTranscript"})
        if self.server.close_after_end:
            await self.close(1000, "")

    async def _set_config(self, msg: dict[str, Any]) -> bool:
        tc = msg.get("transcription_config")
        if not isinstance(tc, dict) or set(tc) - SET_CONFIG_FIELDS:
            await self._error("invalid_message", "SetRecognitionConfig with fields it can't change")
            return False
        start_language = (self.log.config or {}).get("transcription_config", {}).get("language")
        if "language" in tc and tc["language"] != start_language:
            await self._error("invalid_message", "SetRecognitionConfig can't change the language")
            return False
        if isinstance(tc.get("enable_partials"), bool):
            self.partials = tc["enable_partials"]
        self.log.notes.append(f"recognition config updated: {sorted(tc)}")
        return True

    async def _force(self, msg: dict[str, Any]) -> bool:
        self.forced = True
        await self.force_endpoint()
        self.forced = False
        return True

    async def _ignore(self, msg: dict[str, Any]) -> bool:
        self.log.notes.append(f"{msg['message']} not simulated")
        return True

    async def advance(self) -> None:
        await super().advance()
        await self._send_due_translations()

    async def _send_due_translations(self, *, flush: bool = False) -> None:
        pos = self.log.audio_ms
        due = [m for at_ms, m in self.due_translations if flush or at_ms <= pos]
        self.due_translations = [(a, m) for a, m in self.due_translations
                                 if not (flush or a <= pos)]
        await self.send_all(due)

    # -- rendering -----------------------------------------------------------

    def _translation(self, kind: str, language: str, utt: Utterance, words: list) -> dict:
        """One translation message: a result per sentence of ``words``."""
        sentences: list[list[tuple[str, int, int]]] = [[]]
        for word in words:
            sentences[-1].append(word)
            if word[0][-1:] in SENTENCE_END:
                sentences.append([])
        speaker = {}
        if self.diarization in ("speaker", "channel_and_speaker") and utt.speaker is not None:
            speaker = {"speaker": f"S{utt.speaker + 1}"}
        book = self.server.phrasebook.get(language, {})
        results = []
        for sentence in (s for s in sentences if s):
            source = " ".join(w for w, _, _ in sentence)
            content = book.get(source, f"{source} ({language})")
            results.append({"content": content, "start_time": sentence[0][1] / 1000,
                            "end_time": sentence[-1][2] / 1000, **speaker})
        return {"message": kind, "format": "2.1", "language": language, "results": results}

    def _results(self, utt: Utterance, words: list, formatted: bool) -> list[dict[str, Any]]:
        results = []
        speaker = {}
        if self.diarization in ("speaker", "channel_and_speaker") and utt.speaker is not None:
            speaker = {"speaker": f"S{utt.speaker + 1}"}
        for word, start_ms, end_ms in words:
            core = (word.rstrip(PUNCTUATION) or word) if formatted else bare(word)
            results.append(
                {
                    "type": "word",
                    "start_time": start_ms / 1000,
                    "end_time": end_ms / 1000,
                    "alternatives": [
                        {"content": core, "confidence": 0.95, "language": "en", **speaker}
                    ],
                }
            )
            if not formatted:
                continue
            for mark in word[len(core) :]:
                results.append(
                    {
                        "type": "punctuation",
                        "start_time": end_ms / 1000,
                        "end_time": end_ms / 1000,
                        "attaches_to": "previous",
                        "is_eos": mark in ".?!",
                        "alternatives": [
                            {"content": mark, "confidence": 1.0, "language": "en", **speaker}
                        ],
                    }
                )
        return results

    def _transcript(self, kind: str, utt: Utterance, words: list, formatted: bool) -> dict:
        start_ms = words[0][1] if words else utt.end_ms  # an empty remainder sits at the end
        end_ms = words[-1][2] if words else start_ms
        text = (
            " ".join(w for w, _, _ in words)
            if formatted
            else " ".join(bare(w) for w, _, _ in words)
        )
        msg: dict[str, Any] = {
            "message": kind,
            "format": "2.1",
            "metadata": {
                "start_time": start_ms / 1000,
                "end_time": end_ms / 1000,
                "transcript": text,
            },
            "results": self._results(utt, words, formatted),
        }
        if self.forced and kind == "AddTranscript":
            msg["forced"] = True
        return msg

    def partial_messages(self, index: int, utt: Utterance, n_words: int, pos_ms: int) -> list:
        if not self.partials:
            return []
        words = utt.words()[:n_words]
        messages = [self._transcript("AddPartialTranscript", utt, words, False)]
        if self.translation_partials:
            messages += [self._translation("AddPartialTranslation", lang, utt, words)
                         for lang in self.targets]
        return messages

    def final_messages(self, index: int, utt: Utterance, n_words: int | None = None) -> list:
        words = utt.words()[:n_words] if n_words is not None else utt.words()
        messages = [self._transcript("AddTranscript", utt, words, True)]
        if words:
            at_ms = words[-1][2] + self.server.translation_delay_ms
            self.due_translations += [
                (at_ms, self._translation("AddTranslation", lang, utt, words))
                for lang in self.targets
            ]
        if self.partials:
            messages.append(self._transcript("AddPartialTranscript", utt, [], False))
        if self.eou_trigger_s > 0 or self.forced:
            end_s = (words[-1][2] if words else utt.end_ms) / 1000
            eou: dict[str, Any] = {
                "message": "EndOfUtterance",
                "format": "2.1",
                "metadata": {"start_time": end_s, "end_time": end_s},
            }
            if self.forced:
                eou["forced"] = True
            messages.append(eou)
        return messages

    def notice_messages(self, action: Notice) -> list:
        if action.level == "info":
            return [
                {
                    "message": "Info",
                    "type": action.code or "recognition_quality",
                    "reason": action.message,
                }
            ]
        return [
            {
                "message": "Warning",
                "type": action.code or "session_timeout",
                "reason": action.message,
            }
        ]

    def error_messages(self, action: Fail) -> list:
        kind = action.error_type or ERROR_FOR_CLOSE.get(action.code, "unknown_error")
        return [{"message": "Error", "type": kind, "reason": action.message}]

    def error_close_reason(self, action: Fail) -> str:
        return action.error_type or ERROR_FOR_CLOSE.get(action.code, "unknown_error")


def _info_messages(usage: int, quota: int | None) -> list[dict[str, Any]]:
    return [
        {
            "message": "Info",
            "type": "recognition_quality",
            "quality": "broadcast",
            "reason": "Running recognition using a broadcast model quality.",
        },
        {
            "message": "Info",
            "type": "concurrent_session_usage",
            "usage": usage,
            "quota": quota or 0,
            "last_updated": datetime.datetime.now(datetime.UTC).isoformat(),
            "reason": f"{usage} concurrent sessions active out of quota {quota or 0}",
        },
    ]


class FakeSpeechmatics(FakeServer):
    """Fake Speechmatics RT.

    Args:
        send_info: send the two ``Info`` messages after ``RecognitionStarted``.
        close_after_end: close with 1000 after ``EndOfTranscript`` (default:
            wait for the client to close, as the official SDK does).
        phrasebook: ``{language: {source sentence: translation}}``.
        translation_delay_ms: audio that must arrive after a final before its
            translations are sent.
    """

    vendor = "Speechmatics"
    path = "/v2"
    session_class = SpeechmaticsSession
    realtime_only = False
    session_cap_s = 48 * 3600.0  # then an in-band Error and close 1008
    concurrency_limit = 50  # Pro; Free allows 2 (max_concurrent=2)

    def __init__(
        self,
        *args: Any,
        send_info: bool = True,
        close_after_end: bool = False,
        phrasebook: dict[str, dict[str, str]] | None = None,
        translation_delay_ms: int = 1000,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.send_info = send_info
        self.close_after_end = close_after_end
        self.phrasebook = phrasebook or {}
        self.translation_delay_ms = translation_delay_ms

    def check_request(self, conn_log: ConnectionLog, request: Request) -> Response | None:
        if conn_log.path != "/v2" and not conn_log.path.startswith("/v2/"):
            return self.reply(404, "Not Found")
        scheme, _, key = conn_log.headers.get("authorization", "").partition(" ")
        jwt = conn_log.param("jwt")
        if not ((scheme == "Bearer" and key in self.keys) or jwt in self.keys):
            return self.reply(401, "Unauthorized")
        return None


class FakeKeyService:
    """Speechmatics' temporary-key endpoint on 127.0.0.1, in a thread (a context manager).

    ``POST /v1/api_keys?type=rt`` with ``Authorization: Bearer <key>`` and
    ``{"ttl": 60..86400}`` answers 201 ``{"apikey_id": null, "key_value": ...}``
    (docs get-started/authentication, read 2026-12-01); an unknown key gets 401,
    a bad body 400. (The WebSocket fake cannot serve it: websockets' server
    parses GET requests only.)

    Attributes:
        url: the endpoint to pass as the ``key_url`` option.
        requests: ``(path, Authorization, body)`` of each request.
    """

    def __init__(self, keys: tuple[str, ...] = ("long-lived",), issued: str = "temp-key") -> None:
        self.keys = keys
        self.issued = issued
        self.requests: list[tuple[str, str, Any]] = []
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> FakeKeyService:
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = None
                auth = self.headers.get("Authorization", "")
                service.requests.append((self.path, auth, body))
                scheme, _, key = auth.partition(" ")
                if scheme != "Bearer" or key not in service.keys:
                    self._reply(401, {"code": 401, "error": "Permission Denied"})
                elif not isinstance(body, dict) or not isinstance(body.get("ttl"), int) \
                        or not 60 <= body["ttl"] <= 86400:
                    self._reply(400, {"code": 400, "error": "ttl must be 60-86400"})
                else:
                    self._reply(201, {"apikey_id": None, "key_value": service.issued})

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1/api_keys?type=rt"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
