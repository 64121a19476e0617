"""The caption overlay: a frameless, translucent, always-on-top window over every other window.

It shows the last N caption lines (see :class:`CaptionView`), a small status
line, and a "Jump to live" button while scrolled back. The user drags it
anywhere, resizes it from its edges and corners (taller = more lines), docks
it to the bottom or top of a screen, and its geometry is remembered per screen.
Click-through makes it ignore the mouse entirely; the shortcut and the tray
turn that off again. Keys when it has focus: Up/PageUp scroll back,
Down/PageDown forward, End or Escape jump to live.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from PySide6.QtCore import QPoint, QRect, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QColor,
    QContextMenuEvent,
    QFontMetrics,
    QGuiApplication,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QScreen,
)
from PySide6.QtWidgets import QHBoxLayout, QMenu, QPushButton, QVBoxLayout, QWidget

from captioner.gui import screen_privacy
from captioner.gui.caption_style import MAX_LINES, MIN_LINES, CaptionStyle
from captioner.gui.caption_view import PAD_Y_PX, CaptionView, paint_panel
from captioner.gui.status_line import RunStatus, StatusLine
from captioner.gui.window_grip import WindowGrip
from captioner.settings import Key, Settings
from captioner.transcript import Change

log = logging.getLogger(__name__)

DOCKS = ("bottom", "top", "floating")
DOCK_TITLES = {"bottom": "Dock at the bottom", "top": "Dock at the top",
               "floating": "Floating (where you put it)"}
MARGIN_PX = 10
SCREEN_MARGIN_PX = 48
SAVE_DELAY_MS = 400


def screen_key(screen: QScreen) -> str:
    """Identifies a screen (name and size), so a laptop alone and docked differ."""
    size = screen.size()
    return f"{screen.name() or 'screen'}@{size.width()}x{size.height()}"


def docked_rect(available: QRect, width_px: int, height_px: int, dock: str) -> QRect:
    """Where a window of that size sits when docked (centred horizontally)."""
    width_px = min(width_px, available.width())
    x = available.left() + (available.width() - width_px) // 2
    if dock == "top":
        y = available.top() + SCREEN_MARGIN_PX // 2
    else:
        y = available.bottom() - height_px - SCREEN_MARGIN_PX + 1
    return QRect(x, y, width_px, height_px)


def clamp_to(available: QRect, rect: QRect) -> QRect:
    """``rect`` moved (not resized, unless larger) to lie on ``available``."""
    r = QRect(rect)
    r.setWidth(min(r.width(), available.width()))
    r.setHeight(min(r.height(), available.height()))
    r.moveLeft(max(available.left(), min(r.left(), available.right() - r.width() + 1)))
    r.moveTop(max(available.top(), min(r.top(), available.bottom() - r.height() + 1)))
    return r


class OverlayWindow(QWidget):
    """The caption overlay window.

    Attributes:
        view: the caption text (:class:`CaptionView`).
        status_line: the status strip.
        click_through: the overlay ignores the mouse.
        dock: "bottom", "top" or "floating".
        context_actions: actions offered in the right-click menu (set by the app).

    Signals:
        lines_resized(int): the user resized the overlay to show this many lines.
        dock_changed(str): docked somewhere else (also: dragged → "floating").
        capture_hiding_failed(str): hiding from screen sharing isn't possible; why.
    """

    lines_resized = Signal(int)
    dock_changed = Signal(str)
    capture_hiding_failed = Signal(str)

    def __init__(self, settings: Settings, style: CaptionStyle | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowStaysOnTopHint)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        # NB: macOS hides tool windows while another app is active unless told not to
        self.setAttribute(Qt.WidgetAttribute.WA_MacAlwaysShowToolWindow)
        self.setWindowTitle("Captions")
        self.setObjectName("captioner-overlay")
        self.setAccessibleName("Caption overlay")
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.settings = settings
        self.style = style or CaptionStyle.from_settings(settings)
        self.dock = settings.get(Key.OVERLAY_DOCK)
        if self.dock not in DOCKS:
            self.dock = "bottom"
        self.click_through = False
        self.hidden_from_capture = False
        self.context_actions: list[QAction] = []
        self._user_moved = False
        self._user_resized = False
        self._applying = False

        self.view = CaptionView(self.style, self)
        self.status_line = StatusLine(self)
        self.jump_button = QPushButton("Jump to live", self)
        self.jump_button.setAccessibleName("Jump to live captions")
        self.jump_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.jump_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.jump_button.clicked.connect(self.on_jump_button_clicked)
        self.jump_button.hide()
        self.view.scroll_changed.connect(self.on_view_scroll_changed)

        bottom = QHBoxLayout()
        bottom.setContentsMargins(18, 0, 14, 0)
        bottom.addWidget(self.status_line, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.view, 1)
        outer.addLayout(bottom)
        self._outer = outer

        self.grip = WindowGrip(self)
        self.grip.drag_started.connect(self.on_grip_drag_started)
        self.grip.resize_started.connect(self.on_grip_resize_started)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.on_save_timer_timeout)
        self._apply_style_widgets()

    # -- style ------------------------------------------------------------------------

    def set_style(self, style: CaptionStyle) -> None:
        """Apply a new look; the height follows the number of lines."""
        self.style = style
        self.view.set_style(style)
        self._apply_style_widgets()
        self.fit_height()
        self.update()

    def _apply_style_widgets(self) -> None:
        font = self.style.status_font()
        self.status_line.setFont(font)
        status = QColor(self.style.text_color)
        status.setAlphaF(0.8)
        self.status_line.set_text_color(status)
        self.status_line.setVisible(self.style.show_status)
        self.jump_button.setFont(font)
        button_h = QFontMetrics(font).height() + 6
        self.status_line.setFixedHeight(max(int(font.pointSizeF() * 2.0), button_h))
        self._outer.setContentsMargins(0, 0, 0, 6 if self.style.show_status else 0)
        bg = QColor(self.style.text_color)
        fg = QColor(self.style.bg_color)
        self.jump_button.setStyleSheet(
            f"QPushButton {{ background: {bg.name()}; color: {fg.name()}; border: none;"
            f" border-radius: 9px; padding: 2px 12px; font-weight: 600; }}"
            f"QPushButton:focus {{ outline: 2px solid {QColor('#64b5f6').name()}; }}")
        self.setMinimumSize(int(self.style.font_pt * 6), self.height_for_lines(1))

    def status_height_px(self) -> int:
        if not self.style.show_status:
            return 0
        return self.status_line.height() + 6

    def height_for_lines(self, lines: int) -> int:
        return self.view.height_for_lines(lines) + self.status_height_px()

    def lines_fitting(self, height_px: int) -> int:
        available = height_px - self.status_height_px() - 2 * PAD_Y_PX
        lines = int((available + self.view.line_height_px * 0.5) // self.view.line_height_px)
        return max(MIN_LINES, min(MAX_LINES, lines))

    def fit_height(self) -> None:
        """Make the window exactly as tall as the configured lines need."""
        height = self.height_for_lines(self.style.lines)
        if height != self.height():
            self._applying = True
            try:
                rect = QRect(self.geometry())
                if self.dock == "bottom" or (self.dock == "floating" and self._anchored_low()):
                    rect.setTop(rect.bottom() - height + 1)
                else:
                    rect.setHeight(height)
                self.setGeometry(rect)
                if self.dock != "floating":
                    self._place_docked()
            finally:
                self._applying = False

    def _anchored_low(self) -> bool:
        screen = self.screen()
        return screen is not None and self.geometry().center().y() > \
            screen.availableGeometry().center().y()

    # -- content ----------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        self.view.apply(change)

    def set_status(self, status: RunStatus) -> None:
        """Show the run's status (the overlay adds its own click-through reminder)."""
        current = self.status_line.status
        self.status_line.set_status(replace(status, click_through=self.click_through,
                                            click_through_keys=current.click_through_keys))

    def set_level(self, level_db: float | None) -> None:
        self.status_line.set_level(level_db)

    # -- geometry ---------------------------------------------------------------------

    def _stored(self) -> dict:
        try:
            data = json.loads(self.settings.get(Key.OVERLAY_GEOMETRY) or "{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        data.setdefault("screens", {})
        return data

    def _screen_named(self, key: str | None) -> QScreen:
        for screen in QGuiApplication.screens():
            if screen_key(screen) == key:
                return screen
        return QGuiApplication.primaryScreen()

    def restore_geometry(self) -> None:
        """Place the window as it was on its screen, or docked with a sensible default size."""
        data = self._stored()
        screen = self._screen_named(data.get("last"))
        available = screen.availableGeometry()
        saved = data["screens"].get(screen_key(screen))
        height = self.height_for_lines(self.style.lines)
        width = min(available.width() - 2 * SCREEN_MARGIN_PX,
                    max(int(self.style.font_pt * 28), 900))
        rect = None
        if isinstance(saved, list) and len(saved) == 4:
            x, y, w, _h = (int(v) for v in saved)
            width = max(self.minimumWidth(), w)
            rect = QRect(x, y, width, height)
        self._applying = True
        try:
            if self.dock == "floating" and rect is not None:
                self.setGeometry(clamp_to(available, rect))
            else:
                self.setGeometry(docked_rect(available, width, height, self.dock))
        finally:
            self._applying = False

    def _place_docked(self) -> None:
        screen = self.screen() or QGuiApplication.primaryScreen()
        rect = docked_rect(screen.availableGeometry(), self.width(), self.height(), self.dock)
        self._applying = True
        try:
            self.setGeometry(rect)
        finally:
            self._applying = False

    def set_dock(self, dock: str) -> None:
        if dock not in DOCKS:
            raise ValueError(dock)
        changed = dock != self.dock
        self.dock = dock
        self.settings.set(Key.OVERLAY_DOCK, dock)
        if dock != "floating":
            self._place_docked()
        if changed:
            self.dock_changed.emit(dock)
        self._save_timer.start()

    def save_geometry(self) -> None:
        screen = self.screen()
        if screen is None:
            return
        data = self._stored()
        key = screen_key(screen)
        g = self.geometry()
        data["screens"][key] = [g.x(), g.y(), g.width(), g.height()]
        data["last"] = key
        self.settings.set(Key.OVERLAY_GEOMETRY, json.dumps(data, sort_keys=True))

    def moveEvent(self, event) -> None:
        super().moveEvent(event)
        if not self._applying and self._user_moved and self.dock != "floating":
            self.dock = "floating"
            self.settings.set(Key.OVERLAY_DOCK, "floating")
            self.dock_changed.emit("floating")
        if not self._applying:
            self._save_timer.start()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_jump_button()
        if not self._applying:
            self._save_timer.start()

    @Slot()
    def on_save_timer_timeout(self) -> None:
        if self._user_resized:
            self._user_resized = False
            lines = self.lines_fitting(self.height())
            if lines != self.style.lines:
                self.lines_resized.emit(lines)  # the app saves it and calls set_style
            else:
                self.fit_height()
            if self.dock != "floating":
                self._place_docked()
        self._user_moved = False
        self.save_geometry()

    @Slot()
    def on_grip_drag_started(self) -> None:
        self._user_moved = True

    @Slot()
    def on_grip_resize_started(self) -> None:
        self._user_resized = True

    # -- click-through and capture ------------------------------------------------------

    def set_click_through(self, on: bool) -> None:
        """Let the mouse pass through to the windows below (or stop doing so)."""
        if on == self.click_through:
            return
        self.click_through = on
        visible = self.isVisible()
        geometry = self.geometry()
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, on)
        # NB: changing window flags recreates the native window and hides it
        self.setWindowFlag(Qt.WindowType.WindowTransparentForInput, on)
        self.grip.enabled = not on
        if visible:
            self.setGeometry(geometry)
            self.show()
            if self.hidden_from_capture:
                self.set_hidden_from_capture(True)
        status = self.status_line.status
        self.status_line.set_status(replace(status, click_through=on))

    def set_click_through_keys(self, keys: str) -> None:
        status = self.status_line.status
        self.status_line.set_status(replace(status, click_through_keys=keys))

    def set_hidden_from_capture(self, hidden: bool) -> bool:
        self.hidden_from_capture = hidden
        if not self.isVisible() and hidden:
            return True  # applied on show
        done, message = screen_privacy.set_hidden_from_capture(self, hidden)
        if not done and message:
            self.capture_hiding_failed.emit(message)
        return done

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.hidden_from_capture and screen_privacy.supported():
            screen_privacy.set_hidden_from_capture(self, True)

    # -- painting and input ----------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        paint_panel(painter, QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), self.style,
                    border=self.hasFocus())
        painter.end()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        rows = self.view.rows()
        if key == Qt.Key.Key_Up:
            self.view.scroll_by(-1)
        elif key == Qt.Key.Key_PageUp:
            self.view.scroll_by(-max(1, rows - 1))
        elif key == Qt.Key.Key_Down:
            self.view.scroll_by(1)
        elif key == Qt.Key.Key_PageDown:
            self.view.scroll_by(max(1, rows - 1))
        elif key in (Qt.Key.Key_End, Qt.Key.Key_Escape):
            self.view.jump_to_live()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.update()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.build_menu()
        menu.exec(event.globalPos())

    def build_menu(self) -> QMenu:
        menu = QMenu(self)
        for action in self.context_actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.addSeparator()
        dock_menu = menu.addMenu("Position")
        for dock in DOCKS:
            action = dock_menu.addAction(DOCK_TITLES[dock])
            action.setCheckable(True)
            action.setChecked(dock == self.dock)
            action.triggered.connect(lambda _=False, d=dock: self.set_dock(d))
        lines_menu = menu.addMenu("Lines")
        for n in range(MIN_LINES, MAX_LINES + 1):
            action = lines_menu.addAction(str(n))
            action.setCheckable(True)
            action.setChecked(n == self.style.lines)
            action.triggered.connect(lambda _=False, n=n: self.lines_resized.emit(n))
        if not self.view.is_live:
            menu.addAction("Jump to live", self.view.jump_to_live)
        return menu

    # -- scroll-back -----------------------------------------------------------------

    @Slot(bool, int)
    def on_view_scroll_changed(self, live: bool, new_finals: int) -> None:
        if live:
            self.jump_button.hide()
            self._place_jump_button()
            self.status_line.update()
        else:
            more = f" ({new_finals} new)" if new_finals else ""
            self.jump_button.setText(f"↓ Jump to live{more}")
            self.jump_button.adjustSize()
            self._place_jump_button()
            self.jump_button.show()
            self.jump_button.raise_()

    def _place_jump_button(self) -> None:
        """In the status row when there is one, else floating over the captions' corner;
        either way showing it moves no caption text."""
        size = self.jump_button.sizeHint()
        if self.style.show_status:
            row = self.status_line.geometry()
            self.status_line.reserve_right_px = size.width() + 10 if self.jump_button.isVisible() \
                or not self.view.is_live else 0
            self.jump_button.setGeometry(row.right() - size.width() + 1,
                                         row.center().y() - size.height() // 2,
                                         size.width(), size.height())
        else:
            view = self.view.geometry()
            self.jump_button.setGeometry(view.right() - size.width() - 12,
                                         view.bottom() - size.height() - 4,
                                         size.width(), size.height())

    @Slot()
    def on_jump_button_clicked(self) -> None:
        self.view.jump_to_live()

    def global_text_rect(self) -> QRect:
        """The caption area in screen coordinates (for tests and screenshots)."""
        return QRect(self.view.mapToGlobal(QPoint(0, 0)), self.view.size())
