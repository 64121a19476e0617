"""Speechmatics batch transcription (``/v2/jobs``) for recorded files.

Wire facts (checked 2026-12-01 against the official speechmatics-python SDK,
``batch_client.py`` and ``constants.py`` of 2026-03, and Speechmatics' batch
API reference): ``Authorization: Bearer``; default base
``https://asr.api.speechmatics.com/v2`` (regional ``eu1.``/``us1.``); ``POST
/jobs`` as ``multipart/form-data`` with a ``config`` JSON field and the file in
``data_file`` (201 ``{"id"}``); ``GET /jobs/{id}`` answers ``{"job": {"status":
"running"|"done"|"rejected"|"deleted"|"expired", "errors": [...]}}``; ``GET
/jobs/{id}/transcript?format=json-v2`` (also ``srt``, ``txt``) gives
``results`` of ``word``/``punctuation`` items (``alternatives[0]`` with
``content``, ``confidence``, ``speaker``; punctuation ``attaches_to``);
a ``translation_config`` with ``target_languages`` (up to 5) adds ``translations``
to json-v2 (language → sentences with ``start_time``, ``end_time``,
``content``, ``speaker``; the SDK's ``adapters.get_txt_translation`` reads the
same fields, speechmatics-python fc97b09 of 2026-03-16);
``DELETE /jobs/{id}?force=true`` also stops a running job; a file in the request
body must be under 1 GB (docs "Limits – Batch"). Temporary keys:
``POST mp.speechmatics.com/v1/api_keys?type=batch`` (options ``temporary_key``,
``batch_key_url``).
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
from pathlib import Path
from typing import Any

from captioner.batch.engine import BatchVendor, JobStatus, Submission
from captioner.batch.http import BatchError, Body, Http, Part, json_of
from captioner.providers.base import Word
from captioner.providers.speechmatics import SpeechmaticsOptions, fetch_temporary_key
from captioner.providers.wire import dict_of, is_number, seconds_to_ms

DEFAULT_URL = "https://asr.api.speechmatics.com/v2"
REGION_URLS = {"eu": "https://eu1.asr.api.speechmatics.com/v2",
               "us": "https://us1.asr.api.speechmatics.com/v2"}
LANGUAGES = {"zh": "cmn", "multi": "auto"}


class SpeechmaticsBatch(BatchVendor):
    """Speechmatics' batch API."""

    name = "speechmatics"
    title = "Speechmatics"
    default_url = DEFAULT_URL
    upload_limit = "1 GB"  # in the request body (docs "Limits – Batch"); larger files by URL
    caption_formats = ("srt",)
    deletes_running = True

    opts: SpeechmaticsOptions

    def regional_url(self) -> str:
        return REGION_URLS.get(self.opts.region, DEFAULT_URL)

    async def prepare_secret(self, secret: str | None) -> str | None:
        if not secret or not self.opts.temporary_key:
            return secret
        url = self.opts.batch_key_url
        try:
            return await asyncio.to_thread(fetch_temporary_key, secret, url, 3600)
        except urllib.error.HTTPError as exc:
            kind = "auth" if exc.code in (401, 403) else "refused"
            raise BatchError(f"Speechmatics refused a temporary key (HTTP {exc.code}) — check "
                             "the key in Preferences → Providers", kind, exc.code) from None
        except (OSError, KeyError, ValueError) as exc:
            raise BatchError(f"Could not get a temporary Speechmatics key "
                             f"({type(exc).__name__})", "network") from None

    def request_options(self) -> dict[str, Any]:
        cfg, opts = self.cfg, self.opts
        base = (cfg.language or "en").split("-")[0].lower()
        tc: dict[str, Any] = {
            "language": LANGUAGES.get(base, base),
            "operating_point": opts.model,  # the batch API's name for it
        }
        if opts.batch_diarization != "none":
            tc["diarization"] = opts.batch_diarization
        if cfg.vocabulary:
            tc["additional_vocab"] = [{"content": w} for w in cfg.vocabulary]
        if cfg.remove_disfluencies:
            tc["transcript_filtering_config"] = {"remove_disfluencies": True}
        config: dict[str, Any] = {"type": "transcription", "transcription_config": tc}
        if opts.batch_translation:
            config["translation_config"] = {"target_languages": list(opts.batch_translation)}
        return config

    async def submit(self, http: Http, path: Path, progress: Any) -> Submission:
        config = json.dumps(self.request_options(), ensure_ascii=False)
        body = Body(path, parts=(Part("config", config),), file_field="data_file")
        job = json_of(await http.request("POST", "/jobs", body=body, progress=progress),
                      "job reply", self.title)
        if not isinstance(job.get("id"), str):
            raise BatchError(f"{self.title} sent an unreadable job reply", "server")
        return Submission(job_id=job["id"])

    async def status(self, http: Http, job_id: str) -> JobStatus:
        reply = json_of(await http.request("GET", f"/jobs/{job_id}"), "job", self.title)
        job = dict_of(reply.get("job"))
        self.last_job = job
        state = job.get("status")
        if state == "done":
            return JobStatus("done")
        if state in ("rejected", "deleted", "expired"):
            errors = job.get("errors")
            errors = errors if isinstance(errors, list) else []
            detail = "; ".join(str(e.get("message")) for e in errors
                               if isinstance(e, dict) and e.get("message"))
            return JobStatus("failed", detail or f"the job was {state}")
        return JobStatus("processing")

    async def fetch(self, http: Http, job_id: str) -> tuple[list[Word], dict[str, Any]]:
        response = await http.request("GET", f"/jobs/{job_id}/transcript",
                                      params={"format": "json-v2"})
        transcript = json_of(response, "transcript", self.title)
        meta: dict[str, Any] = {"language": self.request_options()["transcription_config"][
            "language"]}
        if is_number(self.last_job.get("duration")):
            meta["duration_ms"] = round(float(self.last_job["duration"]) * 1000)
        self.translations = translated_sentences(transcript.get("translations"))
        return result_words(transcript.get("results")), meta

    async def captions(self, http: Http, job_id: str, fmt: str) -> str:
        response = await http.request("GET", f"/jobs/{job_id}/transcript",
                                      params={"format": fmt})
        return response.text

    async def delete(self, http: Http, job_id: str) -> bool:
        await http.request("DELETE", f"/jobs/{job_id}", params={"force": "true"}, ok=(404,))
        return True


def translated_sentences(translations: object) -> dict[str, list[Word]]:
    """json-v2 ``translations`` (language → sentences with ``start_time``, ``end_time``,
    ``content``, ``speaker``), one :class:`Word` per sentence; malformed entries skipped."""
    out: dict[str, list[Word]] = {}
    for language, items in (translations.items() if isinstance(translations, dict) else ()):
        sentences = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("content"), str):
                continue
            start_ms = seconds_to_ms(item.get("start_time"))
            end_ms = seconds_to_ms(item.get("end_time"))
            if start_ms is None or end_ms is None or not item["content"].strip():
                continue
            speaker = item.get("speaker")
            sentences.append(Word(item["content"].strip(), start_ms, max(start_ms, end_ms),
                                  None, speaker if isinstance(speaker, str) and speaker != "UU"
                                  else None))
        if sentences:
            out[str(language)] = sorted(sentences, key=lambda w: w.start_ms)
    return out


def result_words(results: object) -> list[Word]:
    """Words of json-v2 ``results``, punctuation that attaches to the previous word glued on."""
    words: list[Word] = []
    for item in results if isinstance(results, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("alternatives"), list) \
                or not item["alternatives"] or not isinstance(item["alternatives"][0], dict):
            continue
        best = item["alternatives"][0]
        content = best.get("content")
        if not isinstance(content, str):
            continue
        if item.get("type") == "punctuation":
            if words and item.get("attaches_to", "previous") in ("previous", "both"):
                last = words[-1]
                words[-1] = Word(last.text + content, last.start_ms, last.end_ms,
                                 last.confidence, last.speaker)
            continue
        start_ms, end_ms = seconds_to_ms(item.get("start_time")), seconds_to_ms(
            item.get("end_time"))
        if start_ms is None or end_ms is None:
            continue
        speaker, conf = best.get("speaker"), best.get("confidence")
        words.append(Word(content, start_ms, end_ms, float(conf) if is_number(conf) else None,
                          speaker if isinstance(speaker, str) and speaker != "UU" else None))
    return words
