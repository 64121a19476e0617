"""``captioner transcribe``: a file (or live input) through the same session path the app uses.

Captions are printed as they arrive (on a terminal the partial overwrites its
line; finals print), and the transcript is written in the chosen format. If
the provider fails part-way, what was already final is still written.

Like the app, every run keeps a session journal (``captioner sessions`` /
``export`` recover a killed run): each final is on disk before it is printed,
and fsynced at least once a second; ``--no-journal`` opts a file out.
SIGINT, SIGTERM and SIGHUP end a run cleanly (the last words are finished,
``-o`` is written); a second signal quits at once. Exit codes: 0 done (live
input always ends this way), 128 + the signal when a file was stopped before
its end (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP), 1 a failure (one line).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TextIO

from captioner import __version__
from captioner.audio.buffer import AudioBuffer
from captioner.audio.recorder import Recorder
from captioner.config import BYTES_PER_MS, SessionConfig
from captioner.errors import UserFacingError
from captioner.live import SOURCES, Listener, run_live
from captioner.options import ProviderOptions
from captioner.providers import make_provider, title
from captioner.providers.local import LocalOptions
from captioner.providers.translation import parse_targets
from captioner.providers.wire import endpoint_problem
from captioner.secrets import ENV_VARS, SecretStoreError, resolve_secret
from captioner.stopsignals import SignalOutcome, run_until_signalled
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
from captioner.transcript.files import write_stdout
from captioner.transcript.journal import Journal, WriteThenShow

log = logging.getLogger(__name__)

BLOCK_MS = 100
JOURNAL_SYNC_S = 1.0


class CaptionPrinter:
    """Shows session events in a terminal (or a pipe, finals only)."""

    def __init__(self, out: TextIO, err: TextIO, labels: bool = False) -> None:
        self.out = out
        self.err = err
        self.tty = out.isatty()
        self.labels = labels
        self._partial_shown = False
        self._last_message = ""
        self._broken = False

    def notify(self, message: str) -> None:
        """One ``captioner: ...`` line on stderr (a repeat of the last one is skipped)."""
        if message != self._last_message:  # a retry loop repeats itself
            self._clear()
            self._write(self.err, f"captioner: {message}\n")
            self._last_message = message

    def _write(self, stream: TextIO, text: str) -> None:
        # NB: after SIGHUP the terminal is gone (EIO); after a closed pipe, EPIPE.
        # Captioning and the journal carry on; there is just nobody to show it to.
        if self._broken:
            return
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            self._broken = True

    def _label(self, source: str) -> str:
        return f"{SOURCE_LABELS.get(source, source)}: " if self.labels else ""

    def _clear(self) -> None:
        if self._partial_shown:
            self._write(self.out, "\r\033[K")
            self._partial_shown = False

    def __call__(self, event: StreamEvent) -> None:
        if isinstance(event, TranscriptChanged):
            seg, tr = event.change.segment, event.change.translation
            if tr is not None and tr.is_final:
                self._clear()
                self._write(self.out, f"    [{tr.language}] {tr.text}\n")
            if seg is None:
                return
            if seg.is_final:
                self._clear()
                self._write(self.out, self._label(seg.source) + seg.text + "\n")
            elif self.tty:
                width = shutil.get_terminal_size((80, 24)).columns - 1
                line = self._label(seg.source) + seg.text
                self._write(self.out, "\r\033[K\033[2m" + line[-width:] + "\033[0m")
                self._partial_shown = True
        elif isinstance(event, StateChanged):
            if event.state in (State.RECONNECTING, State.DEGRADED) and event.message:
                self.notify(event.message)
        elif isinstance(event, Notice):
            self.notify(event.message)
        elif isinstance(event, GapAdded):
            seconds = (event.gap.end_ms - event.gap.start_ms) / 1000
            self.notify(f"{seconds:.1f} s of audio could not be captioned ({event.gap.reason})")


def config_from_args(args: argparse.Namespace) -> SessionConfig:
    """The session settings from the command line.

    Raises:
        UserFacingError: an endpoint that can never work (bad URL, port, scheme).
    """
    problem = endpoint_problem(args.endpoint)
    if problem:
        raise UserFacingError(problem)
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
                         transcript: Transcript, listener: Listener | None,
                         stop: asyncio.Event | None = None, *, source: str = "mic",
                         on_fed: Callable[[int], None] | None = None) -> VendorStream:
    """Run one session over a recording; returns the finished session.

    Setting ``stop`` ends the input early: what was sent is finished and kept.
    ``on_fed`` gets the bytes fed so far (progress).
    """
    audio = AudioBuffer()
    session = VendorStream(lambda: make_provider(cfg), audio, transcript, secret=secret,
                           source=source, listener=listener, title=title(cfg.provider),
                           live=realtime, catch_up=cfg.catch_up)
    feeder = asyncio.create_task(feed_pcm(audio, pcm, realtime, on_fed))

    async def stop_feeding() -> None:
        await (stop or asyncio.Event()).wait()
        feeder.cancel()
        audio.close()  # → end-of-stream after what is already buffered

    stopper = asyncio.create_task(stop_feeding())
    try:
        await session.run()
    finally:
        feeder.cancel()
        stopper.cancel()
        await asyncio.gather(feeder, stopper, return_exceptions=True)
    return session


class Journaled:
    """Finals, gaps and final translations go to the journal, and each event is printed
    only once its line has been written (as in the app), without waiting on the disk.

    Loop thread only. Every second it asks the journal to retry a failing disk
    and says (once) when the transcript can't be saved.
    """

    def __init__(self, journal: Journal, printer: CaptionPrinter,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.journal = journal
        self.printer = printer
        self._shown = WriteThenShow(journal, printer, loop.call_soon_threadsafe)
        self._watch = loop.create_task(self._watch_health())

    def __call__(self, event: StreamEvent) -> None:
        seq = 0
        if isinstance(event, TranscriptChanged):
            seg, tr = event.change.segment, event.change.translation
            if seg is not None and seg.is_final and self.journal.append_final(seg):
                seq = self.journal.appended_seq
            if tr is not None and tr.is_final and self.journal.append_translation(tr):
                seq = self.journal.appended_seq
        elif isinstance(event, GapAdded) and self.journal.append_gap(event.gap):
            seq = self.journal.appended_seq
        elif isinstance(event, StateChanged) and event.state is State.DEGRADED:
            self.journal.note_provider("local", "standby")  # for `captioner sessions`
        self._shown.submit(event, seq)

    async def aclose(self) -> None:
        """Print what still waits for the disk (the run is over)."""
        self._watch.cancel()
        await asyncio.to_thread(self.journal.flush)
        self._shown.close()

    async def _watch_health(self) -> None:
        reported = ""
        while True:
            await asyncio.sleep(JOURNAL_SYNC_S)
            error = "" if self.journal.sync() else self.journal.last_error
            if error and error != reported:
                self.printer.notify(error)
            reported = error


def write_output(transcript: Transcript, fmt: str, output: str | None, cfg: SessionConfig,
                 live_to_stdout: bool) -> None:
    meta = {"provider": cfg.provider, "language": cfg.language}
    if output:
        exporter.export_files(transcript, output, fmt, meta=meta)  # ExportError: one line
        return
    text = exporter.export(transcript, fmt, meta=meta)
    if not (live_to_stdout and fmt == "txt"):
        write_stdout(text)


def open_journal(cfg: SessionConfig, sources: list[str], args: argparse.Namespace
                 ) -> Journal | None:
    if getattr(args, "no_journal", False):
        return None
    meta = {"provider": cfg.provider, "language": cfg.language, "sources": sources,
            "app": f"captioner {__version__} transcribe"}
    if args.file:
        meta["input"] = os.path.basename(args.file)
    return Journal.create(None, meta)


def run_transcribe(args: argparse.Namespace) -> int:
    """``captioner transcribe``; returns the exit code (see the module docstring)."""
    cfg = config_from_args(args)
    secret = secret_for(cfg.provider)
    from captioner.batch.cli import run_batch, uses_batch

    if uses_batch(args, cfg.provider):  # a file for a cloud vendor: its batch API
        return run_batch(args, cfg, secret)
    pcm = b""
    if not args.source:
        from captioner.audio.wavfile import read_audio

        pcm = read_audio(args.file)
    transcript = Transcript()
    # live captions go to stdout on a terminal or when the transcript goes to a file
    live_to_stdout = sys.stdout.isatty() or bool(args.output)
    printer = CaptionPrinter(sys.stdout if live_to_stdout else sys.stderr, sys.stderr,
                             labels=args.source == "both")
    sources = list(SOURCES[args.source]) if args.source else ["mic"]
    journal = open_journal(cfg, sources, args)
    recorder: Recorder | None = None
    if journal is not None and args.source and getattr(args, "record", False):
        recorder = Recorder(journal.dir, journal.id)  # FLAC beside the journal
    outcome = SignalOutcome()

    async def main(stop: asyncio.Event) -> list[tuple[State, str]]:
        journaled = Journaled(journal, printer, asyncio.get_running_loop()) if journal else None
        listener: Listener = journaled or printer
        try:
            if args.source:
                sessions = await run_live(cfg, secret, args.source, args.device, transcript,
                                          listener, stop, recorder=recorder)
                return [(s.state, s.message) for s in sessions.values()]
            session = await transcribe_pcm(cfg, secret, pcm, args.realtime, transcript,
                                           listener, stop)
            return [(session.state, session.message)]
        finally:
            if journaled is not None:
                await journaled.aclose()

    if args.source and (sys.stdin.isatty() or sys.stderr.isatty()):
        what = " and recording" if recorder else ""
        saved = f" Saved as you go: session {journal.id}." if journal else ""
        printer.notify(f"captioning{what} live; press Ctrl-C to stop.{saved}")
    try:
        session_states = asyncio.run(run_until_signalled(main, outcome)) or []
    finally:
        if recorder is not None:
            recorder.close()
            if recorder.error:
                printer.notify(recorder.error)
        if journal is not None and not journal.close():
            printer.notify(journal.last_error or "Part of the transcript could not be saved.")
        elif recorder is not None and journal is not None:
            printer.notify(f"saved session {journal.id} with its recording; "
                           f"`captioner improve {journal.id}` re-transcribes it more accurately.")
    write_output(transcript, args.format, args.output, cfg, live_to_stdout)
    failures = [message for state, message in session_states if state is State.FAILED]
    if failures:
        raise UserFacingError(failures[0] or "the session failed")
    if outcome.signum is not None and not args.source:
        return outcome.exit_code  # the file was not captioned to its end
    return 0
