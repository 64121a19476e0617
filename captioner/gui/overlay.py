"""The caption overlay: a frameless, translucent, always-on-top window over every other window.

It shows the last N caption lines (see :class:`CaptionView`), a small status
line, and a "Jump to live" button while scrolled back. The user drags it
anywhere, resizes it from its edges and corners (taller = more lines), docks
it to the bottom or top of a screen, and its geometry is remembered per screen.
It always stays whole on its screen's available area: size and place are
clamped after a restore, a drag, a font or line change and a screen or
resolution change, so the newest line and the status line can't end up past an
edge (when the lines asked for don't fit, the newest lines that fit are shown).
Docked on X11 it is a dock window that reserves its band of the screen (a
strut, see :mod:`x11_strut`): maximized windows end above or below it.
Click-through makes it ignore the mouse entirely; the shortcut and the tray
turn that off again. Keys when it has focus: Up/PageUp scroll back,
Down/PageDown forward, End or Escape jump to live.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QScreen,
)
from PySide6.QtWidgets import QHBoxLayout, QMenu, QPushButton, QStyle, QVBoxLayout, QWidget

from captioner.gui import screen_privacy, x11_strut
from captioner.gui.caption_style import MAX_LINES, MIN_LINES, CaptionStyle
from captioner.gui.caption_view import PAD_Y_PX, CaptionView, paint_panel
from captioner.gui.overlay_place import (
    DOCK_TITLES,
    DOCKS,
    clamp_to,
    docked_rect,
    first_run_rects,
    floating_default,
    max_height_px,
    screen_key,
)
from captioner.gui.status_line import RunStatus, StatusLine
from captioner.gui.window_grip import WindowGrip
from captioner.settings import Key, Settings
from captioner.transcript import Change

log = logging.getLogger(__name__)

__all__ = ["DOCKS", "DOCK_TITLES", "OverlayWindow", "clamp_to", "docked_rect", "screen_key",
           "lines_that_fit", "status_row_px"]

DOCK_MENU_TITLES = {"bottom": "Dock at the &bottom (windows stay clear)",
                    "top": "Dock at the &top (windows stay clear)",
                    "floating": "&Floating (where you put it)"}
MARGIN_PX = 10
SAVE_DELAY_MS = 400
STATUS_GAP_PX = 6  # under the status line


def status_row_px(style: CaptionStyle) -> int:
    """The status line's height (0 when hidden), with the gap under it."""
    if not style.show_status:
        return 0
    return _status_line_px(style.status_font()) + STATUS_GAP_PX


def _status_line_px(font: QFont) -> int:
    return max(int(font.pointSizeF() * 2.0), QFontMetrics(font).height() + 6)


def overlay_height_px(style: CaptionStyle, lines: int) -> int:
    """The overlay's height for ``lines`` caption lines in ``style`` (status included)."""
    return int(round(lines * style.line_height_px() + 2 * PAD_Y_PX)) + status_row_px(style)


def lines_that_fit(style: CaptionStyle, available: QRect, dock: str) -> int:
    """How many of the style's lines the overlay can show on that area (at least 1)."""
    limit = max_height_px(available, dock)
    fit = style.lines
    while fit > MIN_LINES and overlay_height_px(style, fit) > limit:
        fit -= 1
    return fit


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
        self.caption_style = style or CaptionStyle.from_settings(settings)
        self.dock = settings.get(Key.OVERLAY_DOCK)
        if self.dock not in DOCKS:
            self.dock = "floating"
        self.click_through = False
        self.hidden_from_capture = False
        self.context_actions: list[QAction] = []
        self._user_moved = False
        self._user_resized = False
        self._applying = False
        self.first_run = False  # no saved place: restore_geometry chose one
        self._strut: tuple[int, str, int] | None = None  # (window, edge, band px) reserved
        self._band: QRect | None = None  # the docked overlay's own slot, full width
        self._retype = False  # dragged off its dock: the window type changes once dropped
        self._watched_screen: QScreen | None = None

        self.view = CaptionView(self.caption_style, self)
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
        self.caption_style = style
        self.view.set_style(style)
        self._apply_style_widgets()
        self.fit_height()
        self.update()

    def _apply_style_widgets(self) -> None:
        font = self.caption_style.status_font()
        self.status_line.setFont(font)
        status = QColor(self.caption_style.text_color)
        status.setAlphaF(0.8)
        self.status_line.set_text_color(status)
        self.status_line.setVisible(self.caption_style.show_status)
        self.jump_button.setFont(font)
        self.status_line.setFixedHeight(_status_line_px(font))
        gap_px = STATUS_GAP_PX if self.caption_style.show_status else 0
        self._outer.setContentsMargins(0, 0, 0, gap_px)
        bg = QColor(self.caption_style.text_color)
        fg = QColor(self.caption_style.bg_color)
        self.jump_button.setStyleSheet(
            f"QPushButton {{ background: {bg.name()}; color: {fg.name()}; border: none;"
            f" border-radius: 9px; padding: 2px 12px; font-weight: 600; }}"
            f"QPushButton:focus {{ outline: 2px solid {QColor('#64b5f6').name()}; }}")
        self.setMinimumSize(int(self.caption_style.font_pt * 6), self.height_for_lines(1))

    def status_height_px(self) -> int:
        return status_row_px(self.caption_style)

    def height_for_lines(self, lines: int) -> int:
        return self.view.height_for_lines(lines) + self.status_height_px()

    def lines_fitting(self, height_px: int) -> int:
        available = height_px - self.status_height_px() - 2 * PAD_Y_PX
        lines = int((available + self.view.line_height_px * 0.5) // self.view.line_height_px)
        return max(MIN_LINES, min(MAX_LINES, lines))

    def lines_shown(self) -> int:
        """How many caption lines the overlay shows as it is now."""
        return self.view.rows()

    def area(self) -> QRect:
        """Where the overlay may be: its screen's available area, counting the band the
        docked overlay reserves for itself as available to it."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        available = screen.availableGeometry()
        if self._band is not None:
            # NB: fresh (our band excluded) or not yet updated by the window manager
            # (included): the union is the same either way
            available = available.united(self._band)
        return available.intersected(screen.geometry())

    def target_height(self, area: QRect | None = None) -> int:
        """The configured lines' height, or less: as many lines as fit on the area."""
        area = area if area is not None else self.area()
        limit = max(self.height_for_lines(MIN_LINES), max_height_px(area, self.dock))
        return min(self.height_for_lines(self.caption_style.lines), limit, area.height())

    def fit_height(self) -> None:
        """Make the window as tall as the configured lines need, or as fits on screen."""
        if self.dock != "floating":
            self._place_docked()
            return
        height = self.target_height()
        if height != self.height():
            rect = QRect(self.geometry())
            if self._anchored_low():
                rect.setTop(rect.bottom() - height + 1)
            else:
                rect.setHeight(height)
            self._set_geometry(rect)
        self.clamp_to_screen()

    def clamp_to_screen(self) -> None:
        """Move (and if need be shrink) the window so all of it is on the available area."""
        area = self.area()
        rect = clamp_to(area, self.geometry())
        rect.setHeight(min(rect.height(), self.target_height(area)))
        if rect != self.geometry():
            log.info("overlay kept on screen: %d,%d %dx%d", rect.x(), rect.y(), rect.width(),
                     rect.height())
            self._set_geometry(rect)

    def _set_geometry(self, rect: QRect) -> None:
        self._applying = True
        try:
            self.setGeometry(rect)
        finally:
            self._applying = False

    def _anchored_low(self) -> bool:
        return self.geometry().center().y() > self.area().center().y()

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
        """Place the window as it was on its screen (kept whole on it), docked, or on
        first run floating near the bottom (:attr:`first_run` is then True)."""
        data = self._stored()
        screen = self._screen_named(data.get("last"))
        available = screen.availableGeometry()
        self.first_run = False
        if self.dock != "floating":
            self._band = None
            self._set_geometry(docked_rect(available, self.target_height(available),
                                           self.dock))
            self._band = self._slot()
            self._update_strut()
        else:
            rect, saved = self._floating_rect(screen, available)
            self.first_run = not saved
            self._set_geometry(rect)

    def _floating_rect(self, screen: QScreen, available: QRect) -> tuple[QRect, bool]:
        """Where the overlay floats on ``screen``: its saved place there (kept whole on the
        area), or near the bottom; and whether a place was saved."""
        saved = self._stored()["screens"].get(screen_key(screen))
        height = self.target_height(available)
        if isinstance(saved, list) and len(saved) == 4:
            x, y, w, _h = (int(v) for v in saved)
            return clamp_to(available, QRect(x, y, max(self.minimumWidth(), w), height)), True
        width = max(int(self.caption_style.font_pt * 28), 900)
        return floating_default(available, QSize(width, height)), False

    def place_beside(self, window: QWidget) -> None:
        """First run: move (and if need be shrink) the control window so that the overlay
        covers none of it (it is always on top)."""
        frame_px = window.style().pixelMetric(QStyle.PixelMetric.PM_TitleBarHeight) + 8
        rect = first_run_rects(self.area(), self.geometry(), window.size(), frame_px)
        window.resize(rect.width(), max(rect.height() - frame_px, window.minimumHeight()))
        window.move(rect.topLeft())

    def _slot(self) -> QRect:
        """The docked overlay's band: its rows, the screen's whole width."""
        screen = (self.screen() or QGuiApplication.primaryScreen()).geometry()
        g = self.geometry()
        return QRect(screen.left(), g.top(), screen.width(), g.height())

    def _place_docked(self) -> None:
        area = self.area()
        self._set_geometry(docked_rect(area, self.target_height(area), self.dock))
        self._band = self._slot()
        self._update_strut()

    # -- reserving space (docked, X11) ---------------------------------------------------

    def reserves_space(self) -> bool:
        """Whether the overlay now keeps other windows out of its band."""
        return self._strut is not None

    def _update_strut(self) -> None:
        """Reserve the docked band (or give it back when floating or hidden)."""
        if not self.testAttribute(Qt.WidgetAttribute.WA_WState_Created):
            return
        window = int(self.winId())
        wanted = self.dock in ("top", "bottom") and self.isVisible() and x11_strut.supported()
        if self._strut is not None and self._strut[0] != window:
            self._strut = None  # the native window was recreated: its strut went with it
        # NB: window managers don't move or resize a dock window: the grip does it
        self.grip.use_system = not wanted
        if not wanted:
            if self._strut is not None:
                x11_strut.set_strut(window, self.dock, 0, 0, 0)
                self._strut = None
            return
        root = (self.screen() or QGuiApplication.primaryScreen()).virtualGeometry()
        g = self.geometry()
        if self.dock == "bottom":
            band = root.bottom() - g.top() + 1
        else:
            band = g.bottom() + 1 - root.top()
        if self._strut != (window, self.dock, band):
            x11_strut.set_strut(window, self.dock, band, g.left(), g.right())
            self._strut = (window, self.dock, band)

    def set_dock(self, dock: str) -> None:
        """Dock at the bottom or top of the screen (reserving the band), or float."""
        if dock not in DOCKS:
            raise ValueError(dock)
        changed = dock != self.dock
        undocked = changed and dock == "floating"
        self.dock = dock
        self.settings.set(Key.OVERLAY_DOCK, dock)
        if undocked:  # back to where it floated before it was docked
            screen = self.screen() or QGuiApplication.primaryScreen()
            self._set_geometry(self._floating_rect(screen, self.area())[0])
        if (changed or self._retype) and self.isVisible() and x11_strut.supported():
            self._remap()  # window managers read a window's type when it is mapped
        self._retype = False
        if dock != "floating":
            self._place_docked()
        else:
            self._update_strut()
            self.fit_height()
        if changed:
            self.update()
            self.dock_changed.emit(dock)
        self._save_timer.start()

    def _remap(self) -> None:
        geometry = self.geometry()
        self._applying = True
        try:
            self.hide()
            self.setGeometry(geometry)
            self.show()
        finally:
            self._applying = False

    def save_geometry(self) -> None:
        screen = self.screen()
        if screen is None:
            return
        data = self._stored()
        key = screen_key(screen)
        g = self.geometry()
        if self.dock == "floating":  # docked, the place follows from the edge
            data["screens"][key] = [g.x(), g.y(), g.width(), g.height()]
        data["last"] = key
        self.settings.set(Key.OVERLAY_GEOMETRY, json.dumps(data, sort_keys=True))

    def moveEvent(self, event) -> None:
        super().moveEvent(event)
        if not self._applying and self._user_moved and self.dock != "floating":
            # dragged off its dock: it floats, its band is given back now, and its
            # window type changes once it is dropped (a remap would end the drag)
            self.dock = "floating"
            self.settings.set(Key.OVERLAY_DOCK, "floating")
            self._band = None
            self._update_strut()
            self._retype = True
            screen = self.screen() or QGuiApplication.primaryScreen()
            width = self._floating_rect(screen, self.area())[0].width()
            if width < self.width():  # the band's full width: back to the floating width
                self._applying = True
                try:
                    self.resize(width, self.height())
                finally:
                    self._applying = False
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
        if (self._user_moved or self._user_resized) and x11_strut.supported() \
                and x11_strut.button_held():
            self._save_timer.start()  # still dragging: clamp and save once it is dropped
            return
        if self._user_resized:
            self._user_resized = False
            lines = self.lines_fitting(self.height())
            if lines != self.caption_style.lines:
                self.lines_resized.emit(lines)  # the app saves it and calls set_style
            else:
                self.fit_height()
            if self.dock != "floating":
                self._place_docked()
        if self._retype:
            self.set_dock("floating")
        if self.dock == "floating":
            self.clamp_to_screen()  # a drag or a resize may have left part of it off screen
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
        # NB: sent before the native window is mapped, and the type is read at map time
        if x11_strut.supported():
            x11_strut.set_dock_type(int(self.winId()), self.dock != "floating")
        super().showEvent(event)
        if self.hidden_from_capture and screen_privacy.supported():
            screen_privacy.set_hidden_from_capture(self, True)
        self._watch_screen()
        self._update_strut()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        if self._strut is not None and not self._applying:
            x11_strut.set_strut(int(self.winId()), self.dock, 0, 0, 0)
            self._strut = None

    # -- following the screen -----------------------------------------------------------

    def _watch_screen(self) -> None:
        handle = self.windowHandle()
        if handle is None:
            return
        if self._watched_screen is None:
            handle.screenChanged.connect(self.on_window_screen_changed)
        if handle.screen() is not self._watched_screen:
            self.on_window_screen_changed(handle.screen())

    @Slot(QScreen)
    def on_window_screen_changed(self, screen: QScreen | None) -> None:
        """Follow the screen the overlay is on: keep it whole on that screen's area."""
        old = self._watched_screen
        if old is not None:
            old.availableGeometryChanged.disconnect(self.on_screen_area_changed)
            old.geometryChanged.disconnect(self.on_screen_geometry_changed)
        self._watched_screen = screen
        if screen is not None:
            screen.availableGeometryChanged.connect(self.on_screen_area_changed)
            screen.geometryChanged.connect(self.on_screen_geometry_changed)
        if old is not None:
            self._band = None  # a band on the old screen
            self.on_screen_area_changed()

    @Slot(QRect)
    def on_screen_geometry_changed(self, screen_rect: QRect) -> None:
        """A resolution change: the docked band moves to the same edge of the new size
        (the window manager keeps the strut's size along the edge until we set ours)."""
        if self._band is not None:
            band = QRect(self._band)
            band.setLeft(screen_rect.left())
            band.setWidth(screen_rect.width())
            if self.dock == "bottom":
                band.moveBottom(screen_rect.bottom())
            else:
                band.moveTop(screen_rect.top())
            self._band = band
        self.on_screen_area_changed()

    @Slot()
    def on_screen_area_changed(self, *_args: object) -> None:
        screen = self.screen() or QGuiApplication.primaryScreen()
        if self.dock == "floating" and self._band is not None \
                and screen.availableGeometry().contains(self._band):
            self._band = None  # the window manager has given our old band back
        self.fit_height()

    # -- painting and input ----------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        radius_px = 14.0 if self.dock == "floating" else 0.0  # docked: a band, edge to edge
        paint_panel(painter, QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5),
                    self.caption_style, radius_px, border=self.hasFocus())
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
        dock_menu = menu.addMenu("Positio&n")
        for dock in DOCKS:
            action = dock_menu.addAction(DOCK_MENU_TITLES[dock])
            action.setCheckable(True)
            action.setChecked(dock == self.dock)
            action.triggered.connect(lambda _=False, d=dock: self.set_dock(d))
        lines_menu = menu.addMenu("L&ines")
        for n in range(MIN_LINES, MAX_LINES + 1):
            action = lines_menu.addAction(str(n))
            action.setCheckable(True)
            action.setChecked(n == self.caption_style.lines)
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
        if self.caption_style.show_status:
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
