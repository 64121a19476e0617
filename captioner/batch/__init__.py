"""Batch (pre-recorded) transcription of audio files through the vendors' asynchronous APIs.

Qt-free. One module per vendor (:mod:`.revai`, :mod:`.assemblyai`,
:mod:`.speechmatics`, :mod:`.deepgram`) over one job engine (:mod:`.engine`):
submit the file, remember the job, poll, fetch words with times and speakers.
:func:`transcribe_file` is the entry point for the CLI and the GUI.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from pathlib import Path

from captioner.batch.engine import (
    BatchCancelled,
    BatchProgress,
    BatchResult,
    BatchVendor,
    EngineSettings,
    run_job,
)
from captioner.batch.http import BatchError
from captioner.batch.jobs import JobStore
from captioner.config import SessionConfig

__all__ = [
    "BATCH_PROVIDERS",
    "BatchCancelled",
    "BatchError",
    "BatchProgress",
    "BatchResult",
    "EngineSettings",
    "JobStore",
    "make_vendor",
    "transcribe_file",
]

_VENDORS = {
    "revai": ("captioner.batch.revai", "RevAiBatch"),
    "assemblyai": ("captioner.batch.assemblyai", "AssemblyAiBatch"),
    "speechmatics": ("captioner.batch.speechmatics", "SpeechmaticsBatch"),
    "deepgram": ("captioner.batch.deepgram", "DeepgramBatch"),
}
#: providers with a batch API
BATCH_PROVIDERS = tuple(_VENDORS)


def make_vendor(provider: str, cfg: SessionConfig, endpoint: str | None = None) -> BatchVendor:
    """The batch client of ``provider``.

    Raises:
        BatchError: ``provider`` has no batch API (the offline engine).
    """
    try:
        module, cls = _VENDORS[provider]
    except KeyError:
        raise BatchError(f"{provider} has no batch API; choose one of "
                         f"{', '.join(BATCH_PROVIDERS)}") from None
    vendor: BatchVendor = getattr(importlib.import_module(module), cls)(cfg, endpoint)
    return vendor


async def transcribe_file(path: Path, provider: str, cfg: SessionConfig, secret: str | None, *,
                          source: str = "mic",
                          on_progress: Callable[[BatchProgress], None] | None = None,
                          cancel: asyncio.Event | None = None,
                          endpoint: str | None = None,
                          captions: tuple[str, ...] = (),
                          delete_after: bool = False,
                          jobs: JobStore | None = None,
                          settings: EngineSettings | None = None) -> BatchResult:
    """Transcribe a recording with a vendor's batch API.

    The job id is saved before polling starts: calling this again for the
    same file, vendor and options (after a crash or restart) resumes waiting
    on that job instead of submitting and paying again.

    Args:
        path: the audio file, sent as it is (WAV, FLAC, Opus, MP3 …).
        provider: ``"revai"``, ``"assemblyai"``, ``"speechmatics"`` or ``"deepgram"``.
        cfg: language, vocabulary, speaker labels, profanity filter, options.
        secret: the vendor key (``captioner.secrets.resolve_secret``), or None.
        source: the segments' source (``"mic"`` or ``"system"``).
        on_progress: called on the loop with each :class:`BatchProgress`.
        cancel: set it to cancel; the remote job is deleted where the API allows.
        endpoint: REST base URL overriding the vendor's (EU host, a fake); ``cfg.endpoint``
            is the streaming URL and is not used.
        captions: the vendor's own caption formats to fetch too (``("srt", "vtt")``).
        delete_after: delete the job at the vendor once its transcript is fetched.
        jobs: where jobs are remembered (default: the user data folder).
        settings: engine timing (tests).

    Raises:
        BatchCancelled: ``cancel`` was set.
        BatchError: a failure to show as is (bad key, no credit, file too large, …).
    """
    vendor = make_vendor(provider, cfg, endpoint)
    return await run_job(vendor, Path(path), secret, source=source, on_progress=on_progress,
                         cancel=cancel, captions=captions, delete_after=delete_after,
                         store=jobs, settings=settings)
