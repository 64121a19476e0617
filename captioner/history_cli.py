"""``captioner sessions``, ``export SESSION`` and ``improve SESSION``: saved transcripts from the
command line.

``sessions`` lists them as the app's Past sessions does (providers used, with
fallbacks; status; sessions without words left out unless ``--all``; ``--search``).
Sessions that were never closed (the app or the machine died) are listed as
"unfinished"; exporting or improving one recovers it first, so nothing that was
shown is lost. A session's improved transcript, when it has one, is what
``export`` writes unless ``--version live`` asks for the live captions.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from captioner.errors import UserFacingError
from captioner.providers.translation import normalize
from captioner.transcript import codec, listing, store
from captioner.transcript import export as exporter
from captioner.transcript.files import describe_os_error, write_stdout
from captioner.transcript.improved import load_version

log = logging.getLogger(__name__)


def _duration(ms: int) -> str:
    seconds = ms // 1000
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def list_command(show_all: bool = False, search: str = "") -> int:
    """``captioner sessions``: as the app's Past sessions lists them (no empty ones unless
    ``show_all``; ``search``: only those whose words, date or provider match)."""
    summaries = store.list_sessions()
    hidden = 0
    if not show_all:
        summaries, hidden = listing.listed(summaries)
    if search:
        summaries = [s for s in summaries if listing.matches(
            search, s.started_at, listing.providers_text(s.providers), listing.session_text(s))]
    if not summaries:
        print(f"No saved sessions match {search!r}." if search else
              f"No saved sessions in {codec.default_dir()}.")
    else:
        rows = [(s.id, s.started_at[:19].replace("T", " "), _duration(s.duration_ms),
                 str(s.word_count), listing.providers_text(s.providers),
                 ", ".join([listing.state_of(s), *listing.extras_of(s)])) for s in summaries]
        width = max(8, *(len(r[4]) for r in rows))
        print(f"{'SESSION':<22} {'STARTED':<20} {'LENGTH':>8} {'WORDS':>6}  "
              f"{'PROVIDER':<{width}}  STATUS")
        for sid, started, length, words, used, status in rows:
            print(f"{sid:<22} {started:<20} {length:>8} {words:>6}  {used:<{width}}  {status}")
    if hidden:
        print(f"captioner: {hidden} session{'s' if hidden != 1 else ''} with no words not "
              "shown (`captioner sessions --all` lists them).", file=sys.stderr)
    return 0


def _find(session_id: str) -> store.SessionSummary:
    match = [s for s in store.list_sessions() if s.id == session_id]
    if not match:
        raise UserFacingError(f"No saved session {session_id!r}. "
                              "See `captioner sessions` for the list.")
    return match[0]


def export_command(session_id: str, fmt: str, output: str | None,
                   language: str | None = None, version: str | None = None) -> int:
    summary = _find(session_id)
    if not summary.ended and not summary.live:
        try:
            store.mark_recovered(summary.path)
        except OSError as exc:  # a full or read-only disk: export what is there anyway
            log.warning("can't mark %s as recovered: %s", summary.path, exc)
    if language is not None and version is None:
        version = "live"  # live translations belong to the live captions
    try:
        record = load_version(summary.path, version)
    except OSError as exc:
        raise UserFacingError(f"Can't read session {session_id}: "
                              f"{describe_os_error(exc)}.") from exc
    if language is not None:
        language = normalize(language)
        have = exporter.languages(record)
        if language not in have:
            has = f"it has {', '.join(have)}" if have else "it has no live translation"
            raise UserFacingError(f"Session {session_id} has no translation into {language}; "
                                  f"{has}.")
    if output:
        # ExportError: one line, exit 1
        if language is None:
            exporter.export_files(record, output, fmt)
        else:
            exporter.export_file(record, output, fmt, language=language)
        return 0
    write_stdout(exporter.export(record, fmt, language=language))
    return 0


class _ProgressLine:
    """Improvement progress on a terminal's stderr, rewritten in place; nothing when piped."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = False

    def __call__(self, progress: object) -> None:
        if not self.tty:
            return
        fraction = getattr(progress, "fraction", 0.0)
        message = getattr(progress, "message", "")
        sys.stderr.write(f"\r\033[Kcaptioner: improving… {fraction:4.0%}  {message}")
        sys.stderr.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def improve_command(args: argparse.Namespace) -> int:
    from captioner.config import SessionConfig
    from captioner.improve import improve_session
    from captioner.transcribe import secret_for

    summary = _find(args.session)
    vocabulary = tuple(w.strip() for w in (args.vocabulary or "").split(",") if w.strip())
    local = args.provider == "local"
    cfg = SessionConfig(provider=args.provider, language=summary.language or "en",
                        endpoint=args.endpoint if local else None, vocabulary=vocabulary,
                        speaker_labels=args.speaker_labels,
                        options=None if local else getattr(args, "options", None))
    secret = secret_for(cfg.provider)
    progress = _ProgressLine()

    async def main() -> store.SessionRecord:
        loop = asyncio.get_running_loop()
        cancel = asyncio.Event()
        # NB: signal.signal (not loop.add_signal_handler, missing on Windows)
        previous = signal.signal(signal.SIGINT, lambda *_: loop.call_soon_threadsafe(cancel.set))
        try:
            return await improve_session(summary.path, cfg, secret, on_progress=progress,
                                         cancel=cancel, endpoint=None if local else args.endpoint)
        finally:
            signal.signal(signal.SIGINT, previous)

    try:
        record = asyncio.run(main())
    finally:
        progress.done()
    live = store.load_session(summary.path)
    print(f"captioner: improved transcript of {summary.id} saved: {record.word_count} words "
          f"in {len(record.segments)} lines (live: {live.word_count} words). "
          f"`captioner export {summary.id}` exports it; add `--version live` for the live "
          "captions.", file=sys.stderr)
    return 0


def run_history(args: argparse.Namespace) -> int:
    if args.command == "sessions":
        return list_command(getattr(args, "all", False), getattr(args, "search", "") or "")
    if args.command == "improve":
        return improve_command(args)
    return export_command(args.session, args.format, args.output, args.language, args.version)
