"""A focus ring that can be seen in every theme: 2 px around whichever widget has the focus.

The platform styles draw focus faintly (Fusion: a 1 px tint of the highlight
colour), too faint for many people and invisible in some dark themes. A
:class:`FocusTracker` follows ``QApplication.focusChanged`` and keeps one
:class:`FocusRing` around the focused widget of any captioner window (not the
translucent overlay). The ring's colour is the palette's highlight when that
stands out from the window background (contrast at least 3:1, WCAG 2.2's bar
for focus indicators), else the window text colour (as in high contrast themes).
"""

from __future__ import annotations

import logging

import shiboken6
from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Slot
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger(__name__)

RING_PX = 2
GAP_PX = 1
MIN_CONTRAST = 3.0


def luminance(color: QColor) -> float:
    """WCAG relative luminance of an opaque colour."""
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) \
        + 0.0722 * channel(color.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def ring_color(palette: QPalette) -> QColor:
    """The ring's colour on this palette (see the module docstring)."""
    background = palette.color(QPalette.ColorRole.Window)
    highlight = palette.color(QPalette.ColorRole.Highlight)
    if contrast(highlight, background) >= MIN_CONTRAST:
        return highlight
    return palette.color(QPalette.ColorRole.WindowText)


class FocusRing(QWidget):
    """The ring, a mouse-transparent sibling drawn over the edge of its target.

    Attributes:
        target: the widget it surrounds, or None.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.target: QWidget | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName("")
        self.hide()

    def follow(self, widget: QWidget | None) -> None:
        if self.target is not None and shiboken6.isValid(self.target):
            self.target.removeEventFilter(self)
        self.target = None
        parent = widget.parentWidget() if widget is not None else None
        if widget is None or parent is None:
            self.hide()
            return
        self.target = widget
        if self.parentWidget() is not parent:
            self.setParent(parent)
        widget.installEventFilter(self)
        self.place()

    def place(self) -> None:
        target = self.target
        if target is None or not shiboken6.isValid(target):
            self.hide()
            return
        margin = RING_PX + GAP_PX
        self.setGeometry(target.geometry().adjusted(-margin, -margin, margin, margin))
        self.setVisible(target.isVisible())
        self.raise_()
        self.update()

    def color(self) -> QColor:
        source = self.target if self.target is not None else self
        return ring_color(source.palette())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.target and event.type() in (
                QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.Hide,
                QEvent.Type.ZOrderChange):
            self.place()
        return False

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(self.color(), RING_PX)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        half = RING_PX / 2
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(half, half, -half, -half), 3, 3)
        painter.end()


class FocusTracker(QObject):
    """Keeps the ring on the focused widget of the app's windows.

    Attributes:
        ring: the current ring (a new one if the widget it lived in was destroyed).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ring = FocusRing()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self.on_app_focus_changed)
            self.on_app_focus_changed(None, app.focusWidget())

    @Slot(QWidget, QWidget)
    def on_app_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if not shiboken6.isValid(self.ring):
            self.ring = FocusRing()
        window = new.window() if new is not None else None
        if window is not None and window.testAttribute(Qt.WidgetAttribute.WA_TranslucentBackground):
            new = None  # the overlay draws its own state
        self.ring.follow(new)
