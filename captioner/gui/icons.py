"""The app icon, loaded from the package resources (no rcc), and tray variants showing the state."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtSvg import QSvgRenderer

log = logging.getLogger(__name__)

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (16, 32, 48, 64, 128, 256)


@functools.cache
def app_icon() -> QIcon:
    """The captioner icon at every size that ships."""
    icon = QIcon()
    for size in SIZES:
        path = ICON_DIR / f"captioner-{size}.png"
        if path.exists():
            icon.addFile(str(path), QSize(size, size))
    svg = ICON_DIR / "captioner.svg"
    if icon.isNull() and svg.exists():
        icon.addFile(str(svg))
    if icon.isNull():
        log.warning("app icon not found in %s", ICON_DIR)
    return icon


def state_icon(state: str) -> QIcon:
    """The app icon with a small dot: green live, amber paused/reconnecting, red failed."""
    colors = {"live": "#43a047", "starting": "#1e88e5", "paused": "#ffb300",
              "stopping": "#9e9e9e", "failed": "#e53935"}
    base = app_icon()
    color = colors.get(state)
    if color is None:
        return base
    icon = QIcon()
    for size in (16, 22, 24, 32, 48, 64):
        pixmap = base.pixmap(QSize(size, size))
        if pixmap.isNull():
            pixmap = QPixmap(size, size)
            pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        dot = size * 0.42
        painter.setPen(QPen(QColor("white"), max(1.0, size / 16)))
        painter.setBrush(QColor(color))
        painter.drawEllipse(QRectF(size - dot - 0.5, size - dot - 0.5, dot, dot))
        painter.end()
        icon.addPixmap(pixmap)
    return icon


STATUS_ICON_DIR = ICON_DIR / "status"


@functools.cache
def status_renderer(name: str) -> QSvgRenderer | None:
    """The SVG renderer for a status icon (``resources/icons/status/<name>.svg``)."""
    path = STATUS_ICON_DIR / f"{name}.svg"
    renderer = QSvgRenderer(str(path))
    if not renderer.isValid():
        log.warning("status icon %s not found or invalid", path)
        return None
    return renderer


def status_pixmap(name: str, size_px: int, device_pixel_ratio: float = 1.0) -> QPixmap:
    """A status icon drawn at ``size_px`` (transparent if it is missing)."""
    side = max(1, round(size_px * device_pixel_ratio))
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    renderer = status_renderer(name)
    if renderer is not None:
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, side, side))
        painter.end()
    pixmap.setDevicePixelRatio(device_pixel_ratio)
    return pixmap
