"""The overlay's small status line: provider, state (with a reconnect countdown), input level.

:class:`RunStatus` is the plain value the controller sends; :func:`describe`
turns it into words (Qt-free logic, tested directly). :class:`StatusLine`
draws it: a coloured dot, the words, and a five-bar input meter.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

log = logging.getLogger(__name__)

# state -> dot colour
COLORS = {
    "idle": "#9e9e9e",
    "starting": "#64b5f6",
    "connecting": "#64b5f6",
    "live": "#66bb6a",
    "paused": "#ffca28",
    "reconnecting": "#ffa726",
    "fallback": "#ffca28",
    "degraded": "#ffca28",  # hot standby: the offline engine stands in for the cloud
    "stopping": "#9e9e9e",
    "stopped": "#9e9e9e",
    "failed": "#ef5350",
}
REC_COLOR = "#ef5350"
LEVEL_FLOOR_DB = -60.0
LEVEL_BARS = 5


@dataclass(frozen=True)
class RunStatus:
    """What the status line says.

    Attributes:
        state: one of :data:`COLORS`' keys.
        provider: the provider's title ("Offline engine", "Deepgram").
        message: extra words (a reconnect reason), may be "".
        retry_at_s: ``time.monotonic()`` of the next reconnect attempt, or 0.
        click_through: remind how to get the mouse back.
        click_through_keys: the shortcut that turns click-through off.
        recording: the session's audio is being recorded ("REC").
    """

    state: str = "idle"
    provider: str = ""
    message: str = ""
    retry_at_s: float = 0.0
    click_through: bool = False
    click_through_keys: str = ""
    recording: bool = False


def describe(status: RunStatus, now_s: float | None = None) -> str:
    """The status in words: "Live · Offline engine", "Reconnecting in 4 s · Deepgram"."""
    now_s = time.monotonic() if now_s is None else now_s
    state = status.state
    if state == "reconnecting":
        left_s = max(0, math.ceil(status.retry_at_s - now_s)) if status.retry_at_s else 0
        words = f"Reconnecting in {left_s} s" if left_s else "Reconnecting…"
    elif state == "fallback":
        words = "Live (offline engine fallback)"
    elif state == "degraded":
        gone = f"{status.provider} unreachable" if status.provider else "cloud unreachable"
        words = f"Live from the offline engine · {gone}"
    else:
        words = {
            "idle": "Not captioning", "starting": "Starting…", "connecting": "Connecting…",
            "live": "Live", "paused": "Paused", "stopping": "Stopping…", "stopped": "Stopped",
            "failed": "Stopped by an error",
        }.get(state, state.capitalize())
    parts = ["REC", words] if status.recording else [words]
    if status.provider and state not in ("fallback", "degraded"):
        parts.append(status.provider)
    if status.click_through:
        keys = f" ({status.click_through_keys} to undo)" if status.click_through_keys else ""
        parts.append(f"Click-through on{keys}")
    return " · ".join(parts)


class StatusLine(QWidget):
    """A one-line status strip.

    Attributes:
        status: the :class:`RunStatus` shown.
        level_db: the latest input peak in dBFS, or None when not capturing.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.status = RunStatus()
        self.level_db: float | None = None
        self.reserve_right_px = 0  # room kept free on the right (the overlay's button)
        self.text_color = QColor("#e0e0e0")
        self._countdown = QTimer(self)
        self._countdown.setInterval(250)
        self._countdown.timeout.connect(self.on_countdown_timeout)
        self._sync_accessible()

    def set_status(self, status: RunStatus) -> None:
        self.status = status
        if status.state == "reconnecting" and status.retry_at_s:
            self._countdown.start()
        else:
            self._countdown.stop()
        self._sync_accessible()
        self.update()

    def set_level(self, level_db: float | None) -> None:
        if level_db != self.level_db:
            self.level_db = level_db
            self.update()

    def set_text_color(self, color: QColor) -> None:
        self.text_color = QColor(color)
        self.update()

    def text(self) -> str:
        return describe(self.status)

    def _sync_accessible(self) -> None:
        self.setAccessibleName("Captioning status")
        self.setAccessibleDescription(self.text())

    @Slot()
    def on_countdown_timeout(self) -> None:
        self._sync_accessible()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(240, int(QFontMetricsF(self.font()).height() + 4))

    def lit_bars(self) -> int:
        if self.level_db is None:
            return 0
        frac = (self.level_db - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB
        return max(0, min(LEVEL_BARS, math.ceil(frac * LEVEL_BARS - 0.001)))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        h = self.height()
        dot_px = max(6.0, h * 0.42)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(COLORS.get(self.status.state, "#9e9e9e")))
        painter.drawEllipse(QRectF(0, (h - dot_px) / 2, dot_px, dot_px))
        x = dot_px + 6
        # input level: five bars growing in height
        meter_w = 0.0
        if self.level_db is not None:
            bar_w, gap = max(4.0, h * 0.22), 2.0
            meter_w = LEVEL_BARS * (bar_w + gap)
            lit = self.lit_bars()
            left = self.width() - self.reserve_right_px - meter_w
            for i in range(LEVEL_BARS):
                bar_h = h * (0.3 + 0.14 * i)
                color = QColor(self.text_color if i < lit else QColor(255, 255, 255, 60))
                if i < lit and i == LEVEL_BARS - 1:
                    color = QColor("#ffa726")
                painter.setBrush(color)
                painter.drawRoundedRect(QRectF(left + i * (bar_w + gap), (h - bar_h) / 2 + 1,
                                               bar_w, bar_h - 2), 1, 1)
        painter.setFont(self.font())
        text = self.text()
        if self.status.recording:  # "REC" in red, as on a recorder
            rec_w = QFontMetricsF(self.font()).horizontalAdvance("REC")
            painter.setPen(QColor(REC_COLOR))
            painter.drawText(QRectF(x, 0, rec_w, h), Qt.AlignmentFlag.AlignVCenter
                             | Qt.AlignmentFlag.AlignLeft, "REC")
            x += rec_w
            text = text.removeprefix("REC")
        painter.setPen(self.text_color)
        rect = QRectF(x, 0, self.width() - x - meter_w - self.reserve_right_px - 8, h)
        text = QFontMetricsF(self.font()).elidedText(text, Qt.TextElideMode.ElideRight,
                                                     rect.width())
        painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        painter.end()
