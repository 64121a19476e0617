"""Keyboard: every shortcut works from any focused widget (text fields and the transcript
included, and in other windows); Tab follows the layout top to bottom; a focus ring that can be
seen in light, dark and high-contrast palettes; without a tray host, the app says so once."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from captioner.gui.controller import Problem
from captioner.gui.focus_ring import MIN_CONTRAST, RING_PX, contrast, ring_color
from captioner.gui.shell import AppShell
from captioner.settings import Key
from tests.gui.scripted import DEVICES, Script

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def _active(qtbot, window) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=10000)


def _focus(qtbot, widget) -> None:
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus, timeout=10000)


def _dialog(qtbot, shell, which: str):
    """Past sessions or Preferences, opened through the shell and active."""
    getattr(shell, f"open_{which}")()
    dialog = getattr(shell, f"_{which}")
    qtbot.addWidget(dialog)
    _active(qtbot, dialog)
    return dialog


def _count(action) -> list[bool]:
    fired: list[bool] = []
    action.triggered.connect(lambda *_: fired.append(True))
    return fired


def test_jump_to_live_and_start_work_from_the_search_field_and_the_transcript(qtbot, make_shell):
    shell = make_shell(Script([]))
    w = shell.window
    shell.actions.start_stop.triggered.disconnect(shell.controller.toggle_start_stop)
    _active(qtbot, w)
    jumps = _count(shell.actions.jump_to_live)
    starts = _count(shell.actions.start_stop)
    for widget in (w.transcript.search, w.transcript.text_edit, w.language_combo.lineEdit()):
        widget.setFocus()
        qtbot.waitUntil(widget.hasFocus, timeout=10000)
        before = (len(jumps), len(starts))
        qtbot.keyClick(widget, Qt.Key.Key_End, CTRL_SHIFT)
        qtbot.keyClick(widget, Qt.Key.Key_Space, CTRL_SHIFT)
        assert (len(jumps), len(starts)) == (before[0] + 1, before[1] + 1), widget
    w.transcript.search.setText("abc")
    w.transcript.search.setFocus()
    qtbot.keyClick(w.transcript.search, Qt.Key.Key_A)  # ordinary typing still types
    assert w.transcript.search.text().endswith("a")


def test_shortcuts_work_from_the_history_search_field(qtbot, make_shell):
    shell = make_shell(Script([]))
    dialog = _dialog(qtbot, shell, "history")
    _focus(qtbot, dialog.search)
    jumps = _count(shell.actions.jump_to_live)
    toggles = _count(shell.actions.click_through)
    qtbot.keyClick(dialog.search, Qt.Key.Key_End, CTRL_SHIFT)
    qtbot.keyClick(dialog.search, Qt.Key.Key_T, CTRL_SHIFT)
    assert jumps and toggles
    _focus(qtbot, dialog.table)
    qtbot.keyClick(dialog.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert dialog.search.hasFocus()  # Ctrl+F here searches the sessions
    dialog.reject()


def test_a_shortcut_editor_still_records_the_keys(qtbot, make_shell):
    shell = make_shell(Script([]))
    dialog = _dialog(qtbot, shell, "preferences")
    edit = dialog.shortcuts_page.edits["pause"]
    _focus(qtbot, edit)
    starts = _count(shell.actions.start_stop)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space, CTRL_SHIFT)
    assert not starts
    assert edit.keySequence().toString() == "Ctrl+Shift+Space"
    dialog.reject()


def _tab_walk(qtbot, start, steps: int) -> list:
    seen = []
    widget = start
    for _ in range(steps):
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
        widget = QApplication.focusWidget()
        seen.append(widget)
    return seen


def test_tab_goes_top_to_bottom_through_the_banners(qtbot, make_shell):
    shell = make_shell(Script([]))
    w = shell.window
    _active(qtbot, w)
    first = w.banners.post(Problem("No API key.", "error", "add_key", also=("offline",)))
    w.banners.post(Problem("Saved.", "info", key="export"))
    w.banners.post(Problem("Disk.", "warning", key="journal"))
    w.refresh_button.setFocus()
    qtbot.waitUntil(w.refresh_button.hasFocus, timeout=10000)
    seen = _tab_walk(qtbot, w.refresh_button, 4)
    assert seen[:3] == [first.buttons[0], first.buttons[1], first.close_button]
    chain = [x for x in w.focus_chain() if x.isVisibleTo(w) and x.isEnabled()
             and x.focusPolicy() & Qt.FocusPolicy.TabFocus]
    chain[0].setFocus()
    qtbot.waitUntil(chain[0].hasFocus, timeout=10000)
    walk = _tab_walk(qtbot, chain[0], len(chain) - 1)
    names = lambda ws: [f"{type(x).__name__}:{x.accessibleName()}" for x in ws]  # noqa: E731
    assert names(walk) == names(chain[1:])
    # top to bottom on screen
    ys = [x.mapTo(w, x.rect().topLeft()).y() for x in chain]
    assert ys == sorted(ys)


@pytest.mark.parametrize("window_color, text_color, highlight", [
    ("#efefef", "#000000", "#308cc6"),   # light (Fusion)
    ("#2d2d2d", "#ffffff", "#2a82da"),   # dark
    ("#000000", "#ffff00", "#000000"),   # high contrast whose highlight is its background
    ("#ffffff", "#000000", "#ffffff"),   # high contrast, white
])
def test_the_focus_ring_stands_out_in_every_palette(window_color, text_color, highlight):
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(window_color))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(text_color))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(highlight))
    assert contrast(ring_color(palette), QColor(window_color)) >= MIN_CONTRAST


def test_the_focus_ring_follows_the_focus_and_is_drawn(qtbot, make_shell):
    shell = make_shell(Script([]))
    w = shell.window
    _active(qtbot, w)
    w.stop_button.setEnabled(True)
    for widget in (w.start_button, w.transcript.search, w.provider_combo):
        widget.setFocus()
        qtbot.waitUntil(widget.hasFocus, timeout=10000)
        ring = w.focus_tracker.ring
        assert ring.target is widget and ring.isVisible()
        assert ring.geometry().contains(widget.geometry())
        assert ring.width() >= widget.width() + 2 * RING_PX
    image = ring.grab().toImage()
    color = ring.color()
    edge = image.pixelColor(image.width() // 2, 0)
    assert abs(edge.red() - color.red()) < 40 and abs(edge.blue() - color.blue()) < 40


def test_without_a_tray_the_window_says_so_once(qtbot, settings, store, journal_dir,
                                               monkeypatch):
    monkeypatch.setattr("captioner.gui.shell.tray_available", lambda: False)
    shell = AppShell(settings, store, runner_factory=Script([]).factory, journal_dir=journal_dir,
                     device_lister=lambda: DEVICES)
    qtbot.addWidget(shell.window)
    qtbot.addWidget(shell.overlay)
    assert shell.tray is None and not shell.window.hide_on_close
    banner = shell.window.banners.banners["tray"]
    assert "no system tray" in banner.label.text()
    assert "Show caption overlay" in banner.label.text()
    menu = [a.text().replace("&", "") for a in shell.window.captions_menu.actions()]
    assert "Show caption overlay" in menu
    assert settings.get(Key.NO_TRAY_NOTED)
    again = AppShell(settings, store, runner_factory=Script([]).factory,
                     journal_dir=journal_dir, device_lister=lambda: DEVICES)
    qtbot.addWidget(again.window)
    qtbot.addWidget(again.overlay)
    assert "tray" not in again.window.banners.banners
    shell.controller.shutdown(3000)
    again.controller.shutdown(3000)
