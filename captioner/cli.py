"""The ``captioner`` command line: gui (default), transcribe, devices, providers, serve, sessions,
export, improve.

Exit codes: 0 ok, 2 usage error (argparse), 1 runtime failure with a one-line
reason on stderr. Heavy imports (Qt, PortAudio, the model) happen inside the
subcommand that needs them, so ``--help`` and ``--version`` are instant.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from types import TracebackType

from captioner import __version__
from captioner.config import PROVIDERS
from captioner.errors import UserFacingError
from captioner.options import OptionError
from captioner.providers_cli import options_from_args, print_providers

log = logging.getLogger(__name__)

ENGINE_TOKEN_ENV = "CAPTIONER_ENGINE_TOKEN"

FORMATS = ("txt", "srt", "vtt", "json")


class CliError(UserFacingError):
    """A runtime failure to report as one line on stderr (exit 1)."""


def _add_session_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", choices=PROVIDERS, default=None,
                   help="speech service (default: the offline engine, or the saved choice)")
    p.add_argument("--endpoint", metavar="URL",
                   help="WebSocket URL overriding the provider's (EU host, self-hosted, a fake)")
    p.add_argument("--language", default="en",
                   help="language code (default: en; auto = detect, offline engine with "
                   "the multilingual model)")
    p.add_argument("--model", metavar="NAME",
                   help="the provider's model (see `captioner providers`): for the offline "
                   "engine tiny.en (default) or base (multilingual: pip install "
                   "'captioner[multilingual]')")
    p.add_argument("--vocabulary", metavar="WORDS", default="",
                   help="comma-separated custom words / key terms")
    p.add_argument("--speaker-labels", action="store_true", help="ask for speaker labels")
    p.add_argument("--profanity-filter", action="store_true", help="mask profanity where offered")
    p.add_argument("--remove-disfluencies", action="store_true",
                   help="drop filler words (um, uh) where offered")
    p.add_argument("--region", help="the provider's region, e.g. eu or us")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a provider option (repeatable; `captioner providers` lists them)")
    p.add_argument("--catch-up", choices=("live", "complete"), default="live",
                   help="live input, after a dropped connection: 'live' (default) skips what "
                   "can't be caught up within seconds, as a marked gap; 'complete' keeps every "
                   "word, at the vendor's pace")
    p.add_argument("--translate", metavar="LANGS", default="",
                   help="live translation into up to two languages, e.g. es,de "
                   "(Speechmatics); SRT/VTT output gets one more file per language")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="captioner",
        description="Real-time live captions, offline by default. "
        "Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"captioner {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("--start", action="store_true",
                        help="open the app already captioning with the saved settings")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("--start", action="store_true",
                     help="start captioning right away with the saved settings")

    tr = sub.add_parser("transcribe", help="caption an audio file or live input in the terminal",
                        description="Stream an audio file (or live input) through a provider, "
                        "print captions as they arrive and write the transcript.")
    tr.add_argument("file", nargs="?", metavar="FILE",
                    help="audio file (WAV, any rate and channels); omit with --source for live")
    _add_session_args(tr)
    tr.add_argument("--format", choices=FORMATS, default="txt", help="transcript format")
    tr.add_argument("-o", "--output", metavar="OUT", help="write the transcript to OUT")
    tr.add_argument("--realtime", action="store_true",
                    help="send a file at real-time speed, as live audio would arrive")
    tr.add_argument("--streaming", action="store_true",
                    help="for a cloud provider, stream the file as live audio instead of "
                    "using its batch API (the default for files)")
    tr.add_argument("--vendor-captions", action="store_true",
                    help="with the batch API and --format srt|vtt, save the vendor's own "
                    "captions where it offers them")
    tr.add_argument("--delete-job", action="store_true",
                    help="with the batch API, delete the job at the vendor once the "
                    "transcript is fetched")
    tr.add_argument("--source", choices=("mic", "system", "both"),
                    help="caption live input instead of a file (Ctrl-C to end)")
    tr.add_argument("--device", metavar="ID", help="input device id or name (with --source)")
    tr.add_argument("--no-journal", action="store_true",
                    help="keep no session journal (files only; live input is always saved)")
    tr.add_argument("--record", action="store_true",
                    help="with --source: save the session with its audio (FLAC beside the "
                    "transcript) so `captioner improve` can re-transcribe it")

    sub.add_parser("devices", help="list input devices and system-audio sources")
    sub.add_parser("providers", help="list the speech services with their options and defaults")

    serve = sub.add_parser("serve", help="run the offline engine's WebSocket server",
                           description="Serve the offline recognizer over the Speechmatics "
                           "Real-Time v2 protocol.")
    serve.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default: 0 = any free port)")
    serve.add_argument("--token-file", metavar="FILE",
                       help="require the token in FILE from clients (needed off loopback); "
                       "or set CAPTIONER_ENGINE_TOKEN")
    serve.add_argument("--token", help="require this token (visible to other users in `ps`: "
                       "prefer --token-file or CAPTIONER_ENGINE_TOKEN)")
    serve.add_argument("--exit-with-parent", type=int, metavar="PID", help=argparse.SUPPRESS)
    serve.add_argument("--max-sessions", type=int, default=4, help="concurrent sessions")
    serve.add_argument("--threads", type=int, default=2, help="CPU threads for inference")
    serve.add_argument("--model", choices=("tiny.en", "base"), default="tiny.en",
                       help="default model (sessions may ask for another; base needs "
                       "captioner[multilingual])")

    sessions = sub.add_parser("sessions", help="list saved session transcripts")
    sessions.add_argument("--all", action="store_true",
                          help="also list sessions with no words (kept until retention prunes)")
    sessions.add_argument("--search", metavar="WORDS",
                          help="only sessions whose words, date or provider contain WORDS")

    ex = sub.add_parser("export", help="export a saved session transcript")
    ex.add_argument("session", metavar="SESSION", help="session id (see `captioner sessions`)")
    ex.add_argument("--format", choices=FORMATS, default="txt", help="format (default: txt)")
    ex.add_argument("-o", "--output", metavar="OUT", help="file to write (default: stdout); "
                    "SRT/VTT also get OUT's name with .<language> per live translation")
    ex.add_argument("--language", metavar="LANG",
                    help="export the live translation into LANG instead of the speech")
    ex.add_argument("--version", dest="version", choices=("improved", "live"), default=None,
                    help="which transcript: the improved one (the default when there is one) "
                    "or the live captions")

    im = sub.add_parser("improve", help="re-transcribe a recorded session more accurately",
                        description="Re-transcribe a recorded session's audio (Me and Others "
                        "apart) with the offline engine at its most accurate settings or a "
                        "cloud vendor's batch API, and keep it as the session's improved "
                        "transcript beside the live one.")
    im.add_argument("session", metavar="SESSION", help="session id (see `captioner sessions`)")
    im.add_argument("--provider", choices=PROVIDERS, default="local",
                    help="speech service (default: the offline engine)")
    im.add_argument("--endpoint", metavar="URL",
                    help="the offline engine's WebSocket URL, or a vendor's batch API base URL "
                    "(EU host, self-hosted, a fake)")
    im.add_argument("--vocabulary", metavar="WORDS", default="",
                    help="comma-separated custom words / key terms")
    im.add_argument("--speaker-labels", action="store_true", help="ask for speaker labels")
    im.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="a cloud vendor's option, e.g. its batch_* ones (repeatable; "
                    "`captioner providers` lists them)")
    return parser


def _setup_logging(verbosity: int) -> None:
    from captioner.redact import install_log_redaction

    install_log_redaction()  # before any handler writes a line
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("websockets").setLevel(max(level, logging.INFO))


def _serve_token(args: argparse.Namespace) -> str | None:
    """The token from --token-file, CAPTIONER_ENGINE_TOKEN or --token (which warns)."""
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as f:
                token = f.read(4096).strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "it is not text"
            raise CliError(f"can't read the token file {args.token_file}: {reason}") from exc
        if not token:
            raise CliError(f"the token file {args.token_file} is empty")
        return token
    if args.token:
        print("captioner serve: warning: --token is visible to every user of this machine "
              "(`ps`); use --token-file or CAPTIONER_ENGINE_TOKEN instead", file=sys.stderr)
        return str(args.token)
    return os.environ.get(ENGINE_TOKEN_ENV) or None


def _cmd_serve(args: argparse.Namespace) -> int:
    if args.exit_with_parent:
        from captioner.engine.lifeline import exit_with_parent

        exit_with_parent(args.exit_with_parent)
    from captioner.engine.server import is_loopback, serve_forever
    from captioner.engine.whisper import ModelUnavailableError

    if not 0 <= args.port <= 65535:
        raise CliError(f"--port must be 0-65535 (0 picks a free port), not {args.port}")
    if args.max_sessions < 1 or args.threads < 1:
        raise CliError("--max-sessions and --threads must be at least 1")
    token = _serve_token(args)
    if not is_loopback(args.host) and not token:
        raise CliError(f"refusing to listen on {args.host} without a token (--token-file or "
                       f"{ENGINE_TOKEN_ENV}): anyone on the network could use the engine")

    def ready(url: str) -> None:
        print(f"captioner serve: listening on {url}", flush=True)

    try:
        asyncio.run(serve_forever(args.host, args.port, token, args.max_sessions,
                                  args.threads, ready, args.model))
    except KeyboardInterrupt:
        return 0
    except ModelUnavailableError as exc:
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(f"can't listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    return 0


def _print_crash(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook`` for the command line: the traceback, redacted."""
    from captioner.redact import format_exception

    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    print(format_exception(exc.with_traceback(tb)), end="", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    sys.excepthook = _print_crash
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    command = args.command or "gui"
    try:
        if command == "gui":
            from captioner.app import run_app

            return run_app(start=args.start)
        if command == "transcribe":
            from captioner.transcribe import run_transcribe

            if not args.file and not args.source:
                parser.error("transcribe needs a FILE or --source mic|system|both")
            try:
                args.options = options_from_args(args.provider or "local", args.model,
                                                 args.region, args.option)
            except OptionError as exc:
                parser.error(str(exc))
            if args.source and args.no_journal:
                parser.error("--no-journal is for files; live captions are always saved")
            if args.record and not args.source:
                parser.error("--record records live input: use it with --source")
            from captioner.providers.translation import check_targets, parse_targets

            problem = check_targets(args.provider or "local", args.language,
                                    parse_targets(args.translate))
            if problem:
                parser.error(problem)
            return run_transcribe(args)
        if command == "providers":
            return print_providers()
        if command == "devices":
            from captioner.audio.devices import print_devices

            return print_devices()
        if command == "serve":
            return _cmd_serve(args)
        if command == "improve" and args.provider != "local":
            try:
                args.options = options_from_args(args.provider, None, None, args.option)
            except OptionError as exc:
                parser.error(str(exc))
        elif command == "improve" and args.option:
            parser.error("--option is for a cloud vendor's batch API (--provider)")
        if command in ("sessions", "export", "improve"):
            from captioner.history_cli import run_history

            return run_history(args)
    except UserFacingError as exc:
        from captioner.redact import redact

        print(f"captioner: error: {redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    parser.error(f"unknown command {command}")
    return 2
