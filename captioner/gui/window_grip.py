"""Moving and resizing a frameless window by mouse: drag anywhere, resize at edges and corners.

The window system does the work where it can (``QWindow.startSystemMove`` /
``startSystemResize``: X11, Wayland, Windows, macOS), so snapping and
multi-monitor moves behave natively; where it can't (offscreen, some X11
setups without a window manager) or won't (a dock window: window managers don't
move panels; set :attr:`WindowGrip.use_system` False) the grip moves and resizes
the window itself.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QCursor, QMouseEvent
from PySide6.QtWidgets import QAbstractButton, QWidget

log = logging.getLogger(__name__)

EDGE_PX = 8

_CURSORS = {
    Qt.Edge.LeftEdge: Qt.CursorShape.SizeHorCursor,
    Qt.Edge.RightEdge: Qt.CursorShape.SizeHorCursor,
    Qt.Edge.TopEdge: Qt.CursorShape.SizeVerCursor,
    Qt.Edge.BottomEdge: Qt.CursorShape.SizeVerCursor,
}


def edges_at(rect: QRect, pos: QPoint, margin_px: int = EDGE_PX) -> Qt.Edge:
    """The window edges under ``pos`` (window coordinates); empty in the middle."""
    edges = Qt.Edge(0)
    if pos.x() <= margin_px:
        edges |= Qt.Edge.LeftEdge
    elif pos.x() >= rect.width() - margin_px:
        edges |= Qt.Edge.RightEdge
    if pos.y() <= margin_px:
        edges |= Qt.Edge.TopEdge
    elif pos.y() >= rect.height() - margin_px:
        edges |= Qt.Edge.BottomEdge
    return edges


def cursor_for(edges: Qt.Edge) -> Qt.CursorShape:
    if edges in (Qt.Edge.LeftEdge | Qt.Edge.TopEdge, Qt.Edge.RightEdge | Qt.Edge.BottomEdge):
        return Qt.CursorShape.SizeFDiagCursor
    if edges in (Qt.Edge.RightEdge | Qt.Edge.TopEdge, Qt.Edge.LeftEdge | Qt.Edge.BottomEdge):
        return Qt.CursorShape.SizeBDiagCursor
    return _CURSORS.get(edges, Qt.CursorShape.OpenHandCursor)


class WindowGrip(QObject):
    """Event filter on a frameless window and its children.

    Signals:
        drag_started(): the user began moving the window.
        resize_started(): the user began resizing the window.
        drag_finished(): the mouse was released after a move or resize.
    """

    drag_started = Signal()
    resize_started = Signal()
    drag_finished = Signal()

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self._press: QPoint | None = None  # global pos of a manual drag
        self._start_geometry = QRect()
        self._edges = Qt.Edge(0)
        self.enabled = True
        self.use_system = True  # False: the window manager won't move this window
        self.attach(window)

    def attach(self, widget: QWidget) -> None:
        widget.setMouseTracking(True)
        widget.installEventFilter(self)
        for child in widget.findChildren(QWidget):
            if not isinstance(child, QAbstractButton):
                child.setMouseTracking(True)
                child.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if not self.enabled or not isinstance(event, QMouseEvent):
            return False
        kind = event.type()
        pos = self.window.mapFromGlobal(event.globalPosition().toPoint())
        if kind == QEvent.Type.MouseMove:
            if self._press is not None and event.buttons() & Qt.MouseButton.LeftButton:
                self._manual_drag(event.globalPosition().toPoint())
                return True
            self.window.setCursor(QCursor(cursor_for(edges_at(self.window.rect(), pos))))
            return False
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            edges = edges_at(self.window.rect(), pos)
            handle = self.window.windowHandle()
            if edges:
                self.resize_started.emit()
                if self.use_system and handle is not None and handle.startSystemResize(edges):
                    return True
            else:
                self.drag_started.emit()
                if self.use_system and handle is not None and handle.startSystemMove():
                    return True
            # no system move/resize: do it ourselves
            self._press = event.globalPosition().toPoint()
            self._start_geometry = self.window.geometry()
            self._edges = edges
            return True
        if kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            was = self._press is not None
            self._press = None
            self.drag_finished.emit()
            return was
        return False

    def _manual_drag(self, global_pos: QPoint) -> None:
        assert self._press is not None
        delta = global_pos - self._press
        g = QRect(self._start_geometry)
        if not self._edges:
            g.moveTopLeft(g.topLeft() + delta)
            self.window.move(g.topLeft())
            return
        min_w = self.window.minimumWidth() or 120
        min_h = self.window.minimumHeight() or 40
        if self._edges & Qt.Edge.LeftEdge:
            g.setLeft(min(g.left() + delta.x(), g.right() - min_w))
        if self._edges & Qt.Edge.RightEdge:
            g.setRight(max(g.right() + delta.x(), g.left() + min_w))
        if self._edges & Qt.Edge.TopEdge:
            g.setTop(min(g.top() + delta.y(), g.bottom() - min_h))
        if self._edges & Qt.Edge.BottomEdge:
            g.setBottom(max(g.bottom() + delta.y(), g.top() + min_h))
        self.window.setGeometry(g)
