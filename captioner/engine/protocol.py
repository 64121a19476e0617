"""Speechmatics RT v2 server-side message shapes for the offline engine.

Pure: builds the JSON the engine sends (RecognitionStarted, AudioAdded,
AddPartialTranscript / AddTranscript with ``results[]``, Error, Warning) and
validates ``StartRecognition``. Shapes follow the vendor spec
(``../shared/reference/realtime-protocols.md`` §3) so any Speechmatics client works.

From ``transcription_config`` the engine honours ``language`` (a code, or
``auto`` with the multilingual model), ``max_delay`` (0.7-4 s, default 2: the
longest time before a word is final) and ``operating_point`` (``standard``:
live, low latency; ``enhanced``: accuracy over latency). ``model``
(``tiny.en`` or ``base``) is this engine's own addition; other engines ignore it.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from captioner.engine.base import Hypothesis

SUPPORTED_LANGUAGES = ("en",)  # without the multilingual model
OPERATING_POINTS = ("standard", "enhanced")
MULTILINGUAL_HINT = "pip install 'captioner[multilingual]'"
ENCODINGS = ("pcm_s16le", "pcm_f32le")
_LEADING = re.compile(r"^([\"'(\[¿¡]+)")
_TRAILING = re.compile(r"([.,!?;:\"')\]…]+)$")
_EOS_MARKS = set(".!?…")

# close code for each Error type, per the vendor's table
CLOSE_CODES = {
    "invalid_message": 1003, "protocol_error": 1003, "invalid_config": 1003,
    "invalid_audio_type": 1003, "invalid_language": 4004, "invalid_model": 4004,
    "not_authorised": 4001, "quota_exceeded": 4005, "job_error": 4013,
    "idle_timeout": 1008, "unknown_error": 1011,
}


class ProtocolError(Exception):
    """A client message the engine refuses; ``type`` is the Speechmatics error type."""

    def __init__(self, type_: str, reason: str) -> None:
        super().__init__(reason)
        self.type = type_
        self.reason = reason


@dataclass(frozen=True)
class AudioFormat:
    encoding: str
    sample_rate_hz: int


def load_message(raw: str) -> dict[str, Any] | None:
    """A text frame as a JSON object; None if it is not one (bad, or nested too deep)."""
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return msg if isinstance(msg, dict) else None


@dataclass(frozen=True)
class RecognitionSettings:
    """What a session asked for (from ``transcription_config``).

    Attributes:
        language: a language code, or None to detect it per utterance.
        max_delay_ms: longest time from a word's end to its final.
        operating_point: ``standard`` or ``enhanced``.
        model: an engine model name, or None for the engine's choice.
    """

    language: str | None = "en"
    max_delay_ms: int = 2000
    operating_point: str = "standard"
    model: str | None = None


def recognition_settings(tc: dict[str, Any]) -> RecognitionSettings:
    """Settings from a transcription_config that :func:`parse_start` accepted."""
    language = tc.get("language", "en")
    return RecognitionSettings(
        language=None if language == "auto" else language,
        max_delay_ms=round(float(tc.get("max_delay", 2.0)) * 1000),
        operating_point=tc.get("operating_point") or "standard",
        model=tc.get("model") or None,
    )


def max_delay_ms(tc: object) -> int | None:
    """``max_delay`` of a (SetRecognitionConfig) transcription_config in ms, if valid."""
    delay = tc.get("max_delay") if isinstance(tc, dict) else None
    if isinstance(delay, (int, float)) and not isinstance(delay, bool) and 0.7 <= delay <= 4:
        return round(delay * 1000)
    return None


def parse_start(raw: str | bytes, languages: tuple[str, ...] = SUPPORTED_LANGUAGES,
                models: tuple[str, ...] = ("tiny.en",)) -> tuple[AudioFormat, dict[str, Any]]:
    """Validate a StartRecognition message.

    Args:
        languages: the language codes the installed models know (``auto`` is
            accepted when there is more than one).
        models: the engine models installed.
    Returns:
        the audio format and the transcription_config.
    Raises:
        ProtocolError: with the Speechmatics error type for what is wrong.
    """
    if isinstance(raw, bytes):
        raise ProtocolError("protocol_error", "StartRecognition must come before any audio")
    msg = load_message(raw)
    if msg is None:
        raise ProtocolError("invalid_message", "message is not a JSON object")
    if msg.get("message") != "StartRecognition":
        raise ProtocolError("protocol_error", "the first message must be StartRecognition")
    fmt = msg.get("audio_format")
    if not isinstance(fmt, dict):
        raise ProtocolError("invalid_audio_type", "audio_format is required")
    if fmt.get("type") != "raw":
        raise ProtocolError("invalid_audio_type", "only raw audio is supported by this engine")
    encoding, rate = fmt.get("encoding"), fmt.get("sample_rate")
    if encoding not in ENCODINGS:
        raise ProtocolError("invalid_audio_type", f"unsupported encoding {encoding!r}; "
                            f"use one of {', '.join(ENCODINGS)}")
    if not isinstance(rate, int) or isinstance(rate, bool) or not 8000 <= rate <= 192_000:
        raise ProtocolError("invalid_audio_type", "sample_rate must be an integer 8000-192000")
    tc = msg.get("transcription_config")
    if not isinstance(tc, dict) or not isinstance(tc.get("language"), str):
        raise ProtocolError("invalid_config", "transcription_config.language is required")
    language = tc["language"]
    if language not in languages and not (language == "auto" and len(languages) > 1):
        if len(languages) > 1:
            raise ProtocolError("invalid_language", f"language {language[:20]!r} is not one the "
                                "offline models know")
        raise ProtocolError("invalid_language", f"language {language[:20]!r} needs the "
                            f"multilingual model; install it with: {MULTILINGUAL_HINT}")
    point = tc.get("operating_point", "standard")
    if point not in OPERATING_POINTS:
        raise ProtocolError("invalid_config", "operating_point must be standard or enhanced")
    model = tc.get("model")
    if model is not None and model not in models:
        raise ProtocolError("invalid_model", f"offline model {str(model)[:20]!r} is not "
                            f"installed (installed: {', '.join(models)}); for base: "
                            f"{MULTILINGUAL_HINT}")
    delay = tc.get("max_delay", 2.0)
    if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0.7 <= delay <= 4:
        raise ProtocolError("invalid_config", "max_delay must be between 0.7 and 4 seconds")
    return AudioFormat(encoding, rate), tc


def recognition_started(version: str) -> str:
    return json.dumps({
        "message": "RecognitionStarted",
        "orchestrator_version": f"captioner-{version}",
        "id": str(uuid.uuid4()),
        "language_pack_info": {
            "adapted": False, "itn": False, "language_description": "English",
            "word_delimiter": " ", "writing_direction": "left-to-right",
        },
    })


def audio_added(seq_no: int) -> str:
    return json.dumps({"message": "AudioAdded", "seq_no": seq_no})


def error(type_: str, reason: str, seq_no: int | None = None) -> str:
    body: dict[str, Any] = {"message": "Error", "type": type_, "reason": reason}
    if seq_no is not None:
        body["seq_no"] = seq_no
    return json.dumps(body)


def warning(type_: str, reason: str) -> str:
    return json.dumps({"message": "Warning", "type": type_, "reason": reason})


def _punct(mark: str, t_s: float, attaches: str, language: str) -> dict[str, Any]:
    return {
        "type": "punctuation", "start_time": t_s, "end_time": t_s, "attaches_to": attaches,
        "is_eos": mark[-1] in _EOS_MARKS,
        "alternatives": [{"content": mark, "confidence": 1.0, "language": language}],
    }


def results(hyp: Hypothesis) -> list[dict[str, Any]]:
    """``results[]`` for a hypothesis: words, with punctuation split out."""
    words = [(w.text, w.start_ms, w.end_ms, w.confidence) for w in hyp.words]
    if not words:  # no word times: spread the tokens over the span
        tokens = hyp.text.split()
        span = max(hyp.end_ms - hyp.start_ms, 1)
        step = span / max(len(tokens), 1)
        words = [(tok, round(hyp.start_ms + i * step), round(hyp.start_ms + (i + 1) * step), None)
                 for i, tok in enumerate(tokens)]
    out: list[dict[str, Any]] = []
    for text, start_ms, end_ms, confidence in words:
        token = text.strip()
        start_s, end_s = round(start_ms / 1000, 3), round(end_ms / 1000, 3)
        lead = _LEADING.match(token)
        if lead and lead.group(1) != token:
            out.append(_punct(lead.group(1), start_s, "next", hyp.language))
            token = token[len(lead.group(1)):]
        trail = _TRAILING.search(token)
        tail = trail.group(1) if trail and trail.group(1) != token else ""
        core = token[: len(token) - len(tail)] if tail else token
        if core:
            out.append({
                "type": "word", "start_time": start_s, "end_time": end_s,
                "alternatives": [{"content": core, "confidence": confidence if confidence
                                  is not None else 1.0, "language": hyp.language}],
            })
        if tail:
            out.append(_punct(tail, end_s, "previous", hyp.language))
    return out


def transcript(hyp: Hypothesis) -> str:
    """AddTranscript (final) or AddPartialTranscript for a hypothesis."""
    return json.dumps({
        "message": "AddTranscript" if hyp.is_final else "AddPartialTranscript",
        "format": "2.1",
        "metadata": {"transcript": hyp.text.strip(), "start_time": round(hyp.start_ms / 1000, 3),
                     "end_time": round(hyp.end_ms / 1000, 3)},
        "results": results(hyp),
    })


def end_of_transcript() -> str:
    return json.dumps({"message": "EndOfTranscript"})
