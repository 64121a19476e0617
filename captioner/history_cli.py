"""``captioner sessions`` and ``captioner export SESSION``: saved transcripts from the command line.

Sessions that were never closed (the app or the machine died) are listed as
"unfinished"; exporting one recovers it first, so nothing that was shown is lost.
"""

from __future__ import annotations

import argparse
import logging

from captioner.errors import UserFacingError
from captioner.providers.translation import normalize
from captioner.transcript import codec, store
from captioner.transcript import export as exporter
from captioner.transcript.files import describe_os_error, write_stdout

log = logging.getLogger(__name__)


def _duration(ms: int) -> str:
    seconds = ms // 1000
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def list_command() -> int:
    summaries = store.list_sessions()
    if not summaries:
        print(f"No saved sessions in {codec.default_dir()}.")
        return 0
    print(f"{'SESSION':<22} {'STARTED':<20} {'LENGTH':>8} {'WORDS':>6}  PROVIDER  STATE")
    for s in summaries:
        state = "live" if s.live else "recovered" if s.recovered else \
            "finished" if s.ended else "unfinished"
        started = s.started_at[:19].replace("T", " ")
        print(f"{s.id:<22} {started:<20} {_duration(s.duration_ms):>8} {s.word_count:>6}  "
              f"{(s.provider or '?'):<9} {state}")
    return 0


def export_command(session_id: str, fmt: str, output: str | None,
                   language: str | None = None) -> int:
    match = [s for s in store.list_sessions() if s.id == session_id]
    if not match:
        raise UserFacingError(f"No saved session {session_id!r}. "
                              "See `captioner sessions` for the list.")
    summary = match[0]
    if not summary.ended and not summary.live:
        try:
            store.mark_recovered(summary.path)
        except OSError as exc:  # a full or read-only disk: export what is there anyway
            log.warning("can't mark %s as recovered: %s", summary.path, exc)
    try:
        record = store.load_session(summary.path)
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


def run_history(args: argparse.Namespace) -> int:
    if args.command == "sessions":
        return list_command()
    return export_command(args.session, args.format, args.output, args.language)
