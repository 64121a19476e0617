"""The overlay's status line: an icon, the run's state or its most serious problem in plain
words, and an input meter.

:class:`~captioner.runstate.RunStatus` (Qt-free, with :func:`describe`) is what
it shows. :class:`StatusLine` draws it: the state's icon from the app's own
resources (never a font glyph), the words, and a five-bar input meter. While a
problem is going on the whole line sits on a band of the problem's colour
(red: error, orange: warning, blue: notice) so it is seen from the corner of an eye.
Each new status is logged once when it is first painted ("status line shows …"),
so the log tells when the user could see it (the rig tests measure against it).
"""

from __future__ import annotations

import logging
import math

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from captioner.gui.icons import status_pixmap
from captioner.runstate import RunStatus, describe

log = logging.getLogger(__name__)

__all__ = ["BANDS", "LEVEL_BARS", "LEVEL_FLOOR_DB", "REC_COLOR", "RunStatus", "StatusLine",
           "describe"]

# level -> band behind the line (white text on each passes WCAG AA: >= 4.5:1)
BANDS = {"error": "#b71c1c", "warning": "#a84300", "notice": "#0d47a1"}
REC_COLOR = "#ef5350"
LEVEL_FLOOR_DB = -60.0
LEVEL_BARS = 5


class StatusLine(QWidget):
    """A one-line status strip.

    Attributes:
        status: the :class:`RunStatus` shown.
        level_db: the latest input peak in dBFS, or None when not capturing.
        reserve_right_px: room kept free on the right (the overlay's button).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.status = RunStatus()
        self.level_db: float | None = None
        self.reserve_right_px = 0
        self.text_color = QColor("#e0e0e0")
        self._painted: RunStatus | None = None  # the status last logged as shown
        self._countdown = QTimer(self)
        self._countdown.setInterval(250)
        self._countdown.timeout.connect(self.on_countdown_timeout)
        self._sync_accessible()

    def set_status(self, status: RunStatus) -> None:
        self.status = status
        if status.state == "reconnecting":
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

    def band_color(self) -> QColor | None:
        """The problem's colour behind the line, or None when all is well."""
        band = BANDS.get(self.status.level)
        return QColor(band) if band else None

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
        band = self.band_color()
        text_color = QColor("#ffffff") if band is not None else self.text_color
        right = self.width() - self.reserve_right_px
        if band is not None:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(band)
            painter.drawRoundedRect(QRectF(-10, 1, right + 10, h - 2), h / 2 - 1, h / 2 - 1)
        icon_px = max(12, round(h * 0.72))
        painter.drawPixmap(2, int((h - icon_px) / 2),
                           status_pixmap(self.status.icon, icon_px, self.devicePixelRatioF()))
        x = float(icon_px + 8)
        meter_w = 0.0
        if self.level_db is not None:
            bar_w, gap = max(4.0, h * 0.22), 2.0
            meter_w = LEVEL_BARS * (bar_w + gap) + 6
            lit = self.lit_bars()
            left = right - meter_w
            painter.setPen(Qt.PenStyle.NoPen)
            for i in range(LEVEL_BARS):
                bar_h = h * (0.3 + 0.14 * i)
                color = QColor(text_color if i < lit else QColor(255, 255, 255, 60))
                if i < lit and i == LEVEL_BARS - 1:
                    color = QColor("#ffa726")
                painter.setBrush(color)
                painter.drawRoundedRect(QRectF(left + i * (bar_w + gap), (h - bar_h) / 2 + 1,
                                               bar_w, bar_h - 2), 1, 1)
        painter.setFont(self.font())
        text = self.text()
        if self.status.recording:  # "REC" in red, as on a recorder
            rec_w = QFontMetricsF(self.font()).horizontalAdvance("REC")
            painter.setPen(QColor("#ffffff" if band is not None else REC_COLOR))
            painter.drawText(QRectF(x, 0, rec_w, h), Qt.AlignmentFlag.AlignVCenter
                             | Qt.AlignmentFlag.AlignLeft, "REC")
            x += rec_w
            text = text.removeprefix("REC")
        painter.setPen(text_color)
        rect = QRectF(x, 0, right - x - meter_w - 8, h)
        text = QFontMetricsF(self.font()).elidedText(text, Qt.TextElideMode.ElideRight,
                                                     rect.width())
        painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        painter.end()
        if self._painted is not self.status:
            self._painted = self.status
            log.info("status line shows [%s, %s]: %s", self.status.level, self.status.icon,
                     self.text())
