"""Improve transcript: re-transcribe a session's recording, more accurately, as a second version.

Every recorded stretch of every source is its own job, so "Me" and "Others"
stay apart (:func:`captioner.transcript.codec.audio_parts`). With the offline
engine the recording is streamed to it as fast as it accepts, asking for its
``enhanced`` operating point (beam search over whole utterances; a larger
model when one is installed); with a cloud vendor it goes through the vendor's
batch API (:mod:`captioner.batch`). Each job's times are shifted by its
stretch's start, so the improved version lines up with the live one; segment
ids are numbered anew per source. The result is saved beside the journal
(:func:`captioner.transcript.improved.save_improved`); the live journal is
never changed, and a cancelled or failed run leaves no improved file behind.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from captioner.audio import recorder
from captioner.config import BYTES_PER_MS, PROVIDER_TITLES, SessionConfig
from captioner.errors import UserFacingError
from captioner.options import options_of
from captioner.providers.local import LocalOptions
from captioner.stream import State
from captioner.transcript import SOURCE_LABELS, Segment, Transcript, codec, store
from captioner.transcript.improved import save_improved

log = logging.getLogger(__name__)

CANCEL_WAIT_S = 30.0  # for a vendor to confirm a cancelled job is deleted


class ImproveCancelled(UserFacingError):
    """The user cancelled; the live transcript is as it was and nothing was saved."""

    def __init__(self) -> None:
        super().__init__("Improving was cancelled; the session is as it was.")


@dataclass(frozen=True)
class Part:
    """One recorded stretch: a separate job.

    Attributes:
        source: ``"mic"`` or ``"system"``.
        start_ms: where it begins in session time.
        path: its FLAC file.
        duration_ms: its length.
    """

    source: str
    start_ms: int
    path: Path
    duration_ms: int


@dataclass(frozen=True)
class Progress:
    """How far an improvement is.

    Attributes:
        fraction: 0..1 of all recorded audio.
        message: in words ("Me: 1:10 of 3:00").
    """

    fraction: float
    message: str


ProgressCallback = Callable[[Progress], None]
Reporter = Callable[..., None]  # (part, ms, note): how far one job is


def _clock(ms: int) -> str:
    seconds = ms // 1000
    return f"{seconds // 60}:{seconds % 60:02d}"


def plan(journal_path: Path) -> list[Part]:
    """The recorded stretches of a session, by source then time.

    Raises:
        UserFacingError: it has no recording, or it is being captioned now.
    """
    session_id = journal_path.name[: -len(codec.SUFFIX)]
    summary = store.summarize(journal_path)
    if summary.live:
        raise UserFacingError(f"Session {session_id} is still being captioned. Stop it first, "
                              "then improve its transcript.")
    parts = []
    for source, start_ms, path in codec.audio_parts(journal_path.parent, session_id):
        try:
            length_ms = recorder.duration_ms(path)
        except (OSError, ValueError) as exc:
            log.warning("skipping the unreadable recording %s: %s", path.name, exc)
            continue
        if length_ms > 0:
            parts.append(Part(source, start_ms, path, length_ms))
    if not parts:
        raise UserFacingError(f"Session {session_id} has no recording to improve. Turn on "
                              "recording (Preferences, or --record) before captioning.")
    return parts


def _shifted(segments: list[Segment], part: Part, first_index: int,
             speakers: bool) -> list[Segment]:
    """A job's segments in session time, labelled with its source, numbered on.

    Without ``speakers`` (the user did not ask for speaker labels) the
    vendor's diarization is dropped, so lines say "Me" and "Others".
    """
    out = []
    for index, seg in enumerate(segments, start=first_index):
        words = tuple(replace(w, start_ms=w.start_ms + part.start_ms,
                              end_ms=w.end_ms + part.start_ms,
                              speaker=w.speaker if speakers else None) for w in seg.words)
        out.append(replace(seg, id=f"{part.source}-{index}", source=part.source,
                           start_ms=seg.start_ms + part.start_ms,
                           end_ms=seg.end_ms + part.start_ms, words=words, is_final=True,
                           speaker=seg.speaker if speakers else None))
    return out


async def _offline_part(part: Part, cfg: SessionConfig, secret: str | None,
                        on_fed: Callable[[int], None]) -> list[Segment]:
    from captioner.transcribe import transcribe_pcm

    pcm = await asyncio.to_thread(recorder.read_pcm, part.path)
    transcript = Transcript()
    session = await transcribe_pcm(cfg, secret, pcm, False, transcript, None, source=part.source,
                                   on_fed=lambda fed: on_fed(fed // BYTES_PER_MS))
    if session.state is State.FAILED:
        raise UserFacingError(session.message or "The offline engine failed.")
    return list(transcript.finals)


async def _batch_part(part: Part, cfg: SessionConfig, secret: str | None,
                      endpoint: str | None, cancel: asyncio.Event,
                      report: Reporter) -> list[Segment]:
    from captioner.batch import BatchCancelled, BatchProgress, transcribe_file

    await asyncio.to_thread(recorder.repair, part.path)  # a complete header for the vendor

    def on_progress(progress: BatchProgress) -> None:
        # the upload is the first half of a job; the vendor's work the second
        if progress.stage == "uploading" and progress.total_bytes:
            sent = progress.sent_bytes / progress.total_bytes
            report(part, int(part.duration_ms * sent / 2), f"uploading {sent:.0%}")
        elif progress.stage in ("queued", "processing", "downloading"):
            report(part, part.duration_ms // 2,
                   f"{progress.stage} at {PROVIDER_TITLES.get(cfg.provider)} "
                   f"({progress.elapsed_s:.0f} s)")

    try:
        result = await transcribe_file(part.path, cfg.provider, cfg, secret, source=part.source,
                                       on_progress=on_progress, cancel=cancel,
                                       endpoint=endpoint)
    except BatchCancelled:
        raise ImproveCancelled() from None
    return list(result.segments)


async def _jobs(parts: list[Part], cfg: SessionConfig, secret: str | None,
                endpoint: str | None, cancel: asyncio.Event,
                report: Reporter) -> list[Segment]:
    segments: list[Segment] = []
    counts: dict[str, int] = {}
    for part in parts:
        report(part, 0, "")
        if cfg.provider == "local":
            found = await _offline_part(part, cfg, secret, functools.partial(report, part,
                                                                             note=""))
        else:
            found = await _batch_part(part, cfg, secret, endpoint, cancel, report)
        report(part, part.duration_ms, "")
        segments += _shifted(found, part, counts.get(part.source, 0) + 1, cfg.speaker_labels)
        counts[part.source] = counts.get(part.source, 0) + len(found)
    return segments


async def improve_session(journal_path: Path, cfg: SessionConfig, secret: str | None, *,
                          on_progress: ProgressCallback | None = None,
                          cancel: asyncio.Event | None = None,
                          endpoint: str | None = None) -> store.SessionRecord:
    """Re-transcribe a recorded session with ``cfg.provider`` and save the improved version.

    Args:
        journal_path: the session's journal.
        cfg: the provider settings (for the offline engine the enhanced
            operating point is added); the language is the session's.
        secret: the provider's key (None for the offline engine).
        on_progress: called on this loop with each :class:`Progress`.
        cancel: set it to stop; then :class:`ImproveCancelled` is raised (a
            vendor's job is deleted where its API allows).
        endpoint: a batch vendor's REST base URL (EU host, a fake); None for
            the vendor's own. (The offline engine's URL is ``cfg.endpoint``.)

    Returns:
        The improved version as a session record.

    Raises:
        UserFacingError: no recording, a live session, the provider failed
            (message for the user); :class:`ImproveCancelled`.
    """
    parts = await asyncio.to_thread(plan, journal_path)
    summary = store.summarize(journal_path)
    if not summary.ended:
        await asyncio.to_thread(store.mark_recovered, journal_path)  # completes the headers
    live = await asyncio.to_thread(store.load_session, journal_path)
    cfg = replace(cfg, language=str(live.meta.get("language") or cfg.language))
    if cfg.provider == "local":
        # no fixed "model": with enhanced the engine takes its larger one when installed
        local = options_of(cfg.options, LocalOptions)
        cfg = replace(cfg, options=replace(local, model="", operating_point="enhanced"))
    total_ms = sum(p.duration_ms for p in parts)
    done_before: dict[int, int] = {}
    offset = 0
    for index, part in enumerate(parts):
        done_before[index] = offset
        offset += part.duration_ms

    last: list[Progress] = []

    def report(part: Part, ms: int, note: str) -> None:
        if on_progress is None:
            return
        done = done_before[parts.index(part)] + min(ms, part.duration_ms)
        label = SOURCE_LABELS.get(part.source, part.source)
        where = note or f"{_clock(min(ms, part.duration_ms))} of {_clock(part.duration_ms)}"
        progress = Progress(round(done / total_ms, 3) if total_ms else 1.0, f"{label}: {where}")
        if not last or progress != last[0]:  # an hour's recording: ~1000 updates, not 36,000
            last[:] = [progress]
            on_progress(progress)

    cancel = cancel or asyncio.Event()
    job = asyncio.create_task(_jobs(parts, cfg, secret, endpoint, cancel, report),
                              name="improve")
    waiter = asyncio.create_task(cancel.wait(), name="improve-cancel")
    try:
        await asyncio.wait({job, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not job.done() and cfg.provider != "local":
            # a batch job sees the same event: give it time to delete the remote job
            await asyncio.wait({job}, timeout=CANCEL_WAIT_S)
    finally:
        waiter.cancel()
        if not job.done():
            job.cancel()
        await asyncio.gather(job, waiter, return_exceptions=True)
    if job.cancelled() or isinstance(job.exception(), ImproveCancelled):
        log.info("improving %s cancelled", live.id)
        raise ImproveCancelled()
    segments = job.result()
    how: dict[str, Any] = {"provider": cfg.provider, "parts": len(parts),
                           "audio_ms": total_ms}
    if cfg.provider == "local":
        how["operating_point"] = "enhanced"
    path = await asyncio.to_thread(save_improved, journal_path, segments, live.meta, how)
    return await asyncio.to_thread(store.load_session, path)
