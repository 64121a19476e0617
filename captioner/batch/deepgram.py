"""Deepgram pre-recorded transcription (``POST /v1/listen`` with the file as the body).

Wire facts (checked 2026-12-01 against the official deepgram-python-sdk and
Deepgram's pre-recorded API reference): ``Authorization: Token <key>``; the
file is the raw request body with its audio ``Content-Type``; the same query
options as live (``model``, ``language``, ``diarize``, ``utterances``,
``smart_format``, ``punctuate``, repeated ``keyterm`` for Nova-3,
``profanity_filter``, ``filler_words``); the answer comes in the same request:
``metadata`` (``request_id``, ``duration``) and
``results.channels[].alternatives[].words`` (seconds; ``punctuated_word``;
``speaker`` numbers when diarized). Errors are ``{"err_code", "err_msg"}`` (and
a ``dg-error`` header). Files up to 2 GB (as reported by third-party guides; not
found in the stored copy of Deepgram's reference). There is no job to resume or
delete: Ctrl-C aborts the request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from captioner.batch.engine import BatchVendor, Submission
from captioner.batch.http import Body, Http, generic_detail, json_of
from captioner.providers.base import Word
from captioner.providers.deepgram import DeepgramOptions
from captioner.providers.deepgram import _words as deepgram_words
from captioner.providers.wire import dict_of, is_number

DEFAULT_URL = "https://api.deepgram.com/v1"
EU_URL = "https://api.eu.deepgram.com/v1"
#: a long file is transcribed while the request waits
PROCESSING_TIMEOUT_S = 900.0


class DeepgramBatch(BatchVendor):
    """Deepgram's pre-recorded API."""

    name = "deepgram"
    title = "Deepgram"
    default_url = DEFAULT_URL
    upload_limit = "2 GB"

    opts: DeepgramOptions

    def regional_url(self) -> str:
        return EU_URL if self.opts.batch_region == "eu" else DEFAULT_URL

    @property
    def model(self) -> str:
        """``batch_model``, or the live ``model`` when it is empty."""
        return self.opts.batch_model or self.opts.model

    def auth_headers(self, secret: str | None) -> dict[str, str]:
        return {"Authorization": f"Token {secret}"} if secret else {}

    def detail(self, response: httpx.Response) -> str:
        return generic_detail(response) or response.headers.get("dg-error", "")

    def query(self) -> list[tuple[str, str]]:
        cfg = self.cfg
        params = [("model", self.model),
                  ("smart_format", "true"), ("punctuate", "true"), ("utterances", "true")]
        language = (cfg.language or "en").lower()
        if language in ("auto", ""):
            params.append(("detect_language", "true"))
        else:
            params.append(("language", language))
        if self.opts.batch_speaker_labels:
            params.append(("diarize", "true"))
        if cfg.profanity_filter:
            params.append(("profanity_filter", "true"))
        if not cfg.remove_disfluencies:
            params.append(("filler_words", "true"))
        params += [("keyterm", w) for w in cfg.vocabulary]
        return params

    def request_options(self) -> dict[str, Any]:
        return {"query": self.query()}

    async def submit(self, http: Http, path: Path, progress: Any) -> Submission:
        response = await http.request("POST", "/listen", params=self.query(), body=Body(path),
                                      progress=progress,
                                      timeout=httpx.Timeout(http.retry.timeout_s,
                                                            read=PROCESSING_TIMEOUT_S))
        return Submission(transcript=json_of(response, "transcript", self.title))

    def words_of(self, transcript: dict[str, Any]) -> tuple[list[Word], dict[str, Any]]:
        results = dict_of(transcript.get("results"))
        words: list[Word] = []
        channels = results.get("channels")
        for channel in channels if isinstance(channels, list) else []:
            alternatives = channel.get("alternatives") if isinstance(channel, dict) else None
            if isinstance(alternatives, list) and alternatives and isinstance(alternatives[0],
                                                                              dict):
                words += deepgram_words(alternatives[0].get("words"))
        words.sort(key=lambda w: w.start_ms)
        metadata = dict_of(transcript.get("metadata"))
        meta: dict[str, Any] = {"language": self.cfg.language,
                                "model": self.model}
        if isinstance(metadata.get("request_id"), str):
            meta["request_id"] = metadata["request_id"]
        if is_number(metadata.get("duration")):
            meta["duration_ms"] = round(float(metadata["duration"]) * 1000)
        return words, meta
