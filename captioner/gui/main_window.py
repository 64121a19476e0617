"""The control window: start/pause/stop, provider, language, audio source and devices,
the live transcript with search, export, and banners that say what to do when something fails.

Every control has an accessible name and a keyboard path: the menus carry all
actions with their shortcuts (which work from any focused widget, see
:mod:`captioner.gui.actions`), Tab moves through the controls top to bottom
(banners included, in the order shown), Ctrl+F searches. The first-run hint
matches the chosen provider; without a tray the window says once how to get
the overlay back.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QByteArray,
    QObject,
    QRunnable,
    QStandardPaths,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from captioner.gui.actions import AppActions
from captioner.gui.banner import BannerArea
from captioner.gui.choices import (
    FORMAT_TITLES,
    fill_languages,
    fill_providers,
    fill_sources,
    offline_language_hint,
    saved_message,
    select_data,
)
from captioner.gui.controller import Controller, Problem
from captioner.gui.focus_ring import FocusTracker
from captioner.gui.icons import app_icon
from captioner.gui.status_line import RunStatus, describe
from captioner.settings import Key, Settings
from captioner.stream import TranscriptChanged
from captioner.transcript import export as exporter
from captioner.vendors import title as vendor_title

log = logging.getLogger(__name__)

MIN_TRANSCRIPT_LINES = 5
FIRST_RUN_HINT = ("Captions work right away with the offline engine and your default "
                  "microphone, nothing to set up. For other languages or higher accuracy, add a "
                  "cloud provider's API key in Preferences (kept in your system keychain).")


class _DeviceLoader(QObject):
    """Lists audio devices on a pool thread (PortAudio and pactl can take a moment).

    Signals:
        devices_listed(object): a list of DeviceInfo, or a UserFacingError.
    """

    devices_listed = Signal(object)

    def __init__(self, lister: Callable[[], list[Any]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lister = lister

    def start(self) -> None:
        def work() -> None:
            try:
                result: object = self.lister()
            except Exception as exc:  # noqa: BLE001 - shown in words, logged
                log.warning("listing audio devices failed: %s", exc)
                result = exc
            self.devices_listed.emit(result)

        QThreadPool.globalInstance().start(QRunnable.create(work))


def _default_lister() -> list[Any]:
    from captioner.audio.devices import list_devices

    return list_devices()


class MainWindow(QMainWindow):
    """The control window.

    Attributes:
        controller: the :class:`Controller` it drives.
        actions, app_actions: the shared :class:`AppActions`.
        banners: the :class:`BannerArea`.
        transcript: the live :class:`TranscriptPane`.
        hide_on_close: closing hides to the tray instead of quitting.
        ask_save_path: ``(suggested path, filter) -> path or ""`` (tests replace it).

    Signals:
        quit_requested(): the window was closed and there is no tray to keep running in.
        key_requested(str): a banner asked to add the key of this provider.
    """

    quit_requested = Signal()
    key_requested = Signal(str)

    def __init__(self, controller: Controller, actions: AppActions, *,
                 device_lister: Callable[[], list[Any]] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from captioner.gui.transcript_view import TranscriptPane

        self.controller = controller
        self.settings: Settings = controller.settings
        self.actions = actions
        self.app_actions = actions  # NB: typed (``actions`` shadows QWidget.actions for mypy)
        self.hide_on_close = False
        self.ask_save_path: Callable[[str, str], str] = self._ask_save_path
        self._started_at: float | None = None
        self._elapsed_s = 0.0
        self._devices: list[Any] = []
        self.setWindowTitle("captioner")
        self.setWindowIcon(app_icon())
        self.setObjectName("captioner-main")
        self.setAccessibleName("captioner control window")

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.setSpacing(8)
        layout.addLayout(self._build_run_row())
        layout.addLayout(self._build_form())
        self.banners = BannerArea(central)
        self.banners.action_requested.connect(self.on_banners_action_requested)
        self.banners.arranged.connect(self.update_tab_order)
        layout.addWidget(self.banners)
        self.transcript = TranscriptPane(central, name="Live transcript")
        # the live transcript keeps room for a few lines whatever the banners need
        lines = self.transcript.text_edit.fontMetrics().lineSpacing()
        self.transcript.text_edit.setMinimumHeight(lines * MIN_TRANSCRIPT_LINES + 24)
        layout.addWidget(self.transcript, 1)
        layout.addLayout(self._build_export_row())
        self.setCentralWidget(central)
        self._build_menus()
        self.count_label = QLabel("", self)
        self.count_label.setAccessibleName("Words and time")
        self.statusBar().addPermanentWidget(self.count_label)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self.on_clock_timeout)

        self._loader = _DeviceLoader(device_lister or _default_lister, self)
        self._loader.devices_listed.connect(self.on_loader_devices_listed)

        controller.transcript_changed.connect(self.on_controller_transcript_changed)
        controller.transcript_reset.connect(self.on_controller_transcript_reset)
        controller.run_state_changed.connect(self.on_controller_run_state_changed)
        controller.status_changed.connect(self.on_controller_status_changed)
        controller.problem_posted.connect(self.on_controller_problem_posted)
        controller.problem_cleared.connect(self.banners.on_controller_problem_cleared)
        actions.find.triggered.connect(self.transcript.focus_search)
        actions.export.triggered.connect(lambda: self.export_as(None))
        self.load_settings()
        self.on_controller_run_state_changed(controller.run_state)
        self.resize(760, 560)
        geometry = self.settings.get(Key.WINDOW_GEOMETRY)
        if geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode("ascii")))
        self.refresh_devices()
        self.update_tab_order()
        self.focus_tracker = FocusTracker(self)

    # -- building -----------------------------------------------------------------

    def _build_run_row(self) -> QVBoxLayout:
        style = self.style()
        self.start_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay),
                                        "Start", self)
        self.start_button.setAccessibleName("Start captions")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.controller.start)
        self.pause_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause),
                                        "Pause", self)
        self.pause_button.setAccessibleName("Pause captions")
        self.pause_button.clicked.connect(self.controller.toggle_pause)
        self.stop_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop),
                                       "Stop", self)
        self.stop_button.setAccessibleName("Stop captions")
        self.stop_button.clicked.connect(self.controller.stop)
        for button in (self.start_button, self.pause_button, self.stop_button):
            button.setMinimumHeight(34)
            button.setMinimumWidth(96)
        self.overlay_button = QToolButton(self)
        self.overlay_button.setDefaultAction(self.actions.toggle_overlay)
        self.overlay_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.click_button = QToolButton(self)
        self.click_button.setDefaultAction(self.actions.click_through)
        self.click_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addWidget(self.pause_button)
        row.addWidget(self.stop_button)
        row.addSpacing(12)
        row.addStretch(1)
        row.addWidget(self.overlay_button)
        row.addWidget(self.click_button)
        # the state gets a line of its own, under the buttons: wrapped, so a long one ("No
        # API key for …") never makes the window wider than the screen
        self.run_label = QLabel("", self)
        self.run_label.setAccessibleName("Captioning state")
        self.run_label.setWordWrap(True)
        font = self.run_label.font()
        font.setBold(True)
        self.run_label.setFont(font)
        rows = QVBoxLayout()
        rows.setSpacing(4)
        rows.addLayout(row)
        rows.addWidget(self.run_label)
        return rows

    def _build_form(self) -> QFormLayout:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.provider_combo = QComboBox(self)
        self.provider_combo.setAccessibleName("Speech provider")
        fill_providers(self.provider_combo)
        self.provider_combo.activated.connect(self.on_provider_combo_activated)
        self.language_combo = QComboBox(self)
        self.language_combo.setAccessibleName("Spoken language")
        self.language_combo.setEditable(True)
        self.language_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        fill_languages(self.language_combo)
        self.language_combo.activated.connect(self.on_language_combo_activated)
        self.language_combo.lineEdit().editingFinished.connect(self.on_language_combo_activated)
        top = QHBoxLayout()
        top.addWidget(self.provider_combo, 1)
        language_label = QLabel("&Language:", self)
        language_label.setBuddy(self.language_combo)
        top.addWidget(language_label)
        top.addWidget(self.language_combo, 1)
        provider_label = QLabel("Pro&vider:", self)
        provider_label.setBuddy(self.provider_combo)
        form.addRow(provider_label, top)

        self.source_combo = QComboBox(self)
        self.source_combo.setAccessibleName("Audio source")
        fill_sources(self.source_combo)
        self.source_combo.activated.connect(self.on_source_combo_activated)
        source_label = QLabel("&Listen to:", self)
        source_label.setBuddy(self.source_combo)
        form.addRow(source_label, self.source_combo)

        self.mic_combo = QComboBox(self)
        self.mic_combo.setAccessibleName("Microphone")
        self.mic_combo.activated.connect(self.on_mic_combo_activated)
        self.system_combo = QComboBox(self)
        self.system_combo.setAccessibleName("System audio source")
        self.system_combo.activated.connect(self.on_system_combo_activated)
        self.refresh_button = QToolButton(self)
        self.refresh_button.setText("Refresh")
        self.refresh_button.setToolTip("List the audio devices again")
        self.refresh_button.setAccessibleName("Refresh device list")
        self.refresh_button.clicked.connect(self.refresh_devices)
        devices = QHBoxLayout()
        self.mic_label = QLabel("&Microphone:", self)
        self.mic_label.setBuddy(self.mic_combo)
        self.system_label = QLabel("S&ystem audio:", self)
        self.system_label.setBuddy(self.system_combo)
        devices.addWidget(self.mic_label)
        devices.addWidget(self.mic_combo, 1)
        devices.addWidget(self.system_label)
        devices.addWidget(self.system_combo, 1)
        devices.addWidget(self.refresh_button)
        devices_label = QLabel("Devices:", self)
        form.addRow(devices_label, devices)
        return form

    def _build_export_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        label = QLabel("Export:", self)
        row.addWidget(label)
        self.export_buttons: dict[str, QPushButton] = {}
        for fmt in exporter.FORMATS:
            button = QPushButton(fmt.upper(), self)
            button.setToolTip(f"Save the transcript as {FORMAT_TITLES[fmt]}")
            button.setAccessibleName(f"Export as {FORMAT_TITLES[fmt]}")
            button.clicked.connect(lambda _=False, f=fmt: self.export_as(f))
            row.addWidget(button)
            self.export_buttons[fmt] = button
        row.addStretch(1)
        self.history_button = QPushButton("Past sessions…", self)
        self.history_button.setAccessibleName("Past sessions")
        self.history_button.clicked.connect(self.actions.history.trigger)
        row.addWidget(self.history_button)
        return row

    def focus_chain(self) -> list[QWidget]:
        """The widgets Tab visits, top to bottom as laid out (banners in their shown order)."""
        t = self.transcript
        return [self.start_button, self.pause_button, self.stop_button, self.overlay_button,
                self.click_button, self.provider_combo, self.language_combo, self.source_combo,
                self.mic_combo, self.system_combo, self.refresh_button,
                *self.banners.focus_chain(), t.search, t.prev_button, t.next_button,
                t.text_edit, *self.export_buttons.values(), self.history_button]

    @Slot()
    def update_tab_order(self) -> None:
        chain = self.focus_chain()
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

    def _build_menus(self) -> None:
        a = self.actions
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        export_menu = file_menu.addMenu("&Export transcript as")
        for fmt in exporter.FORMATS:
            action = export_menu.addAction(f"{fmt.upper()} — {FORMAT_TITLES[fmt]}…")
            action.triggered.connect(lambda _=False, f=fmt: self.export_as(f))
        file_menu.addAction(a.export)
        file_menu.addAction(a.history)
        file_menu.addSeparator()
        file_menu.addAction(a.quit)
        captions = bar.addMenu("&Captions")
        for name in ("start_stop", "pause", "record"):
            captions.addAction(a[name])
        captions.addSeparator()
        for name in ("toggle_overlay", "click_through", "font_bigger", "font_smaller"):
            captions.addAction(a[name])
        captions.addSeparator()
        for name in ("scroll_back", "scroll_forward", "jump_to_live"):
            captions.addAction(a[name])
        self.captions_menu = captions
        edit = bar.addMenu("&Edit")
        edit.addAction(a.find)
        edit.addSeparator()
        edit.addAction(a.preferences)
        help_menu = bar.addMenu("&Help")
        shortcuts = help_menu.addAction("&Keyboard shortcuts")
        shortcuts.triggered.connect(self.show_shortcuts)
        help_menu.addAction(a.about)
        # actions with shortcuts must be in a widget to fire while it has focus
        self.addActions(list(a.by_name.values()))

    # -- settings -----------------------------------------------------------------

    def load_settings(self) -> None:
        s = self.settings
        select_data(self.provider_combo, s.get(Key.PROVIDER))
        language = s.get(Key.LANGUAGE)
        select_data(self.language_combo, language, add_missing=language)
        select_data(self.source_combo, s.get(Key.SOURCE))
        self._sync_device_visibility()

    def _sync_device_visibility(self) -> None:
        source = self.source_combo.currentData()
        for widget in (self.mic_label, self.mic_combo):
            widget.setVisible(source in ("mic", "both"))
        for widget in (self.system_label, self.system_combo):
            widget.setVisible(source in ("system", "both"))

    @Slot(int)
    def on_provider_combo_activated(self, _index: int) -> None:
        provider = self.provider_combo.currentData()
        self.settings.set(Key.PROVIDER, provider)
        self._language_hint()
        self.controller.recheck()
        if "hint" in self.banners.banners:
            self.post_first_run_hint()

    def post_first_run_hint(self) -> None:
        """The first-run hint, for the provider chosen now."""
        provider = self.settings.get(Key.PROVIDER)
        start = self.app_actions.shortcut_text("start_stop")
        press = f"Press Start ({start})" if start else "Press Start"
        begin = "" if self.controller.running else f" {press} to begin."  # stale once begun
        if provider == "local":
            problem = Problem(f"{FIRST_RUN_HINT}{begin}", "info", "preferences", key="hint")
        elif not self.controller.has_key(provider):
            if self._says_add_key("run"):
                return  # the "no key" error already says it, with the same buttons
            title = vendor_title(provider)
            problem = Problem(
                f"Captions come from {title}, which needs your API key: add it in Preferences "
                "(kept in your system keychain). Or use the offline engine: no account, no "
                "network, nothing to set up.", "info", "add_key", key="hint",
                also=("offline",))
        else:
            title = vendor_title(provider)
            fallback = (" If it can't be reached, the offline engine captions instead."
                        if self.settings.get(Key.FALLBACK_OFFLINE) else "")
            problem = Problem(f"Captions come from {title}, with the key in your keychain."
                              f"{begin}{fallback}", "info", "preferences", key="hint")
        self.banners.post(problem)

    def _says_add_key(self, key: str) -> bool:
        banner = self.banners.banners.get(key)
        return banner is not None and banner.problem.action == "add_key"

    @Slot(object)
    def on_controller_problem_posted(self, problem: Problem) -> None:
        # one condition, one banner: a "no key" error replaces the hint that says the same,
        # and any error replaces a hint that says "Press Start" (it just failed to)
        if problem.level == "error" or (problem.action == "add_key"
                                        and self._says_add_key("hint")):
            self.banners.clear("hint")
        self.banners.post(problem)

    def note_no_tray(self) -> None:
        """Say once that the desktop has no tray, and how to get the overlay back."""
        if self.settings.get(Key.NO_TRAY_NOTED):
            return
        self.settings.set(Key.NO_TRAY_NOTED, True)
        keys = self.app_actions.shortcut_text("toggle_overlay")
        self.banners.post(Problem(
            "Your desktop has no system tray, so captioner shows no tray icon and closing "
            "this window quits. Show or hide the overlay from Captions → Show caption "
            f"overlay{f' ({keys})' if keys else ''}.", "info", "", key="tray"))

    @Slot()
    def on_language_combo_activated(self, *_args: object) -> None:
        code = self.language_combo.currentData()
        text = self.language_combo.currentText().strip()
        if self.language_combo.currentIndex() < 0 or \
                text != self.language_combo.itemText(self.language_combo.currentIndex()):
            code = text.split("(")[-1].rstrip(")").strip() if text else "en"
        if code:
            self.settings.set(Key.LANGUAGE, str(code))
        self._language_hint()

    def _language_hint(self) -> None:
        provider = self.settings.get(Key.PROVIDER)
        language = self.settings.get(Key.LANGUAGE)
        hint = offline_language_hint(language) if provider == "local" else ""
        if hint:
            self.banners.post(Problem(hint, "info", "preferences", key="language"))
        else:
            self.banners.clear("language")

    @Slot(int)
    def on_source_combo_activated(self, _index: int) -> None:
        self.settings.set(Key.SOURCE, self.source_combo.currentData())
        self._sync_device_visibility()

    @Slot(int)
    def on_mic_combo_activated(self, _index: int) -> None:
        self.settings.set(Key.MIC_DEVICE, self.mic_combo.currentData() or "")

    @Slot(int)
    def on_system_combo_activated(self, _index: int) -> None:
        self.settings.set(Key.SYSTEM_DEVICE, self.system_combo.currentData() or "")

    @Slot()
    def refresh_devices(self) -> None:
        self.refresh_button.setEnabled(False)
        self._loader.start()

    @Slot(object)
    def on_loader_devices_listed(self, result: object) -> None:
        self.refresh_button.setEnabled(True)
        if isinstance(result, Exception):
            self._devices = []
            self.banners.post(Problem(f"Can't list audio devices: {result}", "warning",
                                      "devices", key="devices"))
        else:
            self._devices = list(result)  # type: ignore[call-overload]
            self.banners.clear("devices")
        self._fill_devices(self.mic_combo, "input", "Default microphone",
                           self.settings.get(Key.MIC_DEVICE))
        self._fill_devices(self.system_combo, "system", "Default system audio",
                           self.settings.get(Key.SYSTEM_DEVICE))

    def _fill_devices(self, combo: QComboBox, kind: str, default_title: str,
                      chosen: str) -> None:
        """"Default microphone (Jabra Evolve)" (what the default is now), then each device by
        the name the sound server gives it."""
        combo.clear()
        current = next((d for d in self._devices if d.kind == kind and d.is_default), None)
        combo.addItem(f"{default_title} ({current.name})" if current else default_title, "")
        for device in self._devices:
            if device.kind == kind:
                mark = " (default)" if device.is_default else ""
                combo.addItem(f"{device.name}{mark}", device.id)
        if chosen:
            gone = chosen.split(":")[-1] if chosen.startswith(("pulse:", "pa:")) else chosen
            select_data(combo, chosen, add_missing=f"{gone} (not connected)")

    # -- controller events ------------------------------------------------------------

    @Slot()
    def on_controller_transcript_reset(self) -> None:
        self.transcript.clear()
        self.transcript.show_source_labels = self.settings.get(Key.SOURCE) == "both"
        self._elapsed_s = 0.0

    @Slot(object)
    def on_controller_transcript_changed(self, event: TranscriptChanged) -> None:
        change = event.change
        seg = change.segment
        if seg is not None and seg.is_final:
            self.transcript.add_final(seg)
            self._update_counts()
        elif seg is not None:
            self.transcript.set_partial(seg)
        elif change.cleared_partial:
            self.transcript.set_partial(None, change.cleared_partial)
        if change.translation is not None:
            self.transcript.add_translation(change.translation)

    @Slot(str)
    def on_controller_run_state_changed(self, state: str) -> None:
        self.actions.set_running(state)
        running = state in ("starting", "live", "stopping")
        if "hint" in self.banners.banners:
            self.post_first_run_hint()  # updated in place, only when its words change
        self.start_button.setEnabled(not running)
        self.start_button.setText("Resume" if state == "paused" else "Start")
        self.pause_button.setEnabled(state in ("starting", "live", "paused"))
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(running or state == "paused")
        for widget in (self.provider_combo, self.language_combo, self.source_combo,
                       self.mic_combo, self.system_combo, self.refresh_button):
            widget.setEnabled(not running)
            widget.setToolTip("Stop or pause captioning to change this" if running else "")
        if state in ("starting", "live"):
            if self._started_at is None:
                self._started_at = time.monotonic()
            self._clock.start()
        else:
            if self._started_at is not None:
                self._elapsed_s += time.monotonic() - self._started_at
                self._started_at = None
            self._clock.stop()
        self._update_counts()

    @Slot(object)
    def on_controller_status_changed(self, status: RunStatus) -> None:
        text = describe(status)
        self.run_label.setText(text)
        self.run_label.setAccessibleDescription(text)

    @Slot()
    def on_clock_timeout(self) -> None:
        self._update_counts()
        status = self.controller.status
        if status.state == "reconnecting":
            self.on_controller_status_changed(status)

    def _update_counts(self) -> None:
        transcript = self.controller.transcript
        words = transcript.word_count() if transcript is not None else 0
        elapsed = self._elapsed_s + (time.monotonic() - self._started_at
                                     if self._started_at is not None else 0.0)
        if transcript is None:
            self.count_label.setText("")
            return
        h, rem = divmod(int(elapsed), 3600)
        m, s = divmod(rem, 60)
        self.count_label.setText(f"{words} words · {h}:{m:02d}:{s:02d}")

    @Slot(str)
    def on_banners_action_requested(self, action: str) -> None:
        if action == "preferences":
            self.actions.preferences.trigger()
            return
        if action in ("add_key", "offline") and "hint" in self.banners.banners:
            self.settings.set(Key.FIRST_RUN_HINT_SHOWN, True)
        if action == "add_key":
            self.key_requested.emit(self.settings.get(Key.PROVIDER))
        elif action == "offline":
            self.banners.clear("hint")
            select_data(self.provider_combo, "local")
            self.controller.use_offline()
        elif action in ("devices", "system_devices"):
            self.refresh_devices()
            system = action == "system_devices" or self.source_combo.currentData() == "system"
            combo = self.system_combo if system else self.mic_combo
            combo.setFocus(Qt.FocusReason.OtherFocusReason)
            combo.showPopup()
        elif action == "retry":
            self.banners.clear("run")
            self.controller.start()
        elif action == "history":
            self.actions.history.trigger()

    # -- export -------------------------------------------------------------------

    def _ask_save_path(self, suggested: str, filters: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, "Export transcript", suggested, filters)
        return path

    def suggested_path(self, fmt: str) -> str:
        folder = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        stamp = dt.datetime.now().strftime("%Y-%m-%d %H.%M")
        return str(Path(folder) / f"Captions {stamp}.{fmt}")

    def export_as(self, fmt: str | None) -> Path | None:
        """Ask where, then save everything final so far. Returns the file written."""
        if self.controller.transcript is None or not self.controller.transcript.finals:
            self.banners.post(Problem("There is nothing to export yet: no caption has been "
                                      "finalized in this session.", "info", key="export"))
            return None
        filters = ";;".join(f"{FORMAT_TITLES[f]} (*.{f})" for f in exporter.FORMATS
                            if fmt is None or f == fmt)
        path = self.ask_save_path(self.suggested_path(fmt or "txt"), filters)
        if not path:
            return None
        target = Path(path)
        chosen = fmt or (target.suffix.lstrip(".").lower() or "txt")
        if chosen not in exporter.FORMATS:
            chosen = "txt"
        if not target.suffix:
            target = target.with_suffix(f".{chosen}")
        try:
            written = self.controller.export_to(target, chosen)
        except (exporter.ExportError, ValueError) as exc:
            self.banners.post(Problem(f"{exc} Choose another folder or free some space.",
                                      "error", key="export"))
            return None
        self.banners.post(Problem(saved_message("Saved the transcript to", written), "info",
                                  key="export"))
        return written[0]

    # -- misc ---------------------------------------------------------------------

    def show_shortcuts(self) -> None:
        from captioner.gui.dialogs import show_shortcuts

        show_shortcuts(self, self.actions)

    def closeEvent(self, event: QCloseEvent) -> None:
        geometry = bytes(self.saveGeometry().toBase64()).decode("ascii")
        self.settings.set(Key.WINDOW_GEOMETRY, geometry)
        if self.hide_on_close:
            event.ignore()
            self.hide()
            return
        event.accept()
        self.quit_requested.emit()

