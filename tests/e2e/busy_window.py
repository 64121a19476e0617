"""A busy stand-in "meeting app" for the overlay's rig tests: a normal window full of
what shows through a translucent caption panel at its worst: white areas, black text,
thin black-and-white stripes, saturated video tiles, buttons.

    python tests/e2e/busy_window.py TITLE [maximized]

It runs until it is terminated. The top-left 40×40 px are ``MARKER`` (so a test can
see the window on screen).
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QApplication, QWidget

MARKER = "#e91e63"
TILES = ("#ffeb3b", "#00e5ff", "#76ff03", "#ff9100", "#ffffff", "#d500f9")
TEXT = ("Participants (12) · Chat · Share screen · Raise hand · Mute · Leave meeting · "
        "Recording · Reactions · Breakout rooms · 00:42:17 · ") * 3


class BusyWindow(QWidget):
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), QColor("#ffffff"))
        tile_w = w // len(TILES)
        for i, color in enumerate(TILES):  # video tiles across the top third
            p.fillRect(QRect(i * tile_w, 0, tile_w - 6, h // 3), QColor(color))
        p.fillRect(QRect(0, 0, 40, 40), QColor(MARKER))
        p.setPen(QColor("#000000"))
        font = QFont("DejaVu Sans", 13)
        p.setFont(font)
        y = h // 3 + 20
        row = 0
        while y < h:  # text rows, thin stripes, buttons: the rest of the window
            if row % 3 == 2:
                for x in range(0, w, 4):
                    p.fillRect(QRect(x, y - 14, 2, 18), QColor("#000000"))
            else:
                p.drawText(8 + (row * 37) % 90, y, TEXT)
            if row % 4 == 1:
                for x in range(30, w, 210):
                    p.drawRect(QRect(x, y + 6, 150, 26))
                    p.drawText(QRect(x, y + 6, 150, 26), Qt.AlignmentFlag.AlignCenter, "Button")
                y += 34
            y += 24
            row += 1
        p.end()


def main() -> int:
    app = QApplication(sys.argv)
    window = BusyWindow()
    window.setWindowTitle(sys.argv[1] if len(sys.argv) > 1 else "busy-meeting-app")
    window.setGeometry(0, 0, 1280, 720)
    if "maximized" in sys.argv[2:]:
        window.showMaximized()
    else:
        window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
