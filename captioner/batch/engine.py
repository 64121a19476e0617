"""The one job engine every batch vendor runs on: submit, remember, poll, fetch, cancel.

A vendor module subclasses :class:`BatchVendor` and provides the wire steps
(``submit``, ``status``, ``fetch`` and where offered ``captions`` and
``delete``). :func:`run_job` does the rest for all of them: uploads with byte
progress; saves the job id (:mod:`captioner.batch.jobs`) before polling, so a
restart resumes the same job; polls with backoff and jitter (and the vendor's
``Retry-After``); on cancellation (the ``cancel`` event, or the task being
cancelled, e.g. by Ctrl-C) deletes the remote job where the API allows, or
remembers it to delete on a later run where the vendor refuses while it is in
progress; and deletes finished jobs when asked not to leave data behind.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from captioner.batch.http import BatchError, Http, RetrySettings, generic_detail
from captioner.batch.jobs import JobStore, job_key
from captioner.batch.segments import segments_from_words
from captioner.config import SessionConfig
from captioner.endpoints import EndpointError, check_http_url
from captioner.options import options_of
from captioner.providers import options_class
from captioner.providers.base import Word
from captioner.retry import RetryPolicy
from captioner.secrets import ENV_VARS
from captioner.transcript.model import Segment

log = logging.getLogger(__name__)

STAGES = ("uploading", "queued", "processing", "downloading", "done")


@dataclass(frozen=True)
class BatchProgress:
    """Where a batch job is, for a progress bar.

    Attributes:
        stage: one of :data:`STAGES`.
        sent_bytes, total_bytes: upload progress (both 0 outside ``uploading``).
        elapsed_s: seconds since the job started (or was resumed).
        job_id: the vendor's job id once known.
        resumed: True when waiting on a job saved by an earlier run.
    """

    stage: str
    sent_bytes: int = 0
    total_bytes: int = 0
    elapsed_s: float = 0.0
    job_id: str = ""
    resumed: bool = False


@dataclass(frozen=True)
class BatchResult:
    """A finished batch transcript.

    Attributes:
        segments: finals with words, times in ms from the file's start, vendor speaker ids.
        meta: ``provider``, ``job_id``, ``language``, ``duration_ms``, ``model`` … as known.
        vendor_captions: the vendor's own captions, format (``"srt"``/``"vtt"``) → text,
            for the formats asked for and offered.
        translations: language → the vendor's translated segments (Speechmatics'
            ``batch_translation``), in time order.
    """

    segments: tuple[Segment, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    vendor_captions: dict[str, str] = field(default_factory=dict)
    translations: dict[str, tuple[Segment, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class JobStatus:
    """One poll's answer: ``state`` is ``queued``, ``processing``, ``done`` or ``failed``."""

    state: str
    message: str = ""


@dataclass(frozen=True)
class Submission:
    """What submitting gave: a job id to poll, or (Deepgram) the transcript itself."""

    job_id: str = ""
    transcript: dict[str, Any] | None = None


@dataclass(frozen=True)
class EngineSettings:
    """Timing of the engine; tests make it fast.

    Attributes:
        poll: delays between status polls (grows to ``max_s``; jittered).
        retry: per-request retries (429, 5xx, network).
        delete_timeout_s: how long a delete on cancel may take.
    """

    poll: RetryPolicy = field(default_factory=lambda: RetryPolicy(
        initial_s=1.0, factor=1.5, max_s=15.0, jitter=0.2, max_attempts=None))
    retry: RetrySettings = field(default_factory=RetrySettings)
    delete_timeout_s: float = 15.0


class BatchVendor:
    """One vendor's batch API. Subclasses set the class attributes and the wire steps.

    Attributes:
        name: provider name (``"revai"``).
        title: the vendor's name in messages.
        default_url: REST base URL.
        upload_limit: the documented file size limit, in words ("2 GB").
        caption_formats: formats of the vendor's own captions (``("srt", "vtt")``).
        deletes_running: whether DELETE works on a job still in progress.
        cfg: the session settings (its ``endpoint`` is the streaming URL: unused here).
        opts: ``cfg.options``, the vendor's typed options (defaults if None).
        endpoint: REST base URL overriding :attr:`default_url`; a bare host gets the usual path.
    """

    name = ""
    title = ""
    default_url = ""
    upload_limit = ""
    caption_formats: tuple[str, ...] = ()
    deletes_running = False

    def __init__(self, cfg: SessionConfig, endpoint: str | None = None) -> None:
        self.cfg = cfg
        self.endpoint = endpoint
        #: the vendor's typed options (its ``batch_*`` fields are for this API)
        self.opts = options_of(cfg.options, options_class(self.name))
        #: the last status reply (some vendors put the transcript's metadata there)
        self.last_job: dict[str, Any] = {}
        #: language → translated sentences (text, times, speaker), filled by :meth:`fetch`
        #: where the vendor translates
        self.translations: dict[str, list[Word]] = {}

    def regional_url(self) -> str:
        """The default base URL for the region chosen in the options."""
        return self.default_url

    def base_url(self) -> str:
        endpoint = (self.endpoint or "").strip()
        if not endpoint:
            return self.regional_url()
        if "://" not in endpoint:
            endpoint = "https://" + endpoint
        scheme, rest = endpoint.split("://", 1)
        scheme = {"ws": "http", "wss": "https"}.get(scheme.lower(), scheme.lower())
        rest = rest.split("?", 1)[0].split("#", 1)[0].rstrip("/")
        if "/" not in rest:  # a bare host gets the vendor's usual path
            rest += "/" + self.default_url.split("://", 1)[1].partition("/")[2]
        url = f"{scheme}://{rest}".rstrip("/")
        try:
            check_http_url(url, self.title)
        except EndpointError as exc:
            raise BatchError(str(exc), "refused") from None
        return url

    def auth_headers(self, secret: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"} if secret else {}

    async def prepare_secret(self, secret: str | None) -> str | None:
        """The credential to send (a temporary key where the vendor offers one)."""
        return secret

    def detail(self, response: httpx.Response) -> str:
        return generic_detail(response)

    def request_options(self) -> dict[str, Any]:
        """What the job is asked to do, as sent: part of the resume key."""
        return {}

    async def submit(self, http: Http, path: Path, progress: Callable[[int, int], None]
                     ) -> Submission:
        raise NotImplementedError

    async def status(self, http: Http, job_id: str) -> JobStatus:
        raise NotImplementedError

    async def fetch(self, http: Http, job_id: str) -> tuple[list[Word], dict[str, Any]]:
        raise NotImplementedError

    def words_of(self, transcript: dict[str, Any]) -> tuple[list[Word], dict[str, Any]]:
        """For vendors that answer at once (:attr:`Submission.transcript`)."""
        raise NotImplementedError

    async def captions(self, http: Http, job_id: str, fmt: str) -> str:
        raise NotImplementedError

    async def delete(self, http: Http, job_id: str) -> bool:
        """Delete the remote job; False if the vendor refuses while it is in progress."""
        return True


class BatchCancelled(BatchError):
    """The user cancelled; ``deleted`` says whether the remote job is gone."""

    def __init__(self, message: str, deleted: bool) -> None:
        super().__init__(message, "cancelled")
        self.deleted = deleted


class _Job:
    """One run of a vendor job (state shared by the steps and the cancel path)."""

    def __init__(self, vendor: BatchVendor, http: Http, store: JobStore, path: Path,
                 settings: EngineSettings, on_progress: Callable[[BatchProgress], None] | None,
                 source: str, captions: tuple[str, ...], delete_after: bool) -> None:
        self.vendor, self.http, self.store, self.path = vendor, http, store, path
        self.settings = settings
        self.on_progress = on_progress
        self.source = source
        self.captions = captions
        self.delete_after = delete_after
        self.key = job_key(vendor.name, http.base_url, path, vendor.request_options())
        self.job_id = ""
        self.resumed = False
        self.t0 = time.monotonic()

    def report(self, stage: str, sent: int = 0, total: int = 0) -> None:
        if self.on_progress:
            self.on_progress(BatchProgress(stage, sent, total, time.monotonic() - self.t0,
                                           self.job_id, self.resumed))

    async def run(self) -> BatchResult:
        await self.sweep_deletions()
        saved = self.store.get(self.key)
        if saved:
            self.job_id, self.resumed = saved["job_id"], True
            log.info("%s: resuming job %s", self.vendor.title, self.job_id)
            try:
                await self.wait()
            except BatchError as exc:
                if exc.kind != "not_found":
                    raise
                log.info("%s: saved job %s is gone; submitting again", self.vendor.title,
                         self.job_id)
                self.store.forget(self.key)
                self.job_id, self.resumed = "", False
        if not self.job_id:
            self.report("uploading", 0, self.path.stat().st_size)
            submission = await self.vendor.submit(
                self.http, self.path, lambda sent, total: self.report("uploading", sent, total))
            if submission.transcript is not None:
                words, meta = self.vendor.words_of(submission.transcript)
                return self.result(words, meta, {})
            self.job_id = submission.job_id
            self.store.put(self.key, self.vendor.name, self.job_id, self.http.base_url,
                           self.path)
            await self.wait()
        self.report("downloading")
        words, meta = await self.vendor.fetch(self.http, self.job_id)
        captions = {}
        for fmt in self.captions:
            if fmt in self.vendor.caption_formats:
                captions[fmt] = await self.vendor.captions(self.http, self.job_id, fmt)
        self.store.forget(self.key)
        if self.delete_after:
            await self.delete_quietly()
        return self.result(words, meta, captions)

    def result(self, words: list[Word], meta: dict[str, Any], captions: dict[str, str]
               ) -> BatchResult:
        self.report("done")
        meta = {"provider": self.vendor.name, "job_id": self.job_id, "batch": True, **meta}
        if not meta["job_id"]:
            meta.pop("job_id")
        segments = segments_from_words(words, self.source)
        translations = {
            language: tuple(Segment(f"{self.source}-{language}-{n}", s.text, s.start_ms,
                                    s.end_ms, s.speaker, self.source, language=language)
                            for n, s in enumerate(sentences))
            for language, sentences in self.vendor.translations.items()}
        return BatchResult(segments, meta, captions, translations)

    async def wait(self) -> None:
        """Poll until the job is done; raise on a failed job."""
        attempt = 0
        while True:
            status = await self.vendor.status(self.http, self.job_id)
            if status.state == "done":
                return
            if status.state == "failed":
                self.store.forget(self.key)
                detail = f": {self.http.clean(status.message)}" if status.message else ""
                raise BatchError(f"{self.vendor.title} could not transcribe the file{detail}",
                                 "failed")
            self.report(status.state)
            attempt += 1
            delay_s = self.settings.poll.delay_s(attempt, random.Random())
            if self.http.last_retry_after_s is not None:
                delay_s = max(delay_s, self.http.last_retry_after_s)
            await asyncio.sleep(delay_s)

    async def delete_quietly(self) -> bool:
        """Delete the remote job; remember it for later if the vendor says not yet."""
        try:
            async with asyncio.timeout(self.settings.delete_timeout_s):
                if await self.vendor.delete(self.http, self.job_id):
                    return True
        except (BatchError, TimeoutError) as exc:
            log.warning("%s: could not delete job %s: %s", self.vendor.title, self.job_id, exc)
        self.store.delete_later(self.vendor.name, self.job_id, self.http.base_url)
        return False

    async def sweep_deletions(self) -> None:
        """Delete jobs an earlier run was asked to delete but could not."""
        for job_id in self.store.to_delete(self.vendor.name, self.http.base_url):
            try:
                if await self.vendor.delete(self.http, job_id):
                    self.store.deleted(self.vendor.name, job_id)
            except BatchError as exc:
                if exc.kind == "not_found":
                    self.store.deleted(self.vendor.name, job_id)
                else:
                    log.info("%s: job %s still not deletable: %s", self.vendor.title, job_id, exc)

    async def cancelled(self) -> BatchCancelled:
        """Clean up after a cancel: delete the remote job (or remember to)."""
        if not self.job_id:
            return BatchCancelled(f"Cancelled; nothing was left at {self.vendor.title}.", True)
        self.store.forget(self.key)
        deleted = await self.delete_quietly()
        if deleted:
            return BatchCancelled(f"Cancelled; job {self.job_id} was deleted at "
                                  f"{self.vendor.title}.", True)
        return BatchCancelled(
            f"Cancelled. {self.vendor.title} does not delete a job while it is being "
            f"transcribed; captioner deletes job {self.job_id} the next time it sends a file "
            f"to {self.vendor.title}.", False)


async def run_job(vendor: BatchVendor, path: Path, secret: str | None, *,
                  source: str = "mic",
                  on_progress: Callable[[BatchProgress], None] | None = None,
                  cancel: asyncio.Event | None = None,
                  captions: tuple[str, ...] = (), delete_after: bool = False,
                  store: JobStore | None = None,
                  settings: EngineSettings | None = None) -> BatchResult:
    """Transcribe ``path`` with ``vendor``; see :func:`captioner.batch.transcribe_file`.

    Raises:
        BatchCancelled: ``cancel`` was set (the task itself being cancelled
            re-raises ``CancelledError`` after the same clean-up).
        BatchError: anything else that went wrong, in plain words.
    """
    settings = settings or EngineSettings()
    credential = await vendor.prepare_secret(secret)
    timeout = httpx.Timeout(settings.retry.timeout_s, write=settings.retry.timeout_s)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        http = Http(client, vendor.base_url(), title=vendor.title,
                    auth_headers=vendor.auth_headers(credential), secret=credential,
                    env_var=ENV_VARS.get(vendor.name, ""), upload_limit=vendor.upload_limit,
                    detail=vendor.detail, retry=settings.retry)
        job = _Job(vendor, http, store or JobStore(), path, settings, on_progress, source,
                   captions, delete_after)
        task = asyncio.create_task(job.run())
        waiter = asyncio.create_task(cancel.wait()) if cancel else None
        try:
            done, _ = await asyncio.wait({task, waiter} if waiter else {task},
                                         return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await asyncio.shield(job.cancelled())
            raise
        finally:
            if waiter:
                waiter.cancel()
        if task in done:
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise await job.cancelled()

