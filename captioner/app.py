"""Starting the desktop app: early checks, logging, QApplication, crash recovery, the windows.

Order matters: the platform plugin is chosen (XWayland on Wayland, so the
overlay can stay on top) and a display is checked for *before* Qt is
imported, so a missing display is one line on stderr rather than Qt's abort.
Logging goes to a rotating file in the user's log folder (shown in About),
with Qt's own messages routed into it. Any uncaught exception is logged with
its traceback and shown as a plain-words dialog; the app keeps running.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import QCoreApplication

log = logging.getLogger(__name__)

LOG_FILE = "captioner.log"
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3
NON_DISPLAY_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")


# -- early checks (no Qt) ----------------------------------------------------------------


def choose_platform(environ: dict[str, str] | os._Environ[str], platform: str = sys.platform
                    ) -> str | None:
    """On a Wayland session, default Qt to XWayland (``xcb``) so always-on-top works.

    A native Wayland window cannot keep itself above others (GNOME and KDE
    ignore the request), but an X11 window under XWayland can. The user's own
    ``QT_QPA_PLATFORM`` always wins. Returns the platform set, or None.
    """
    if not platform.startswith("linux") or environ.get("QT_QPA_PLATFORM"):
        return None
    wayland = environ.get("XDG_SESSION_TYPE") == "wayland" or bool(environ.get("WAYLAND_DISPLAY"))
    if wayland and environ.get("DISPLAY"):
        environ["QT_QPA_PLATFORM"] = "xcb"
        return "xcb"
    return None


def display_problem(environ: dict[str, str] | os._Environ[str], platform: str = sys.platform
                    ) -> str | None:
    """A one-line reason the app can't open a window, or None if it can."""
    if platform.startswith("win") or platform == "darwin":
        return None
    qpa = environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if qpa in NON_DISPLAY_PLATFORMS:
        return None
    if qpa == "xcb" and not environ.get("DISPLAY"):
        return ("captioner: no X display (DISPLAY is not set). Run it from a desktop session, "
                "or set QT_QPA_PLATFORM (e.g. wayland, or offscreen for tests).")
    if not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        return ("captioner: no display found. Run it from a desktop session, or set "
                "QT_QPA_PLATFORM (e.g. offscreen for tests); `captioner transcribe` works "
                "without one.")
    return None


# -- logging -----------------------------------------------------------------------------


def log_dir() -> Path:
    """``$CAPTIONER_LOG_DIR``, else the platform's user log folder."""
    configured = os.environ.get("CAPTIONER_LOG_DIR")
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_log_dir("captioner", appauthor=False))


def setup_logging() -> Path | None:
    """Add a rotating log file (INFO and up); returns its path, or None if it can't be written."""
    from captioner.redact import install_log_redaction

    install_log_redaction()  # no secret reaches the file (or the console)
    root = logging.getLogger()
    for handler in root.handlers:
        if handler.level == logging.NOTSET:
            handler.setLevel(root.level)  # the console keeps the CLI's verbosity
    folder = log_dir()
    path = folder / LOG_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_MAX_BYTES,
                                                       backupCount=LOG_BACKUPS, encoding="utf-8")
    except OSError as exc:
        log.warning("can't write the log file in %s: %s", folder, exc)
        return None
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, logging.INFO))
    return path


def install_qt_message_handler() -> None:
    """Route qDebug/qWarning/... into logging (logger ``qt``)."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    qt_log = logging.getLogger("qt")
    levels = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}

    def handler(mode, context, message) -> None:
        where = f" ({context.category})" if getattr(context, "category", "") not in (
            "", "default", None) else ""
        qt_log.log(levels.get(mode, logging.WARNING), "%s%s", message, where)

    qInstallMessageHandler(handler)


# -- errors ------------------------------------------------------------------------------


class ErrorReporter:
    """``sys.excepthook`` (and threads'): log the traceback, show a dialog in plain words.

    Attributes:
        log_path: named in the dialog.
        shown: how many dialogs were shown (one at a time; repeats only logged).
    """

    def __init__(self, log_path: Path | None) -> None:
        self.log_path = log_path
        self.shown = 0
        self._busy = False

    def __call__(self, kind: type[BaseException], exc: BaseException,
                 tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        from captioner.redact import redact

        details = redact("".join(traceback.format_exception(kind, exc, tb)))
        log.error("unexpected error:\n%s", details)
        from PySide6.QtCore import QThread
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is None or self._busy or QThread.currentThread() is not app.thread():
            return
        self._busy = True
        try:
            from captioner.errors import UserFacingError
            from captioner.gui.dialogs import show_error

            if isinstance(exc, UserFacingError):
                message = str(exc)
            else:
                message = "Something unexpected went wrong in captioner. Captioning continues."
            self.shown += 1
            show_error(None, message, details, self.log_path)
        finally:
            self._busy = False

    def thread_hook(self, args: threading.ExceptHookArgs) -> None:
        self(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)


# -- start-up steps -----------------------------------------------------------------------


def offer_recovery(parent=None, folder: str | Path | None = None,
                   ask=None, silent: bool = False) -> list[str]:
    """Find sessions a crash left open and, if the user agrees, recover them.

    Empty ones are closed without asking; with ``silent`` (``--start`` at login,
    where nobody may be there to answer) all are recovered without asking.
    Returns the ids recovered.
    """
    from captioner.transcript import store

    try:
        unfinished = store.find_unfinished(folder)
    except OSError as exc:
        log.warning("can't look for unfinished sessions: %s", exc)
        return []
    if not unfinished:
        return []
    with_words = [s for s in unfinished if s.word_count > 0]
    recover = list(unfinished)
    if with_words and not silent:
        if ask is None:
            from captioner.gui.dialogs import ask_recover

            def ask(count: int, words: int) -> bool:
                log.info("asking whether to recover %d session(s)", count)
                return ask_recover(parent, count, words)

        if not ask(len(with_words), sum(s.word_count for s in with_words)):
            recover = [s for s in unfinished if s.word_count == 0]
    done = []
    for summary in recover:
        try:
            if store.mark_recovered(summary.path):
                done.append(summary.id)
        except OSError as exc:
            log.warning("can't recover %s: %s", summary.path, exc)
    return done


def prune_history(settings) -> None:
    from captioner.settings import Key
    from captioner.transcript import store

    days = settings.get(Key.RETENTION_DAYS)
    if days and days > 0:
        try:
            store.prune(None, float(days))
        except OSError as exc:
            log.warning("pruning old sessions failed: %s", exc)


QUIT_DEADLINE_S = 5.0
SIGNAL_STOP_WAIT_MS = 3000


class SignalQuitter:
    """SIGTERM (logout, ``kill``), SIGHUP and SIGINT end the app in any state, within
    :data:`QUIT_DEADLINE_S`: the run stops with its trailing finals, the journal closes,
    open dialogs are rejected, and the app quits, even before its main loop runs.

    A second signal, or a stop that overruns the deadline, exits at once; the
    journal already has every final shown, and the engine child goes with us.

    NB: Python runs signal handlers only between bytecodes, and Qt's event loop
    is C++; a no-op timer gives the interpreter a chance every ``interval_ms``
    (nested dialog loops run timers too).

    Attributes:
        signum: the first signal received, or None.
    """

    def __init__(self, app: QCoreApplication, before_quit: Callable[[], None] | None = None,
                 interval_ms: int = 250) -> None:
        import signal

        from PySide6.QtCore import QTimer

        self.app = app
        self.before_quit = before_quit
        self.signum: int | None = None
        for name in ("SIGTERM", "SIGINT", "SIGHUP"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), self._handler)
        self.timer = QTimer(app)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(lambda: None)
        self.timer.start()

    def _handler(self, signum: int, _frame: object) -> None:
        if self.signum is not None:
            log.warning("second signal %s; exiting now", signum)
            os._exit(128 + signum)
        self.signum = signum
        log.info("received signal %s; quitting", signum)
        watchdog = threading.Timer(QUIT_DEADLINE_S, self._overdue)
        watchdog.daemon = True
        watchdog.start()
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, self.quit)

    def _overdue(self) -> None:
        log.warning("the app did not quit within %.0f s of the signal; exiting now",
                    QUIT_DEADLINE_S)
        logging.shutdown()
        os._exit(128 + (self.signum or 0))

    def quit(self) -> None:
        """Reject open dialogs, stop the run (bounded), quit every event loop."""
        from PySide6.QtWidgets import QApplication, QDialog

        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget.isVisible():
                widget.reject()
        if self.before_quit is not None:
            self.before_quit()
        self.app.quit()


def quit_on_signals(app: QCoreApplication, before_quit: Callable[[], None] | None = None,
                    interval_ms: int = 250) -> SignalQuitter:
    """Install a :class:`SignalQuitter` for ``app``."""
    return SignalQuitter(app, before_quit, interval_ms)


# -- run ---------------------------------------------------------------------------------


def run_app(start: bool = False) -> int:
    """Open the app (already captioning with ``start``); returns the exit code."""
    choose_platform(os.environ)
    problem = display_problem(os.environ)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    log_path = setup_logging()
    log.info("starting captioner GUI (platform %s, start=%s)",
             os.environ.get("QT_QPA_PLATFORM", "default"), start)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from captioner.gui.icons import app_icon
    from captioner.gui.qt_workarounds import pin_singletons
    from captioner.settings import APPLICATION, ORGANIZATION

    install_qt_message_handler()
    pin_singletons()
    QApplication.setApplicationName(APPLICATION)
    QApplication.setOrganizationName(ORGANIZATION)
    QApplication.setApplicationDisplayName("captioner")
    QApplication.setDesktopFileName("io.github.captioner.Captioner")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)
    quitter = quit_on_signals(app)
    reporter = ErrorReporter(log_path)
    sys.excepthook = reporter
    threading.excepthook = reporter.thread_hook

    from captioner.engine.lifeline import reap_orphans
    from captioner.gui.controller import Problem
    from captioner.gui.shell import AppShell
    from captioner.secrets import KeyringStore
    from captioner.settings import Key, Settings, reset_notice

    reap_orphans()  # an engine an earlier crash of ours left running
    settings = Settings()
    shell = AppShell(settings, KeyringStore(), log_path=log_path)
    shell.quit_requested.connect(app.quit)
    app.aboutToQuit.connect(shell.shutdown)
    quitter.before_quit = lambda: shell.controller.shutdown(wait_ms=SIGNAL_STOP_WAIT_MS)
    if settings.reset_keys:
        shell.window.banners.post(Problem(reset_notice(settings.reset_keys), "warning",
                                          "preferences", key="settings-reset"))

    recovered = offer_recovery(shell.window, silent=start)
    if recovered:
        shell.window.banners.post(Problem(
            f"Recovered {len(recovered)} transcript(s) from last time. Find them in Past "
            "sessions.", "info", "history", key="recovered"))
    prune_history(settings)
    if not settings.get(Key.FIRST_RUN_HINT_SHOWN):
        shell.window.post_first_run_hint()
        shell.window.banners.banner_dismissed.connect(
            lambda key: key == "hint" and settings.set(Key.FIRST_RUN_HINT_SHOWN, True))
        shell.actions.preferences.triggered.connect(
            lambda: settings.set(Key.FIRST_RUN_HINT_SHOWN, True))
    # with --start (start at login) the control window stays in the tray
    if quitter.signum is not None:  # a signal came during start-up (e.g. in a dialog)
        shell.shutdown()
        return 0
    shell.show(window=not start)
    if start:
        QTimer.singleShot(0, shell.controller.start)
    code = app.exec()
    log.info("captioner GUI exited with %s", code)
    return code
