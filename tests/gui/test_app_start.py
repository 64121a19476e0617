"""Start-up: platform choice and display check before Qt, the log file with Qt's messages,
errors shown in plain words (never a traceback), the screen-sharing option per platform."""

from __future__ import annotations

import logging

import pytest

from captioner import app
from captioner.gui import qt_workarounds, screen_privacy


def test_wayland_sessions_default_to_xwayland():
    env = {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    assert app.choose_platform(env, "linux") == "xcb"
    assert env["QT_QPA_PLATFORM"] == "xcb"


def test_the_users_platform_choice_wins():
    env = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland"}
    assert app.choose_platform(env, "linux") is None
    assert env["QT_QPA_PLATFORM"] == "wayland"


def test_wayland_without_xwayland_stays_native():
    env = {"WAYLAND_DISPLAY": "wayland-0"}
    assert app.choose_platform(env, "linux") is None
    assert "QT_QPA_PLATFORM" not in env


def test_no_display_is_one_line_with_what_to_do():
    problem = app.display_problem({}, "linux")
    assert problem is not None and "\n" not in problem
    assert "desktop session" in problem and "QT_QPA_PLATFORM" in problem
    assert app.display_problem({"DISPLAY": ":0"}, "linux") is None
    assert app.display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert app.display_problem({}, "win32") is None


def test_log_file_gets_app_and_qt_messages(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPTIONER_LOG_DIR", str(tmp_path))
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        path = app.setup_logging()
        assert path == tmp_path / "captioner.log"
        app.install_qt_message_handler()
        from PySide6.QtCore import qWarning

        logging.getLogger("captioner.test").info("hello from the app")
        qWarning("hello from Qt")
        for handler in root.handlers:
            handler.flush()
        text = path.read_text()
        assert "hello from the app" in text
        assert "WARNING" in text and "qt: hello from Qt" in text
    finally:
        from PySide6.QtCore import qInstallMessageHandler

        qInstallMessageHandler(None)
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)


def test_uncaught_errors_are_logged_and_shown_in_plain_words(qtbot, monkeypatch, caplog):
    shown = []
    monkeypatch.setattr("captioner.gui.dialogs.show_error",
                        lambda parent, message, details="", log_path=None: shown.append(
                            (message, details)))
    reporter = app.ErrorReporter(None)
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as exc:
        with caplog.at_level(logging.ERROR):
            reporter(type(exc), exc, exc.__traceback__)
    (message, details), = shown
    assert "Traceback" not in message and "ZeroDivisionError" not in message
    assert "Captioning continues" in message
    assert "ZeroDivisionError" in details  # only behind "Show details"
    assert "ZeroDivisionError" in caplog.text


def test_screen_sharing_privacy_is_explained_where_impossible(qtbot):
    from PySide6.QtWidgets import QWidget

    w = QWidget()
    qtbot.addWidget(w)
    done, message = screen_privacy.set_hidden_from_capture(w, True)
    if screen_privacy.supported():
        pytest.skip("only meaningful on Linux")
    assert not done and "can't hide a window from screen sharing" in message
    assert screen_privacy.set_hidden_from_capture(w, False) == (False, "")


def test_the_pyside_refcount_workaround_targets_only_the_broken_combination():
    assert qt_workarounds.affected("6.12.0", (3, 11))
    assert not qt_workarounds.affected("6.12.0", (3, 12))
    assert not qt_workarounds.affected("6.11.3", (3, 11))


def test_pin_singletons_raises_the_none_and_bool_counts_where_affected(monkeypatch):
    """Regression: PySide6 6.12 on Python 3.11 lost a reference to None per void call, and
    the app aborted with "none_dealloc" after a few thousand caption updates."""
    import sys

    monkeypatch.setattr(qt_workarounds, "affected", lambda *_: True)
    monkeypatch.setattr(qt_workarounds, "_applied", False)
    before = {name: sys.getrefcount(obj) for name, obj in (("None", None), ("True", True))}
    assert qt_workarounds.pin_singletons()
    assert sys.getrefcount(None) >= before["None"] + qt_workarounds.HEADROOM - 1000
    assert sys.getrefcount(True) >= before["True"] + qt_workarounds.HEADROOM - 1000
