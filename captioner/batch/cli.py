"""``captioner transcribe FILE`` through a vendor's batch API: a progress bar, then the transcript.

:func:`uses_batch` says whether a ``transcribe`` call goes this way (a file, a
cloud vendor, no ``--streaming``/``--realtime``); :func:`run_batch` runs it. On
a terminal stderr shows a progress bar (upload %, then queued/processing with
the elapsed time); piped, nothing but the result and errors. The transcript
goes through captioner's own exporters (speakers labelled), or with
``--vendor-captions`` the vendor's own SRT/VTT where it offers one. Ctrl-C
cancels: the remote job is deleted where the vendor allows (a second Ctrl-C
quits at once); a crash or kill leaves the job saved, so running the same
command again resumes it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from captioner.batch import (
    BATCH_PROVIDERS,
    BatchCancelled,
    BatchProgress,
    BatchResult,
    transcribe_file,
)
from captioner.config import SessionConfig
from captioner.errors import UserFacingError
from captioner.providers import title
from captioner.transcript import export as exporter

STAGE_WORDS = {"queued": "queued at", "processing": "transcribing at",
               "downloading": "fetching the transcript from"}


def uses_batch(args: argparse.Namespace, provider: str) -> bool:
    """Whether ``transcribe`` sends the file to the vendor's batch API.

    Live translation (``--translate``) is a streaming feature, so it keeps the
    streaming path, as do ``--streaming`` and ``--realtime``.
    """
    return (bool(getattr(args, "file", None)) and not getattr(args, "source", None)
            and provider in BATCH_PROVIDERS and not getattr(args, "streaming", False)
            and not getattr(args, "realtime", False) and not getattr(args, "translate", ""))


class ProgressBar:
    """A tqdm bar on a terminal: bytes while uploading, then the stage and elapsed time."""

    def __init__(self, err: TextIO, vendor: str) -> None:
        self.err = err
        self.vendor = vendor
        self.enabled = err.isatty()
        self._bar: Any = None
        self._stage = ""
        self._ticker: asyncio.Task[None] | None = None

    def __call__(self, p: BatchProgress) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if p.stage == "uploading":
            if self._stage != "uploading":
                self._close()
                self._bar = tqdm(total=p.total_bytes, unit="B", unit_scale=True,
                                 unit_divisor=1024, desc=f"Uploading to {self.vendor}",
                                 file=self.err, leave=False, dynamic_ncols=True)
            self._bar.n = p.sent_bytes
            self._bar.refresh()
        elif p.stage in STAGE_WORDS:
            if p.stage != self._stage:
                self._close()
                job = f" (job {p.job_id}{', resumed' if p.resumed else ''})" if p.job_id else ""
                self._bar = tqdm(total=None, desc=f"{STAGE_WORDS[p.stage].capitalize()} "
                                 f"{self.vendor}{job}", bar_format="{desc}: {elapsed}",
                                 file=self.err, leave=False)
                if self._ticker is None:
                    self._ticker = asyncio.get_running_loop().create_task(self._tick())
        else:
            self._close()
        self._stage = p.stage

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            if self._bar is not None and self._stage in STAGE_WORDS:
                self._bar.refresh()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        self._close()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None


async def _transcribe(path: Path, cfg: SessionConfig, secret: str | None,
                      args: argparse.Namespace, bar: ProgressBar) -> BatchResult:
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_sigint() -> None:
        print("\ncaptioner: cancelling (Ctrl-C again to quit at once) …", file=sys.stderr,
              flush=True)
        cancel.set()
        loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C is a KeyboardInterrupt

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
        pass
    captions = (args.format,) if getattr(args, "vendor_captions", False) else ()
    try:
        return await transcribe_file(path, cfg.provider, cfg, secret, on_progress=bar,
                                     cancel=cancel, endpoint=cfg.endpoint, captions=captions,
                                     delete_after=getattr(args, "delete_job", False))
    finally:
        bar.close()
        try:
            loop.remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError):
            pass


def run_batch(args: argparse.Namespace, cfg: SessionConfig, secret: str | None) -> int:
    """Transcribe ``args.file`` with ``cfg.provider``'s batch API and write the result.

    Returns:
        0, or 130 when cancelled.
    Raises:
        UserFacingError: the file is missing, the vendor refused, the output can't be written.
    """
    path = Path(args.file)
    if not path.is_file():
        raise UserFacingError(f"{path}: no such file.")
    vendor = title(cfg.provider)
    bar = ProgressBar(sys.stderr, vendor)
    try:
        result = asyncio.run(_transcribe(path, cfg, secret, args, bar))
    except BatchCancelled as exc:
        print(f"captioner: {exc}", file=sys.stderr)
        return 130
    text = result.vendor_captions.get(args.format)
    if getattr(args, "vendor_captions", False) and text is None:
        what = f"{args.format.upper()} captions" if args.format in ("srt", "vtt") \
            else f"{args.format.upper()} output (only SRT/VTT captions)"
        print(f"captioner: {vendor} offers no {what} of its own; writing captioner's",
              file=sys.stderr)
    if text is None:
        meta = {**result.meta, "language": result.meta.get("language", cfg.language)}
        text = exporter.export(result.segments, args.format, meta=meta)
    if args.output:
        try:
            exporter.write_atomic(args.output, text)
        except (OSError, exporter.ExportError) as exc:
            raise UserFacingError(f"Can't write {args.output}: {exc}") from exc
        seconds = (result.meta.get("duration_ms") or
                   (result.segments[-1].end_ms if result.segments else 0)) / 1000
        print(f"captioner: wrote {args.output} ({len(result.segments)} segments, "
              f"{int(seconds // 60)}:{int(seconds % 60):02d} of audio, {vendor})",
              file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    write_translations(result, args.format, args.output, vendor)
    return 0


def write_translations(result: BatchResult, fmt: str, output: str | None, vendor: str) -> None:
    """The vendor's translations beside the transcript: ``talk.<language>.<ext>`` each.

    Raises:
        UserFacingError: a file can't be written.
    """
    if not result.translations:
        return
    if not output:
        print(f"captioner: the translations ({', '.join(result.translations)}) are written "
              "as files: add -o FILE", file=sys.stderr)
        return
    for language, segments in result.translations.items():
        path = exporter.translated_path(output, language)
        meta = {**result.meta, "language": language,
                "translated_from": result.meta.get("language")}
        try:
            exporter.write_atomic(path, exporter.export(segments, fmt, meta=meta))
        except (OSError, exporter.ExportError) as exc:
            raise UserFacingError(f"Can't write {path}: {exc}") from exc
        print(f"captioner: wrote {path} ({len(segments)} segments, {language} translation by "
              f"{vendor})", file=sys.stderr)
