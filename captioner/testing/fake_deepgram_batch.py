"""Fake Deepgram pre-recorded API (``POST /v1/listen`` with the file as the body).

Rules (Deepgram's pre-recorded reference and SDK, see :mod:`captioner.batch.deepgram`):
``Authorization: Token <key>`` or 401 ``{"err_code": "INVALID_AUTH"}``; the
body is the audio with an ``audio/*`` (or ``application/octet-stream``)
``Content-Type``, not empty (400 "corrupt or unsupported data"; 413 past the
limit); ``model`` must be known; ``keyterm`` needs a Nova-3 model. The
transcript comes in the same answer after ``processing_s`` (``None``: the
answer never comes — the client has to give up or be cancelled); a
``failure`` answers 400 with it. Words are in seconds with
``punctuated_word``, and ``speaker`` numbers when ``diarize=true``.
"""

from __future__ import annotations

import threading
from typing import Any

from captioner.testing.fake_http import FakeHttpServer, FakeJob, Reply, Request
from captioner.testing.fakes import bare, new_id

MODELS = ("nova-3", "nova-3-general", "nova-3-medical", "nova-2", "nova-2-meeting", "enhanced",
          "base", "whisper")


class FakeDeepgramBatch(FakeHttpServer):
    """Fake Deepgram pre-recorded API."""

    vendor = "Deepgram"
    base_path = "/v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stopping = threading.Event()
        self.started_processing = threading.Event()

    def stop(self) -> None:
        self._stopping.set()  # lets a request "processing" forever return
        super().stop()

    def error_body(self, status: int, message: str = "") -> Any:
        codes = {400: "Bad Request", 401: "INVALID_AUTH", 402: "ASR_PAYMENT_REQUIRED",
                 413: "PAYLOAD_TOO_LARGE", 429: "TOO_MANY_REQUESTS"}
        return {"err_code": codes.get(status, "INTERNAL_SERVER_ERROR"),
                "err_msg": message or f"HTTP {status}", "request_id": new_id()}

    def route(self, request: Request) -> Reply:
        auth = request.header("authorization") or ""
        scheme, _, key = auth.partition(" ")
        if scheme not in ("Token", "Bearer") or key not in self.keys:
            return self.error(401, "Invalid credentials.")
        if request.path != "/v1/listen" or request.method != "POST":
            return self.error(404, "Not found")
        ctype = (request.header("content-type") or "").split(";")[0]
        if not (ctype.startswith("audio/") or ctype == "application/octet-stream"):
            return self.error(400, f"Bad Request: unsupported Content-Type {ctype!r}")
        if not request.body:
            return self.error(400, "Bad Request: failed to process audio: corrupt or "
                                   "unsupported data")
        if len(request.body) > self.max_upload_bytes:
            return self.error(413, "Payload too large")
        model = request.param("model") or "base"
        if model not in MODELS:
            return self.error(400, f"Bad Request: no such model {model!r}")
        if "keyterm" in request.query and not model.startswith("nova-3"):
            return self.error(400, "Bad Request: keyterm is only available with Nova-3")
        self.started_processing.set()
        if self.processing_s is None:
            self._stopping.wait(60)
            return self.error(504, "timed out")
        if self.processing_s:
            self._stopping.wait(self.processing_s)
        if self.failure:
            return self.error(400, self.failure)
        job = self.new_job(request.body, {k: v[-1] for k, v in request.query.items()})
        return self.reply(200, self.transcript(request, job))

    def transcript(self, request: Request, job: FakeJob) -> dict[str, Any]:
        diarize = request.param("diarize") == "true"
        smart = request.param("smart_format") == "true" or request.param("punctuate") == "true"
        script = self.utterances(job)
        words = []
        for u in script:
            for word, start_ms, end_ms in u.words():
                w: dict[str, Any] = {"word": bare(word), "start": start_ms / 1000,
                                     "end": end_ms / 1000, "confidence": 0.99}
                if smart:
                    w["punctuated_word"] = word
                if diarize:
                    w |= {"speaker": u.speaker or 0, "speaker_confidence": 0.9}
                words.append(w)
        alternative = {"transcript": " ".join(u.text for u in script), "confidence": 0.99,
                       "words": words}
        results: dict[str, Any] = {"channels": [{"alternatives": [alternative]}]}
        if request.param("utterances") == "true":
            results["utterances"] = [
                {"start": u.start_ms / 1000, "end": u.end_ms / 1000, "confidence": 0.99,
                 "channel": 0, "transcript": u.text, "speaker": u.speaker or 0,
                 "id": new_id()} for u in script]
        return {"metadata": {"transaction_key": "deprecated", "request_id": new_id(),
                             "sha256": "0" * 64, "created": "2026-12-01T21:00:00.000Z",
                             "duration": job.audio_ms / 1000, "channels": 1,
                             "models": [new_id()],
                             "model_info": {"x": {"name": request.param("model")}}},
                "results": results}

