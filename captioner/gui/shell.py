"""Wires the app together: controller, actions, overlay, control window, tray and dialogs.

:class:`AppShell` is everything ``run_app`` shows, built from injectable
parts (settings, secret store, runner factory, device lister) so tests can
drive the whole app offscreen with a scripted runner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QApplication

from captioner.gui.actions import AppActions
from captioner.gui.caption_style import MAX_FONT_PT, MIN_FONT_PT, CaptionStyle
from captioner.gui.controller import Controller, Problem, RunnerFactory
from captioner.gui.main_window import MainWindow
from captioner.gui.overlay import OverlayWindow
from captioner.gui.tray import Tray, tray_available
from captioner.secrets import SecretStore
from captioner.settings import Key, Settings

log = logging.getLogger(__name__)

FONT_STEP_PT = 2


class AppShell(QObject):
    """The running app's windows and their wiring.

    Attributes:
        settings, store, controller, actions, overlay, window: the parts.
        tray: the tray icon, or None where the desktop has none.
        log_path: shown in About.

    Signals:
        quit_requested(): the user asked to quit (the caller ends the event loop).
    """

    quit_requested = Signal()

    def __init__(self, settings: Settings, store: SecretStore, *,
                 runner_factory: RunnerFactory | None = None,
                 journal_dir: str | Path | None = None,
                 device_lister: Callable[[], list[Any]] | None = None,
                 log_path: Path | None = None, use_tray: bool = True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.store = store
        self.log_path = log_path
        self.journal_dir = journal_dir
        self.controller = Controller(settings, store, runner_factory=runner_factory,
                                     journal_dir=journal_dir, parent=self)
        self.actions = AppActions(settings, self)
        self.overlay = OverlayWindow(settings)
        self.window = MainWindow(self.controller, self.actions, device_lister=device_lister)
        self.tray: Tray | None = Tray(self.actions, self) if use_tray and tray_available() \
            else None
        self.window.hide_on_close = self.tray is not None
        if self.tray is None and use_tray:
            self.window.note_no_tray()
        self._preferences = None
        self._history = None
        self.controller.announce_target = self.overlay.view
        self._wire()
        self.apply_settings()
        self.on_controller_run_state_changed(self.controller.run_state)

    # -- wiring -------------------------------------------------------------------------

    def _wire(self) -> None:
        c, a, o = self.controller, self.actions, self.overlay
        c.transcript_changed.connect(self.on_controller_transcript_changed)
        c.transcript_reset.connect(self.on_controller_transcript_reset)
        c.status_changed.connect(o.set_status)
        c.status_changed.connect(self.on_controller_status_changed)
        c.level_changed.connect(o.set_level)
        c.run_state_changed.connect(self.on_controller_run_state_changed)
        if self.tray is not None:
            c.status_changed.connect(self.tray.on_controller_status_changed)
            c.run_state_changed.connect(self.tray.on_controller_run_state_changed)
        a.start_stop.triggered.connect(c.toggle_start_stop)
        a.pause.triggered.connect(c.toggle_pause)
        a.record.setChecked(c.recording)
        a.record.toggled.connect(c.set_recording)
        c.recording_changed.connect(a.record.setChecked)
        a.toggle_overlay.toggled.connect(self.set_overlay_visible)
        a.click_through.toggled.connect(self.set_click_through)
        a.font_bigger.triggered.connect(lambda: self.change_font_pt(FONT_STEP_PT))
        a.font_smaller.triggered.connect(lambda: self.change_font_pt(-FONT_STEP_PT))
        a.scroll_back.triggered.connect(lambda: o.view.scroll_by(-1))
        a.scroll_forward.triggered.connect(lambda: o.view.scroll_by(1))
        a.jump_to_live.triggered.connect(o.view.jump_to_live)
        a.show_window.triggered.connect(self.show_window)
        a.preferences.triggered.connect(self.open_preferences)
        a.history.triggered.connect(self.open_history)
        a.about.triggered.connect(self.show_about)
        a.quit.triggered.connect(self.quit_requested)
        self.window.quit_requested.connect(self.quit_requested)
        self.window.key_requested.connect(self.open_preferences_for_key)
        o.lines_resized.connect(self.on_overlay_lines_resized)
        o.capture_hiding_failed.connect(self.on_overlay_capture_hiding_failed)
        o.context_actions = [a.start_stop, a.pause, a.record, None, a.click_through,
                             a.font_bigger, a.font_smaller, a.export, None, a.show_window,
                             a.preferences, a.toggle_overlay]
        o.addActions([action for action in a.by_name.values()])

    def apply_settings(self) -> None:
        """(Re)read everything the windows take from the settings."""
        s = self.settings
        self.actions.apply_shortcuts()
        self.overlay.set_style(CaptionStyle.from_settings(s))
        self.overlay.set_click_through_keys(self.actions.shortcut_text("click_through"))
        dock = s.get(Key.OVERLAY_DOCK)
        if dock != self.overlay.dock and dock in ("bottom", "top", "floating"):
            self.overlay.set_dock(dock)
        self.overlay.set_hidden_from_capture(s.get(Key.OVERLAY_HIDE_FROM_CAPTURE))
        self.window.load_settings()
        self.controller.recheck()  # a key added or provider changed ends a "no key" problem
        self._update_placeholder()

    def show(self, *, window: bool = True) -> None:
        self.overlay.restore_geometry()
        visible = self.settings.get(Key.OVERLAY_VISIBLE)
        self.actions.toggle_overlay.setChecked(visible)
        if visible:
            self.overlay.show()
        click_through = self.settings.get(Key.OVERLAY_CLICK_THROUGH)
        self.actions.click_through.setChecked(click_through)
        if self.tray is not None:
            self.tray.show()
        if window or self.tray is None:
            if self.overlay.first_run and visible and not self.settings.get(Key.WINDOW_GEOMETRY):
                self.overlay.place_beside(self.window)
            self.window.show()

    # -- controller -> overlay ----------------------------------------------------------

    @Slot(object)
    def on_controller_transcript_changed(self, event: Any) -> None:
        self.overlay.apply(event.change)

    @Slot()
    def on_controller_transcript_reset(self) -> None:
        self.overlay.view.clear()
        self.overlay.view.set_show_source_labels(self.settings.get(Key.SOURCE) == "both")

    @Slot(str)
    def on_controller_run_state_changed(self, state: str) -> None:
        self.actions.set_running(state)
        self._update_placeholder()

    @Slot(object)
    def on_controller_status_changed(self, _status: object) -> None:
        self._update_placeholder()  # reconnecting is "live" to the buttons, not to the words

    def _update_placeholder(self) -> None:
        state = self.controller.run_state
        start = self.actions.shortcut_text("start_stop")
        pause = self.actions.shortcut_text("pause")
        if self.controller.status.state == "reconnecting":
            text = "Connection lost: captions resume when it is back."
        elif self.controller.status.captions_paused:
            text = "Captions are paused until the device is back."
        elif state in ("starting", "live"):
            text = "Listening… captions appear here as people speak."
        elif state == "paused":
            text = f"Paused. Press {pause} to resume." if pause else "Paused."
        elif state == "stopping":
            text = "Finishing the last words…"
        else:
            text = f"Press {start} to start captions." if start else "Captions are off."
        self.overlay.view.set_placeholder(text)

    # -- commands -----------------------------------------------------------------------

    @Slot(bool)
    def set_overlay_visible(self, visible: bool) -> None:
        self.settings.set(Key.OVERLAY_VISIBLE, visible)
        if visible:
            self.overlay.show()
            self.overlay.raise_()
        else:
            self.overlay.hide()
        if self.actions.toggle_overlay.isChecked() != visible:
            self.actions.toggle_overlay.setChecked(visible)

    @Slot(bool)
    def set_click_through(self, on: bool) -> None:
        self.settings.set(Key.OVERLAY_CLICK_THROUGH, on)
        self.overlay.set_click_through(on)
        if self.actions.click_through.isChecked() != on:
            self.actions.click_through.setChecked(on)
        if on and self.tray is not None:
            keys = self.actions.shortcut_text("click_through")
            self.tray.notify("Click-through is on",
                             f"The overlay ignores the mouse. Press {keys} or use this icon's "
                             "menu to turn it off.")

    def change_font_pt(self, delta_pt: int) -> None:
        size = self.settings.get(Key.OVERLAY_FONT_PT)
        new = max(MIN_FONT_PT, min(MAX_FONT_PT, size + delta_pt))
        if new != size:
            self.settings.set(Key.OVERLAY_FONT_PT, new)
            self.overlay.set_style(CaptionStyle.from_settings(self.settings))

    @Slot(int)
    def on_overlay_lines_resized(self, lines: int) -> None:
        self.settings.set(Key.OVERLAY_LINES, lines)
        self.overlay.set_style(replace(self.overlay.caption_style, lines=lines))

    @Slot(str)
    def on_overlay_capture_hiding_failed(self, message: str) -> None:
        self.window.banners.post(Problem(message, "info", "", key="capture"))

    @Slot()
    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    @Slot()
    def open_preferences(self) -> None:
        from captioner.gui.preferences import PreferencesDialog

        if self._preferences is not None:
            self._preferences.raise_()
            self._preferences.activateWindow()
            return
        dialog = PreferencesDialog(self.settings, self.store, parent=self.window)
        dialog.settings_applied.connect(self.apply_settings)
        dialog.finished.connect(lambda _r: self._forget_preferences())
        self._preferences = dialog
        dialog.show()

    @Slot(str)
    def open_preferences_for_key(self, provider: str) -> None:
        """Preferences at the key field of ``provider``."""
        self.open_preferences()
        if self._preferences is not None:
            self._preferences.focus_key(provider)

    def _forget_preferences(self) -> None:
        if self._preferences is not None:
            self._preferences.deleteLater()
        self._preferences = None

    @Slot()
    def open_history(self) -> None:
        from captioner.gui.history import HistoryDialog

        if self._history is not None:
            self._history.refresh()
            self._history.raise_()
            return
        dialog = HistoryDialog(self.journal_dir, self.window, settings=self.settings,
                               secrets=self.controller.store)
        dialog.finished.connect(lambda _r: self._forget_history())
        self._history = dialog
        dialog.show()

    def _forget_history(self) -> None:
        if self._history is not None:
            self._history.deleteLater()
        self._history = None

    @Slot()
    def show_about(self) -> None:
        from captioner.gui.dialogs import show_about
        from captioner.transcript.codec import default_dir

        folder = Path(self.journal_dir) if self.journal_dir else default_dir()
        show_about(self.window, self.log_path, folder)

    def shutdown(self) -> None:
        """Stop captioning cleanly and remember the windows."""
        self.controller.shutdown()
        self.overlay.save_geometry()
        self.settings.set(Key.WINDOW_GEOMETRY,
                          bytes(self.window.saveGeometry().toBase64()).decode("ascii"))
        self.settings.sync()
        if self.tray is not None:
            self.tray.hide()
        self.overlay.close()
        self.window.hide_on_close = False
        app = QApplication.instance()
        if app is not None:
            for widget in QApplication.topLevelWidgets():
                widget.hide()
