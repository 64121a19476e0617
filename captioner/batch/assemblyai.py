"""AssemblyAI pre-recorded transcription (``/v2/upload`` + ``/v2/transcript``) for recorded files.

Wire facts (checked 2026-12-01 against AssemblyAI's docs, "Model selection"
and the API reference, and the official assemblyai-python-sdk ``api.py`` and
README of 2026-08): the key goes as is in ``Authorization`` (no ``Bearer``);
``POST /v2/upload`` takes the file as the raw body and answers ``upload_url``;
``POST /v2/transcript`` takes JSON with ``audio_url`` and the **required**
``speech_models`` list (there is no default model; the SDK's examples use
``["universal-3-5-pro", "universal-2"]``: the best model where it covers the
language, Universal-2 for the rest); ``GET /v2/transcript/{id}`` is
``queued``/``processing``/``completed``/``error`` (with ``error``), and once
completed holds ``words`` (ms, ``speaker`` "A"…) and ``utterances``; ``GET
/v2/transcript/{id}/srt`` and ``/vtt``; ``DELETE /v2/transcript/{id}`` (refused
with 400 while the transcript is still queued or processing). Errors are
``{"error": "..."}``. Uploads are limited to 2.2 GB (docs FAQ). EU data residency:
``api.eu.assemblyai.com``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from captioner.batch.engine import BatchVendor, JobStatus, Submission
from captioner.batch.http import BatchError, Body, Http, json_of
from captioner.providers.assemblyai import AssemblyAiOptions
from captioner.providers.assemblyai import _words as assemblyai_words
from captioner.providers.base import Word
from captioner.providers.wire import is_number

DEFAULT_URL = "https://api.assemblyai.com"
EU_URL = "https://api.eu.assemblyai.com"


class AssemblyAiBatch(BatchVendor):
    """AssemblyAI's pre-recorded API."""

    name = "assemblyai"
    title = "AssemblyAI"
    default_url = DEFAULT_URL
    upload_limit = "2.2 GB"
    caption_formats = ("srt", "vtt")
    deletes_running = False

    opts: AssemblyAiOptions

    def regional_url(self) -> str:
        return EU_URL if self.opts.region == "eu" else DEFAULT_URL

    def auth_headers(self, secret: str | None) -> dict[str, str]:
        return {"Authorization": secret} if secret else {}

    def request_options(self) -> dict[str, Any]:
        cfg, opts = self.cfg, self.opts
        body: dict[str, Any] = {
            "speech_models": list(opts.batch_speech_models),
            "speaker_labels": opts.batch_speaker_labels,
            "format_text": opts.batch_format_text,
            "punctuate": opts.batch_punctuate,
            "filter_profanity": cfg.profanity_filter,
            "disfluencies": not cfg.remove_disfluencies,  # true keeps "um", "uh"
        }
        language = (cfg.language or "").lower()
        if language in ("", "auto", "multi"):
            body["language_detection"] = True
        else:
            body["language_code"] = language.replace("-", "_")
        if cfg.vocabulary:
            body["keyterms_prompt"] = list(cfg.vocabulary)
        if opts.batch_multichannel:
            body["multichannel"] = True
        return body

    async def submit(self, http: Http, path: Path, progress: Any) -> Submission:
        upload = json_of(await http.request("POST", "/v2/upload", progress=progress,
                                            body=Body(path, file_type="application/octet-stream")),
                         "upload reply", self.title)
        if not isinstance(upload.get("upload_url"), str):
            raise BatchError(f"{self.title} sent an unreadable upload reply", "server")
        job = json_of(await http.request("POST", "/v2/transcript",
                                         json={"audio_url": upload["upload_url"],
                                               **self.request_options()}),
                      "transcript reply", self.title)
        if not isinstance(job.get("id"), str):
            raise BatchError(f"{self.title} sent an unreadable transcript reply", "server")
        return Submission(job_id=job["id"])

    async def status(self, http: Http, job_id: str) -> JobStatus:
        job = json_of(await http.request("GET", f"/v2/transcript/{job_id}"), "transcript",
                      self.title)
        self.last_job = job
        state = job.get("status")
        if state == "completed":
            return JobStatus("done")
        if state == "error":
            return JobStatus("failed", str(job.get("error") or ""))
        return JobStatus("queued" if state == "queued" else "processing")

    async def fetch(self, http: Http, job_id: str) -> tuple[list[Word], dict[str, Any]]:
        job = self.last_job  # the completed status reply is the transcript
        words = sorted(assemblyai_words(job.get("words")), key=lambda w: w.start_ms)
        meta: dict[str, Any] = {"language": job.get("language_code") or self.cfg.language}
        if isinstance(job.get("speech_model_used"), str):
            meta["model"] = job["speech_model_used"]
        if is_number(job.get("audio_duration")):
            meta["duration_ms"] = round(float(job["audio_duration"]) * 1000)
        return words, meta

    async def captions(self, http: Http, job_id: str, fmt: str) -> str:
        return (await http.request("GET", f"/v2/transcript/{job_id}/{fmt}")).text

    async def delete(self, http: Http, job_id: str) -> bool:
        response = await http.request("DELETE", f"/v2/transcript/{job_id}", ok=(400, 404))
        return response.status_code != 400
