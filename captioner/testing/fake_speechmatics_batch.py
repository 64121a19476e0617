"""Fake Speechmatics batch API (``/v2/jobs``).

Rules (speechmatics-python ``batch_client.py`` and the batch API reference,
see :mod:`captioner.batch.speechmatics`): ``Authorization: Bearer <key>`` or
401 ``{"code": 401, "error": "Permission Denied"}``; ``POST /v2/jobs`` must be
multipart with a ``config`` JSON field (``type: transcription`` and a
``transcription_config`` with ``language``; ``operating_point`` standard or
enhanced; ``diarization`` none, speaker or channel — else 400 "Job config
invalid" with a detail) and the file in ``data_file`` (413 past the limit); 201
``{"id"}``. A job is ``running`` then ``done`` or ``rejected`` (``errors``);
the transcript (``format`` json-v2, srt or txt) exists only once done, and with
a ``translation_config`` (1 to 5 ``target_languages``, else 400) its json-v2
has ``translations``: language → sentences with ``start_time``, ``end_time``,
``content`` (here the sentence prefixed ``[de]``) and ``speaker``; ``DELETE``
of a running job needs ``force=true``; deleted jobs answer 404. ``POST
/v1/api_keys?type=batch`` (the management API) hands out temporary keys that
the jobs API then accepts.
"""

from __future__ import annotations

import json
from typing import Any

from captioner.testing.fake_http import FakeHttpServer, FakeJob, Reply, Request, simple_captions
from captioner.testing.fakes import PUNCTUATION, new_id

BASE = "/v2"
FORMATS = {"json-v2": "application/json", "srt": "application/x-subrip", "txt": "text/plain"}


class FakeSpeechmaticsBatch(FakeHttpServer):
    """Fake Speechmatics batch API."""

    vendor = "Speechmatics"
    base_path = BASE
    upload_limit_bytes = 1024**3

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: short-lived keys handed out by ``/v1/api_keys``
        self.temporary_keys: set[str] = set()

    def error_body(self, status: int, message: str = "") -> Any:
        defaults = {400: "Bad Request", 401: "Permission Denied", 403: "Forbidden",
                    404: "Job not found", 413: "Request Entity Too Large",
                    429: "Too Many Requests"}
        body: dict[str, Any] = {"code": status, "error": defaults.get(status, "Error")}
        if message:
            body["detail"] = message
        return body

    def route(self, request: Request) -> Reply:
        auth = request.header("authorization") or ""
        if request.path == "/v1/api_keys" and request.method == "POST":
            return self.temporary_key(request, auth)
        if not auth.startswith("Bearer ") or auth[7:] not in self.keys | self.temporary_keys:
            return self.error(401, "")
        parts = request.path.removeprefix(BASE).strip("/").split("/")
        if parts == ["jobs"] and request.method == "POST":
            return self.submit(request)
        if parts[0] != "jobs" or len(parts) not in (2, 3):
            return self.error(404, "no such endpoint")
        job = self.jobs.get(parts[1])
        if job is None or job.deleted:
            return self.error(404, "")
        if len(parts) == 2 and request.method == "GET":
            return self.reply(200, {"job": self.job_json(job)})
        if len(parts) == 2 and request.method == "DELETE":
            if job.state() in ("queued", "processing") and request.param("force") != "true":
                return self.error(400, "job is running; pass force=true to stop it")
            job.deleted = True
            return self.reply(200, {"job": {**self.job_json(job), "status": "deleted"}})
        if len(parts) == 3 and parts[2] == "transcript" and request.method == "GET":
            fmt = request.param("format") or "json-v2"
            if fmt not in FORMATS:
                return self.error(400, f"format must be one of {', '.join(FORMATS)}")
            if job.state() != "done":
                return self.error(404, "Job not found or not done")
            if fmt == "srt":
                return self.reply(200, simple_captions(self.utterances(job), "srt"), FORMATS[fmt])
            if fmt == "txt":
                return self.reply(200, "\n".join(u.text for u in self.utterances(job)),
                                  FORMATS[fmt])
            return self.reply(200, self.transcript(job))
        return self.error(404, "no such endpoint")

    def temporary_key(self, request: Request, auth: str) -> Reply:
        """The management API's ``POST /v1/api_keys?type=batch`` (``{"ttl": s}``)."""
        if not auth.startswith("Bearer ") or auth[7:] not in self.keys:
            return self.error(401, "")
        try:
            ttl = request.json().get("ttl")
        except (ValueError, AttributeError):
            ttl = None
        if request.param("type") != "batch" or not isinstance(ttl, int) or ttl < 60:
            return self.error(400, "type=batch and a ttl of at least 60 s are required")
        key = "temp-" + new_id()
        self.temporary_keys.add(key)
        return self.reply(201, {"apikey_id": new_id(), "key_value": key})

    def submit(self, request: Request) -> Reply:
        if "config" not in request.form:
            return self.error(400, "config is required")
        try:
            config = json.loads(request.form["config"][2])
        except ValueError:
            return self.error(400, "config is not valid JSON")
        problem = _config_problem(config)
        if problem:
            return self.reply(400, {"code": 400, "error": "Job config invalid", "detail": problem})
        data = request.form.get("data_file")
        if data is None or data[0] is None:
            return self.error(400, "data_file is required (or fetch_data in the config)")
        if len(data[2]) > self.max_upload_bytes:
            return self.error(413, "")
        job = self.new_job(data[2], config, name=data[0])
        return self.reply(201, {"id": job.id})

    def job_json(self, job: FakeJob) -> dict[str, Any]:
        status = {"done": "done", "failed": "rejected"}.get(job.state(), "running")
        body: dict[str, Any] = {"id": job.id, "created_at": "2026-12-01T21:00:00.000Z",
                                "data_name": job.extra["name"], "duration": job.audio_ms // 1000,
                                "status": status, "config": job.options}
        if status == "rejected":
            body["errors"] = [{"timestamp": "2026-12-01T21:00:01.000Z", "message": job.failure}]
        return body

    def transcript(self, job: FakeJob) -> dict[str, Any]:
        tc = job.options["transcription_config"]
        diarize = tc.get("diarization") == "speaker"
        results: list[dict[str, Any]] = []
        for u in self.utterances(job):
            speaker = f"S{(u.speaker or 0) + 1}" if diarize else None
            for word, start_ms, end_ms in u.words():
                core = word.rstrip(PUNCTUATION) or word
                alt: dict[str, Any] = {"content": core, "confidence": 0.97,
                                       "language": tc["language"]}
                if speaker:
                    alt["speaker"] = speaker
                results.append({"type": "word", "start_time": start_ms / 1000,
                                "end_time": end_ms / 1000, "alternatives": [alt]})
                for mark in word[len(core):]:
                    results.append({"type": "punctuation", "attaches_to": "previous",
                                    "is_eos": mark in ".?!", "start_time": end_ms / 1000,
                                    "end_time": end_ms / 1000,
                                    "alternatives": [{"content": mark, "confidence": 1.0,
                                                      **({"speaker": speaker} if speaker else {})
                                                      }]})
        body: dict[str, Any] = {
            "format": "2.9", "job": self.job_json(job),
            "metadata": {"created_at": "2026-12-01T21:00:02.000Z", "type": "transcription",
                         "transcription_config": tc},
            "results": results}
        targets = (job.options.get("translation_config") or {}).get("target_languages") or []
        if targets:
            body["translations"] = {language: [
                {"start_time": u.start_ms / 1000, "end_time": u.end_ms / 1000,
                 "content": f"[{language}] {u.text}",
                 **({"speaker": f"S{(u.speaker or 0) + 1}"} if diarize else {})}
                for u in self.utterances(job)] for language in targets}
        return body


def _config_problem(config: Any) -> str:
    if not isinstance(config, dict) or config.get("type") != "transcription":
        return "type must be 'transcription'"
    tc = config.get("transcription_config")
    if not isinstance(tc, dict) or not isinstance(tc.get("language"), str):
        return "transcription_config.language is required"
    if tc.get("operating_point", "standard") not in ("standard", "enhanced"):
        return "operating_point must be standard or enhanced"
    if tc.get("diarization", "none") not in ("none", "speaker", "channel"):
        return "diarization must be none, speaker or channel"
    vocab = tc.get("additional_vocab", [])
    if not isinstance(vocab, list) or not all(isinstance(v, dict) and isinstance(
            v.get("content"), str) for v in vocab):
        return "additional_vocab must be a list of {content}"
    translation = config.get("translation_config")
    if translation is not None and not (isinstance(translation, dict) and isinstance(
            translation.get("target_languages"), list)):
        return "translation_config.target_languages must be a list"
    if translation is not None and not 1 <= len(translation["target_languages"]) <= 5:
        return "translation_config.target_languages must have 1 to 5 languages"
    return ""
