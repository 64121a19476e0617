"""Fake AssemblyAI pre-recorded API (``/v2/upload``, ``/v2/transcript``).

Rules (AssemblyAI's docs and SDK, see :mod:`captioner.batch.assemblyai`): the
key alone in ``Authorization`` or 401 ``{"error": "Invalid API key"}``;
``/v2/upload`` takes a non-empty raw body (413 past the limit) and answers an
``upload_url``; ``/v2/transcript`` needs ``audio_url`` and the plural
``speech_models`` (missing: 400, as the service has no default model; the
singular ``speech_model`` and ``word_boost`` are refused like today's
service; unknown models are refused with the accepted list);
``language_code`` and ``language_detection`` together are refused. Status goes
``queued`` → ``processing`` → ``completed`` (``words`` in ms with ``speaker``
"A", "B"… when ``speaker_labels``; ``utterances``) or ``error``. ``/srt`` and
``/vtt`` need a completed transcript; ``DELETE`` of a queued or processing
transcript is 400, of an unknown one 404.
"""

from __future__ import annotations

import string
from typing import Any

from captioner.testing.fake_http import FakeHttpServer, FakeJob, Reply, Request, simple_captions
from captioner.testing.fakes import Utterance, new_id

MODELS = ("assemblyai-stt-3-7", "universal-3-5-pro", "universal-2", "slam-1")
BOOL_FIELDS = ("speaker_labels", "language_detection", "format_text", "punctuate",
               "filter_profanity", "multichannel", "disfluencies")


class FakeAssemblyAiBatch(FakeHttpServer):
    """Fake AssemblyAI pre-recorded API; ``uploads`` maps upload URLs to their bytes."""

    vendor = "AssemblyAI"
    upload_limit_bytes = 2_200 * 1024**2

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.uploads: dict[str, bytes] = {}

    def error_body(self, status: int, message: str = "") -> Any:
        defaults = {401: "Invalid API key", 404: "Transcript lookup error, transcript id not found",
                    413: "Payload too large", 429: "Too many requests"}
        return {"error": message or defaults.get(status, f"HTTP {status}")}

    def route(self, request: Request) -> Reply:
        if request.header("authorization") not in self.keys:
            return self.error(401, "Invalid API key")
        path, method = request.path, request.method
        if path == "/v2/upload" and method == "POST":
            if not request.body:
                return self.error(400, "Upload a non-empty file")
            if len(request.body) > self.max_upload_bytes:
                return self.error(413, "File exceeds the 2.2 GB upload limit")
            url = f"https://cdn.assemblyai.com/upload/{new_id()}"
            self.uploads[url] = request.body
            return self.reply(200, {"upload_url": url})
        if path == "/v2/transcript" and method == "POST":
            return self.create(request)
        parts = path.strip("/").split("/")
        if parts[:2] != ["v2", "transcript"] or len(parts) not in (3, 4):
            return self.error(404, "Not found")
        job = self.jobs.get(parts[2])
        if job is None or job.deleted:
            return self.error(404, "Transcript lookup error, transcript id not found")
        if len(parts) == 3 and method == "GET":
            return self.reply(200, self.transcript(job))
        if len(parts) == 3 and method == "DELETE":
            if job.state() in ("queued", "processing"):
                return self.error(400, "Transcript is still processing and can't be deleted")
            job.deleted = True
            return self.reply(200, {**self.transcript(job), "text": "Deleted by user."})
        if len(parts) == 4 and parts[3] in ("srt", "vtt") and method == "GET":
            if job.state() != "done":
                return self.error(400, "Transcript is not completed")
            return self.reply(200, simple_captions(self.utterances(job), parts[3]), "text/plain")
        return self.error(404, "Not found")

    def create(self, request: Request) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return self.error(400, "Request body must be JSON")
        if not isinstance(body, dict) or not isinstance(body.get("audio_url"), str):
            return self.error(400, "audio_url is required")
        if "speech_model" in body:
            return self.error(400, "speech_model is no longer supported; use speech_models")
        models = body.get("speech_models")
        if not isinstance(models, list) or not models:
            return self.error(400, "speech_models is required: a list of models in priority "
                                   f"order, e.g. {list(MODELS[1:3])}")
        unknown = [m for m in models if m not in MODELS]
        if unknown:
            return self.error(400, f"Invalid speech_models {unknown}; accepted: {list(MODELS)}")
        if "word_boost" in body:
            return self.error(400, "word_boost is not supported; use keyterms_prompt")
        if "language_code" in body and body.get("language_detection"):
            return self.error(400, "language_code can't be used with language_detection")
        for name in BOOL_FIELDS:
            if name in body and not isinstance(body[name], bool):
                return self.error(400, f"{name} must be a boolean")
        terms = body.get("keyterms_prompt", [])
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            return self.error(400, "keyterms_prompt must be a list of strings")
        audio = self.uploads.get(body["audio_url"], b"")
        job = self.new_job(audio, body)
        if body["audio_url"] not in self.uploads:
            job.failure = f"Download error, unable to download {body['audio_url']}"
        return self.reply(200, self.transcript(job))

    def transcript(self, job: FakeJob) -> dict[str, Any]:
        state = {"done": "completed", "failed": "error"}.get(job.state(), job.state())
        options = job.options
        body: dict[str, Any] = {
            "id": job.id, "status": state, "audio_url": options["audio_url"],
            "speech_models": options["speech_models"], "language_code":
                options.get("language_code", "en"),
            "speaker_labels": options.get("speaker_labels", False),
            "text": None, "words": None, "utterances": None, "audio_duration": None,
        }
        if state == "error":
            body["error"] = job.failure
        if state != "completed":
            return body
        diarize = options.get("speaker_labels", False)
        utterances = self.utterances(job)
        body.update({
            "text": " ".join(u.text for u in utterances),
            "words": [w for u in utterances for w in _words(u, diarize)],
            "utterances": [{"speaker": _speaker(u), "text": u.text, "start": u.start_ms,
                            "end": u.end_ms, "confidence": 0.95, "words": _words(u, True)}
                           for u in utterances] if diarize else None,
            "audio_duration": round(job.audio_ms / 1000),
            "confidence": 0.95, "speech_model_used": options["speech_models"][0],
        })
        return body


def _speaker(u: Utterance) -> str:
    return string.ascii_uppercase[(u.speaker or 0) % 26]


def _words(u: Utterance, diarize: bool) -> list[dict[str, Any]]:
    return [{"text": word, "start": start, "end": end, "confidence": 0.95,
             "speaker": _speaker(u) if diarize else None} for word, start, end in u.words()]
