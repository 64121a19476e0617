"""``captioner transcribe``: a file (or live input) through the same session path the app uses.

Captions are printed as they arrive (on a terminal the partial overwrites its
line; finals print), and the transcript is written in the chosen format. If
the provider fails part-way, what was already final is still written.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TextIO

from captioner.audio.buffer import AudioBuffer
from captioner.config import BYTES_PER_MS, SessionConfig
from captioner.errors import UserFacingError
from captioner.options import ProviderOptions
from captioner.providers import make_provider, title
from captioner.providers.local import LocalOptions
from captioner.providers.translation import parse_targets
from captioner.secrets import ENV_VARS, SecretStoreError, resolve_secret
from captioner.stream import (
    GapAdded,
    Notice,
    State,
    StateChanged,
    StreamEvent,
    TranscriptChanged,
    VendorStream,
)
from captioner.transcript import SOURCE_LABELS, Transcript
from captioner.transcript import export as exporter

log = logging.getLogger(__name__)

BLOCK_MS = 100


class CaptionPrinter:
    """Shows session events in a terminal (or a pipe, finals only)."""

    def __init__(self, out: TextIO, err: TextIO, labels: bool = False) -> None:
        self.out = out
        self.err = err
        self.tty = out.isatty()
        self.labels = labels
        self._partial_shown = False
        self._last_message = ""

    def _say(self, message: str) -> None:
        if message != self._last_message:  # a retry loop repeats itself
            self._clear()
            print(f"captioner: {message}", file=self.err, flush=True)
            self._last_message = message

    def _label(self, source: str) -> str:
        return f"{SOURCE_LABELS.get(source, source)}: " if self.labels else ""

    def _clear(self) -> None:
        if self._partial_shown:
            self.out.write("\r\033[K")
            self._partial_shown = False

    def __call__(self, event: StreamEvent) -> None:
        if isinstance(event, TranscriptChanged):
            seg, tr = event.change.segment, event.change.translation
            if tr is not None and tr.is_final:
                self._clear()
                self.out.write(f"    [{tr.language}] {tr.text}\n")
                self.out.flush()
            if seg is None:
                return
            if seg.is_final:
                self._clear()
                self.out.write(self._label(seg.source) + seg.text + "\n")
            elif self.tty:
                width = shutil.get_terminal_size((80, 24)).columns - 1
                line = self._label(seg.source) + seg.text
                self.out.write("\r\033[K\033[2m" + line[-width:] + "\033[0m")
                self._partial_shown = True
            self.out.flush()
        elif isinstance(event, StateChanged):
            if event.state is State.RECONNECTING and event.message:
                self._say(event.message)
        elif isinstance(event, Notice):
            self._say(event.message)
        elif isinstance(event, GapAdded):
            seconds = (event.gap.end_ms - event.gap.start_ms) / 1000
            self._say(f"{seconds:.1f} s of audio could not be captioned ({event.gap.reason})")


def config_from_args(args: argparse.Namespace) -> SessionConfig:
    vocabulary = tuple(w.strip() for w in (args.vocabulary or "").split(",") if w.strip())
    return SessionConfig(provider=args.provider or "local", language=args.language,
                         endpoint=args.endpoint, vocabulary=vocabulary,
                         speaker_labels=args.speaker_labels,
                         profanity_filter=args.profanity_filter,
                         remove_disfluencies=args.remove_disfluencies,
                         translate_to=parse_targets(getattr(args, "translate", "") or ""),
                         catch_up=getattr(args, "catch_up", None) or "live",
                         options=_options(args))


def _options(args: argparse.Namespace) -> ProviderOptions | None:
    """The provider's options from ``--model/--region/--option``; a file sent to the
    offline engine faster than real time gets its ``enhanced`` operating point (accuracy
    over latency) unless one was chosen."""
    options: ProviderOptions | None = getattr(args, "options", None)
    if (isinstance(options, LocalOptions) and getattr(args, "file", None)
            and not getattr(args, "realtime", False)
            and not any(o.startswith("operating_point=") for o in getattr(args, "option", []))):
        options = replace(options, operating_point="enhanced")
    return options


def secret_for(provider: str) -> str | None:
    """The key to use, or a clear error when a cloud provider has none.

    The offline engine needs no key (only a token for a remote engine), so a
    missing keychain is not an error for it.
    """
    try:
        secret, origin = resolve_secret(provider)
    except SecretStoreError:
        if provider == "local":
            return None
        raise
    if secret:
        log.info("using the %s key from %s", provider, origin or "?")
        return secret
    if provider == "local":
        return None
    raise UserFacingError(f"No API key for {title(provider)}. Save it in the app's Preferences "
                          f"(stored in your keychain) or set {ENV_VARS[provider]}.")


async def feed_pcm(audio: AudioBuffer, pcm: bytes, realtime: bool,
                   on_fed: Callable[[int], None] | None = None) -> None:
    """Put a whole recording into ``audio`` in 100 ms blocks, then close it.

    ``on_fed`` gets the bytes put so far after each block (progress).
    """
    block_bytes = BLOCK_MS * BYTES_PER_MS
    t0 = time.monotonic()
    for pos in range(0, len(pcm), block_bytes):
        if realtime:
            wait_s = t0 + pos / BYTES_PER_MS / 1000 - time.monotonic()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
        else:
            await audio.wait_below(audio.max_bytes // 2)
        audio.put(pcm[pos:pos + block_bytes])
        if on_fed is not None:
            on_fed(min(len(pcm), pos + block_bytes))
    audio.close()


async def transcribe_pcm(cfg: SessionConfig, secret: str | None, pcm: bytes, realtime: bool,
                         transcript: Transcript, listener, *, source: str = "mic",
                         on_fed: Callable[[int], None] | None = None) -> VendorStream:
    """Run one session over a recording; returns the finished session."""
    audio = AudioBuffer()
    session = VendorStream(lambda: make_provider(cfg), audio, transcript, secret=secret,
                           source=source, listener=listener, title=title(cfg.provider),
                           live=realtime, catch_up=cfg.catch_up)
    feeder = asyncio.create_task(feed_pcm(audio, pcm, realtime, on_fed))
    try:
        await session.run()
    finally:
        feeder.cancel()
    return session


def write_output(transcript: Transcript, fmt: str, output: str | None, cfg: SessionConfig,
                 live_to_stdout: bool) -> None:
    meta = {"provider": cfg.provider, "language": cfg.language}
    if output:
        try:
            exporter.export_files(transcript, output, fmt, meta=meta)
        except OSError as exc:
            raise UserFacingError(f"Can't write {output}: {exc.strerror or exc}") from exc
        return
    text = exporter.export(transcript, fmt, meta=meta)
    if not (live_to_stdout and fmt == "txt"):
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")


def run_transcribe(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    secret = secret_for(cfg.provider)
    from captioner.batch.cli import run_batch, uses_batch

    if uses_batch(args, cfg.provider):  # a file for a cloud vendor: its batch API
        return run_batch(args, cfg, secret)
    transcript = Transcript()
    # live captions go to stdout on a terminal or when the transcript goes to a file
    live_to_stdout = sys.stdout.isatty() or bool(args.output)
    printer = CaptionPrinter(sys.stdout if live_to_stdout else sys.stderr, sys.stderr,
                             labels=args.source == "both")
    if args.source:
        from captioner.live import transcribe_live

        session_states = transcribe_live(cfg, secret, args.source, args.device, transcript,
                                         printer, record=getattr(args, "record", False))
    else:
        from captioner.audio.wavfile import read_audio

        pcm = read_audio(args.file)
        session = asyncio.run(transcribe_pcm(cfg, secret, pcm, args.realtime, transcript,
                                             printer))
        session_states = [(session.state, session.message)]
    write_output(transcript, args.format, args.output, cfg, live_to_stdout)
    failures = [message for state, message in session_states if state is State.FAILED]
    if failures:
        raise UserFacingError(failures[0] or "the session failed")
    return 0
