"""Fake Rev AI asynchronous API (``/speechtotext/v1/jobs``) and custom vocabularies API.

Rules (Rev's API reference and revai-python-sdk, see :mod:`captioner.batch.revai`):
``Authorization: Bearer <key>`` or 401; ``POST /jobs`` must be multipart with a
``media`` file and may carry an ``options`` JSON field (bad JSON, wrong types,
``custom_vocabularies`` together with ``custom_vocabulary_id``: 400 problem
details naming the parameter; unknown options are recorded as violations); a
file over the limit gets 413. Jobs are ``in_progress`` then ``transcribed`` or
``failed`` (``failure``, ``failure_detail``); the transcript needs ``Accept:
application/vnd.rev.transcript.v1.0+json`` (or ``text/plain``) and a
transcribed job (else 409 "Invalid Job State"); captions need ``Accept``
``application/x-subrip`` or ``text/vtt``; ``DELETE`` of a job in progress is
409, of an unknown or deleted job 404. ``POST /vocabularies`` (JSON
``custom_vocabularies: [{"phrases": [...]}]``) makes a vocabulary that is
``in_progress`` for ``vocabulary_s`` and then ``complete`` (or ``failed`` with
``failure`` and ``failure_detail`` = ``vocabulary_failure``); a list breaking
Rev's rules (docs.rev.ai/api/custom-vocabulary, checked 2026-12-01: 1-50
vocabularies, at most 6000 phrases, each with a letter, at most 12 words of at
most 34 characters) gets 400 naming the phrase.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from captioner.testing.fake_http import FakeHttpServer, FakeJob, Reply, Request, simple_captions
from captioner.testing.fakes import PUNCTUATION, new_id

BASE = "/speechtotext/v1"
TRANSCRIPT_TYPE = "application/vnd.rev.transcript.v1.0+json"
CAPTION_TYPES = {"application/x-subrip": "srt", "text/vtt": "vtt"}
OPTION_TYPES: dict[str, type | tuple[type, ...]] = {
    "metadata": str, "callback_url": str, "skip_diarization": bool, "skip_punctuation": bool,
    "speaker_channels_count": int, "custom_vocabularies": list, "filter_profanity": bool,
    "remove_disfluencies": bool, "delete_after_seconds": int, "language": str,
    "custom_vocabulary_id": str, "transcriber": str, "verbatim": bool, "rush": bool,
    "test_mode": bool, "skip_postprocessing": bool, "remove_atmospherics": bool,
    "speakers_count": int, "diarization_type": str, "notification_config": dict,
}
LANGUAGES = frozenset("en es fr de it pt nl ja ko cmn ru ar hi pl tr sv da fi no".split())


@dataclass
class Vocabulary:
    id: str
    phrases: list[str]
    ready_at: float
    failure: str | None = None
    created: float = field(default_factory=time.monotonic)

    def status(self) -> str:
        if time.monotonic() < self.ready_at:
            return "in_progress"
        return "failed" if self.failure else "complete"


def phrase_problem(phrases: list[str]) -> str:
    """Why Rev would refuse these phrases ("" if it would not)."""
    if len(phrases) > 6000:
        return "at most 6000 phrases"
    for phrase in phrases:
        words = phrase.split()
        if not any(c.isalpha() for c in phrase):
            return f"phrase {phrase!r} has no letter"
        if len(words) > 12:
            return f"phrase {phrase[:40]!r} has more than 12 words"
        if any(len(w) > 34 for w in words):
            return f"phrase {phrase[:40]!r} has a word longer than 34 characters"
    return ""


class FakeRevAiBatch(FakeHttpServer):
    """Fake Rev AI async + vocabularies; see the module docstring.

    Attributes:
        vocabulary_s: how long a vocabulary stays ``in_progress``.
        vocabulary_failure: when set, vocabularies fail with this.
        vocabularies: id → :class:`Vocabulary`.
        violations: things the real API would ignore or refuse that the client sent.
    """

    vendor = "Rev AI"
    base_path = BASE

    def __init__(self, *args: Any, vocabulary_s: float = 0.0,
                 vocabulary_failure: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vocabulary_s = vocabulary_s
        self.vocabulary_failure = vocabulary_failure
        self.vocabularies: dict[str, Vocabulary] = {}
        self.violations: list[str] = []

    def error_body(self, status: int, message: str = "") -> Any:
        titles = {400: "Your request parameters didn't pass validation",
                  401: "Authorization has been denied for this request",
                  403: "Insufficient credits", 404: "could not find job",
                  409: "Invalid Job State", 413: "Payload Too Large",
                  429: "Too Many Requests"}
        body: dict[str, Any] = {"title": titles.get(status, "Error"), "status": status}
        if message:
            body["detail"] = message
        return body

    def problem(self, status: int, detail: str = "", **extra: Any) -> Reply:
        body = self.error_body(status, detail)
        body.update(extra)
        return self.reply(status, body, "application/problem+json")

    # -- routing ---------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        auth = request.header("authorization") or ""
        if not auth.startswith("Bearer ") or auth[7:] not in self.keys:
            return self.problem(401)
        path = request.path.removeprefix(BASE)
        if path == "/jobs" and request.method == "POST":
            return self.submit(request)
        if path == "/vocabularies" and request.method == "POST":
            return self.submit_vocabulary(request)
        if path.startswith("/vocabularies/") and request.method == "GET":
            return self.vocabulary(path.split("/")[2])
        parts = path.strip("/").split("/")
        if parts[0] != "jobs" or len(parts) < 2:
            return self.problem(404, "no such endpoint")
        job = self.jobs.get(parts[1])
        if job is None or job.deleted:
            return self.problem(404)
        if len(parts) == 2 and request.method == "GET":
            return self.reply(200, self.job_json(job))
        if len(parts) == 2 and request.method == "DELETE":
            if job.state() in ("queued", "processing"):
                return self.problem(409, "Job is in progress and cannot be deleted",
                                    allowed_values=["transcribed", "failed"],
                                    current_value="in_progress")
            job.deleted = True
            return 204, {}, b""
        if len(parts) == 3 and parts[2] in ("transcript", "captions") \
                and request.method == "GET":
            if job.state() != "done":
                return self.problem(409, f"Job is in invalid state to obtain the {parts[2]}",
                                    allowed_values=["transcribed"],
                                    current_value=self.rev_status(job))
            accept = (request.header("accept") or "").split(";")[0].strip()
            if parts[2] == "transcript":
                if accept == TRANSCRIPT_TYPE:
                    return self.reply(200, self.transcript(job), TRANSCRIPT_TYPE)
                if accept == "text/plain":
                    return self.reply(200, " ".join(u.text for u in self.utterances(job)),
                                      "text/plain")
                return self.problem(406, f"Accept {accept or '(none)'} is not offered")
            if accept not in CAPTION_TYPES:
                return self.problem(406, f"Accept {accept or '(none)'} is not offered")
            return self.reply(200, simple_captions(self.utterances(job), CAPTION_TYPES[accept]),
                              accept)
        return self.problem(404, "no such endpoint")

    # -- jobs ------------------------------------------------------------------

    def submit(self, request: Request) -> Reply:
        if not (request.header("content-type") or "").startswith("multipart/form-data"):
            return self.problem(400, "a local file must be sent as multipart/form-data",
                                parameters={"media": ["The media field is required"]})
        media = request.form.get("media")
        if media is None or media[0] is None:
            return self.problem(400, parameters={"media": ["The media field is required"]})
        if len(media[2]) > self.max_upload_bytes:
            return self.problem(413, "File size exceeds the 2 GB limit for multipart uploads")
        options: dict[str, Any] = {}
        if "options" in request.form:
            try:
                options = json.loads(request.form["options"][2])
            except ValueError:
                return self.problem(400, parameters={"options": ["options must be valid JSON"]})
            if not isinstance(options, dict):
                return self.problem(400, parameters={"options": ["options must be an object"]})
        for name, value in options.items():
            kind = OPTION_TYPES.get(name)
            if kind is None:
                self.violations.append(f"unknown option {name!r}")
            elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                return self.problem(400, parameters={name: [f"{name} has the wrong type"]})
        if "custom_vocabularies" in options and "custom_vocabulary_id" in options:
            return self.problem(400, parameters={"custom_vocabulary_id": [
                "custom_vocabulary_id cannot be used with custom_vocabularies"]})
        if options.get("language", "en") not in LANGUAGES:
            return self.problem(400, parameters={"language": ["unsupported language"]})
        job = self.new_job(media[2], options, name=media[0])
        return self.reply(200, self.job_json(job))

    @staticmethod
    def rev_status(job: FakeJob) -> str:
        return {"done": "transcribed", "failed": "failed"}.get(job.state(), "in_progress")

    def job_json(self, job: FakeJob) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": job.id, "created_on": "2026-12-01T21:00:00.000Z", "name": job.extra["name"],
            "status": self.rev_status(job), "type": "async",
            "language": job.options.get("language", "en"),
        }
        for key in ("metadata", "delete_after_seconds", "custom_vocabulary_id"):
            if key in job.options:
                body[key] = job.options[key]
        if body["status"] != "in_progress":
            body["completed_on"] = "2026-12-01T21:01:00.000Z"
            body["duration_seconds"] = job.audio_ms / 1000
        if body["status"] == "failed":
            body["failure"] = "transcription_failure"
            body["failure_detail"] = job.failure
        return body

    def transcript(self, job: FakeJob) -> dict[str, Any]:
        """Rev's JSON transcript: a monologue per speaker turn, text and punct elements."""
        diarize = not job.options.get("skip_diarization", False)
        monologues: list[dict[str, Any]] = []
        for u in self.utterances(job):
            speaker = u.speaker if diarize and u.speaker is not None else 0
            if not monologues or monologues[-1]["speaker"] != speaker:
                monologues.append({"speaker": speaker, "elements": []})
            elements = monologues[-1]["elements"]
            if elements:
                elements.append({"type": "punct", "value": " "})
            for i, (word, start_ms, end_ms) in enumerate(u.words()):
                if i:
                    elements.append({"type": "punct", "value": " "})
                core = word.rstrip(PUNCTUATION) or word
                elements.append({"type": "text", "value": core, "ts": start_ms / 1000,
                                 "end_ts": end_ms / 1000, "confidence": 0.98})
                for mark in word[len(core):]:
                    elements.append({"type": "punct", "value": mark})
        return {"monologues": monologues}

    # -- custom vocabularies ---------------------------------------------------

    def submit_vocabulary(self, request: Request) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return self.problem(400, "the body must be JSON")
        vocabs = body.get("custom_vocabularies") if isinstance(body, dict) else None
        if not isinstance(vocabs, list) or not vocabs or not all(
                isinstance(v, dict) and isinstance(v.get("phrases"), list) and v["phrases"]
                and all(isinstance(p, str) and p.strip() for p in v["phrases"]) for v in vocabs):
            return self.problem(400, parameters={"custom_vocabularies": [
                "custom_vocabularies must be a non-empty list of {phrases: [...]}"]})
        phrases = [p for v in vocabs for p in v["phrases"]]
        problem = phrase_problem(phrases) if len(vocabs) <= 50 else "at most 50 vocabularies"
        if problem:
            return self.problem(400, parameters={"custom_vocabularies": [problem]})
        vocab = Vocabulary("cv" + new_id()[:10], phrases,
                           time.monotonic() + self.vocabulary_s, self.vocabulary_failure)
        self.vocabularies[vocab.id] = vocab
        return self.reply(200, {"id": vocab.id, "status": "in_progress",
                                "created_on": "2026-12-01T21:00:00.000Z"})

    def complete_vocabulary_ids(self) -> list[str]:
        """Ids of the vocabularies that are ready: what the streaming fake accepts."""
        return [v.id for v in list(self.vocabularies.values()) if v.status() == "complete"]

    def vocabulary(self, vocab_id: str) -> Reply:
        vocab = self.vocabularies.get(vocab_id)
        if vocab is None:
            return self.problem(404, "could not find custom vocabulary")
        body: dict[str, Any] = {"id": vocab.id, "status": vocab.status(),
                                "created_on": "2026-12-01T21:00:00.000Z"}
        if body["status"] == "failed":
            body["failure"] = "Custom vocabulary processing failed"
            body["failure_detail"] = vocab.failure
        return self.reply(200, body)
