"""Rev AI asynchronous speech-to-text (``/speechtotext/v1/jobs``) for recorded files.

Wire facts (checked 2026-12-01 against Rev's API docs, docs.rev.ai/api/asynchronous,
and the official revai-python-sdk ``apiclient.py``): ``Authorization: Bearer``;
``POST /jobs`` as ``multipart/form-data`` with the file in ``media`` and a JSON
``options`` field (the SDK sends ``media`` first); the job is ``in_progress``,
then ``transcribed`` or ``failed`` (``failure``, ``failure_detail``); ``GET
/jobs/{id}/transcript`` with ``Accept: application/vnd.rev.transcript.v1.0+json``
gives ``monologues`` (``speaker``, ``elements`` of ``text`` with ``ts``/
``end_ts``/``confidence`` and ``punct``); ``GET /jobs/{id}/captions`` with
``Accept: application/x-subrip`` or ``text/vtt``; ``DELETE /jobs/{id}`` (204;
a job still in progress is refused with 409). Errors are RFC 7807 problem
details (``title``, ``detail``, ``parameter``/``parameters``). Multipart uploads
are limited to 2 GB. Custom words go inline as ``custom_vocabularies`` (or an
existing ``custom_vocabulary_id`` option).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from captioner.batch.engine import BatchVendor, JobStatus, Submission
from captioner.batch.http import BatchError, Body, Http, Part, json_of
from captioner.providers.base import Word
from captioner.providers.revai import RevAiOptions
from captioner.providers.wire import is_number, seconds_to_ms

DEFAULT_URL = "https://api.rev.ai/speechtotext/v1"
EU_URL = "https://ec1.api.rev.ai/speechtotext/v1"
TRANSCRIPT_TYPE = "application/vnd.rev.transcript.v1.0+json"
CAPTION_TYPES = {"srt": "application/x-subrip", "vtt": "text/vtt"}
#: languages Rev names differently from the app's codes
LANGUAGES = {"zh": "cmn"}


def rev_language(code: str | None) -> str:
    base = (code or "en").split("-")[0].lower()
    return LANGUAGES.get(base, base)


class RevAiBatch(BatchVendor):
    """Rev AI's asynchronous API."""

    name = "revai"
    title = "Rev AI"
    default_url = DEFAULT_URL
    upload_limit = "2 GB"
    caption_formats = ("srt", "vtt")
    deletes_running = False

    opts: RevAiOptions

    def regional_url(self) -> str:
        return EU_URL if self.opts.region == "eu" else DEFAULT_URL

    def request_options(self) -> dict[str, Any]:
        cfg = self.cfg
        options: dict[str, Any] = {
            "language": rev_language(cfg.language),
            "skip_diarization": not self.opts.batch_speaker_labels,
            "remove_disfluencies": cfg.remove_disfluencies,
            "filter_profanity": cfg.profanity_filter,
            "metadata": "captioner",
        }
        opts = self.opts
        chosen = {"custom_vocabulary_id": opts.custom_vocabulary_id,
                  "delete_after_seconds": opts.delete_after_seconds,
                  "transcriber": opts.batch_transcriber,
                  "speakers_count": opts.batch_speakers_count,
                  "speaker_channels_count": opts.batch_speaker_channels_count,
                  "remove_atmospherics": opts.batch_remove_atmospherics}
        options.update({k: v for k, v in chosen.items() if v not in (None, "", False)})
        if cfg.vocabulary and "custom_vocabulary_id" not in options:
            options["custom_vocabularies"] = [{"phrases": list(cfg.vocabulary)}]
        return options

    async def submit(self, http: Http, path: Path, progress: Any) -> Submission:
        options = json.dumps(self.request_options(), sort_keys=True)
        body = Body(path, file_field="media", parts_after=(Part("options", options),))
        job = json_of(await http.request("POST", "/jobs", body=body, progress=progress),
                      "job", self.title)
        if not isinstance(job.get("id"), str):
            raise BatchError(f"{self.title} sent an unreadable job reply", "server")
        return Submission(job_id=job["id"])

    async def status(self, http: Http, job_id: str) -> JobStatus:
        job = json_of(await http.request("GET", f"/jobs/{job_id}"), "job", self.title)
        self.last_job = job
        state = job.get("status")
        if state in ("transcribed", "completed"):
            return JobStatus("done")
        if state == "failed":
            detail = job.get("failure_detail") or job.get("failure") or ""
            return JobStatus("failed", str(detail))
        return JobStatus("processing")

    async def fetch(self, http: Http, job_id: str) -> tuple[list[Word], dict[str, Any]]:
        response = await http.request("GET", f"/jobs/{job_id}/transcript",
                                      headers={"Accept": TRANSCRIPT_TYPE})
        words = transcript_words(json_of(response, "transcript", self.title))
        job = self.last_job
        meta: dict[str, Any] = {"language": job.get("language") or rev_language(self.cfg.language)}
        if is_number(job.get("duration_seconds")):
            meta["duration_ms"] = round(float(job["duration_seconds"]) * 1000)
        return words, meta

    async def captions(self, http: Http, job_id: str, fmt: str) -> str:
        response = await http.request("GET", f"/jobs/{job_id}/captions",
                                      headers={"Accept": CAPTION_TYPES[fmt]})
        return response.text

    async def delete(self, http: Http, job_id: str) -> bool:
        response = await http.request("DELETE", f"/jobs/{job_id}", ok=(404, 409))
        return response.status_code != 409


def transcript_words(transcript: dict[str, Any]) -> list[Word]:
    """Words of a Rev JSON transcript in time order, punctuation glued to the word before."""
    words: list[Word] = []
    monologues = transcript.get("monologues")
    for mono in monologues if isinstance(monologues, list) else []:
        if not isinstance(mono, dict) or not isinstance(mono.get("elements"), list):
            continue
        speaker = mono.get("speaker")
        label = f"S{int(speaker)}" if is_number(speaker) else None
        before = len(words)
        for e in mono["elements"]:
            if not isinstance(e, dict) or not isinstance(e.get("value"), str):
                continue
            if e.get("type") == "text":
                start_ms, end_ms = seconds_to_ms(e.get("ts")), seconds_to_ms(e.get("end_ts"))
                if start_ms is None or end_ms is None:
                    continue
                conf = e.get("confidence")
                words.append(Word(e["value"].strip(), start_ms, end_ms,
                                  float(conf) if is_number(conf) else None, label))
            elif e.get("type") == "punct" and e["value"].strip() and len(words) > before:
                last = words[-1]
                words[-1] = Word(last.text + e["value"].strip(), last.start_ms, last.end_ms,
                                 last.confidence, last.speaker)
    words.sort(key=lambda w: w.start_ms)
    return words
