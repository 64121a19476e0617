"""Where the caption overlay may be: rectangles on a screen's available area, no widgets.

Pure geometry shared by the overlay and the preferences: keep a rectangle whole on
the available area (:func:`clamp_to`), the band a docked overlay takes
(:func:`docked_rect`), how many caption lines fit (:func:`max_height_px`), and the
first-run layout in which the overlay and the control window don't overlap
(:func:`first_run_rects`).
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QScreen

DOCKS = ("bottom", "top", "floating")
DOCK_TITLES = {"bottom": "Docked at the bottom (windows stay clear)",
               "top": "Docked at the top (windows stay clear)",
               "floating": "Floating (where you put it)"}
FLOAT_MARGIN_PX = 24  # between a first-run floating overlay and the screen's edge
DOCKED_MAX_SHARE = 0.5  # a docked band takes at most this share of the screen's height
WINDOW_GAP_PX = 12  # between the overlay and the control window on first run


def screen_key(screen: QScreen) -> str:
    """Identifies a screen (name and size), so a laptop alone and docked differ."""
    size = screen.size()
    return f"{screen.name() or 'screen'}@{size.width()}x{size.height()}"


def clamp_to(available: QRect, rect: QRect) -> QRect:
    """``rect`` moved (and shrunk, if larger) to lie whole on ``available``."""
    r = QRect(rect)
    r.setWidth(min(r.width(), available.width()))
    r.setHeight(min(r.height(), available.height()))
    r.moveLeft(max(available.left(), min(r.left(), available.right() - r.width() + 1)))
    r.moveTop(max(available.top(), min(r.top(), available.bottom() - r.height() + 1)))
    return r


def max_height_px(available: QRect, dock: str) -> int:
    """The tallest the overlay may be: the whole available height when floating, a
    share of it when docked (the band is taken from every other window)."""
    if dock == "floating":
        return available.height()
    return int(available.height() * DOCKED_MAX_SHARE)


def docked_rect(available: QRect, height_px: int, dock: str) -> QRect:
    """The band a docked overlay fills: the available area's whole width, flush with
    its top or bottom edge."""
    height_px = min(height_px, available.height())
    y = available.top() if dock == "top" else available.bottom() - height_px + 1
    return QRect(available.left(), y, available.width(), height_px)


def floating_default(available: QRect, size: QSize) -> QRect:
    """A floating overlay's first place: centred near the bottom of the screen."""
    rect = QRect(0, 0, min(size.width(), available.width() - 2 * FLOAT_MARGIN_PX),
                 size.height())
    rect.moveLeft(available.left() + (available.width() - rect.width()) // 2)
    rect.moveTop(available.bottom() - FLOAT_MARGIN_PX - rect.height() + 1)
    return clamp_to(available, rect)


def first_run_rects(available: QRect, overlay: QRect, window: QSize,
                    frame_px: int) -> QRect:
    """Where the control window goes on first run so that the overlay (already placed)
    doesn't cover any of it: in the taller free band above or below the overlay, as big
    as it asked for or as fits there. ``frame_px``: the title bar's height. Returns the
    window's frame rectangle."""
    above = QRect(available.left(), available.top(), available.width(),
                  overlay.top() - WINDOW_GAP_PX - available.top())
    below = QRect(available.left(), overlay.bottom() + 1 + WINDOW_GAP_PX, available.width(),
                  available.bottom() - overlay.bottom() - WINDOW_GAP_PX)
    band = above if above.height() >= below.height() else below
    width = min(window.width(), band.width())
    height = max(1, min(window.height() + frame_px, band.height()))
    x = band.left() + (band.width() - width) // 2
    y = band.bottom() - height + 1 if band is above else band.top()
    return QRect(x, y, width, height)
