"""Banners: a problem in plain words with the button that fixes it, shown above the transcript.

A :class:`BannerArea` holds one banner per key ("run", "journal", "hint", …);
posting with the same key replaces it. Each new banner is announced to screen
readers.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from captioner.gui.announce import announce
from captioner.gui.controller import Problem

log = logging.getLogger(__name__)

ACTION_TITLES = {
    "preferences": "Open Preferences",
    "devices": "Choose a device",
    "retry": "Try again",
    "history": "Open past sessions",
}
STYLES = {
    "error": ("#fdecea", "#b71c1c", "#611a15", "⛔", "Error"),
    "warning": ("#fff4e5", "#e65100", "#663c00", "⚠", "Warning"),
    "info": ("#e8f4fd", "#0d47a1", "#0d3c61", "ℹ", "Note"),
}


class Banner(QFrame):
    """One problem.

    Signals:
        action_requested(str): the action button was pressed.
        dismissed(): the close button was pressed.
    """

    action_requested = Signal(str)
    dismissed = Signal()

    def __init__(self, problem: Problem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.problem = problem
        bg, border, fg, glyph, word = STYLES.get(problem.level, STYLES["warning"])
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setStyleSheet(
            f"QFrame#banner {{ background: {bg}; border: 1px solid {border};"
            f" border-left: 5px solid {border}; border-radius: 4px; }}"
            f"QFrame#banner QLabel {{ color: {fg}; background: transparent; border: none; }}")
        self.setAccessibleName(f"{word}: {problem.message}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        icon = QLabel(glyph, self)
        icon.setAccessibleName(word)
        icon.setStyleSheet("font-size: 14pt;")
        layout.addWidget(icon, 0, Qt.AlignmentFlag.AlignVCenter)
        self.label = QLabel(problem.message, self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                           | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        # NB: a word-wrapped label's minimum height is computed for its minimum width; a
        # sensible minimum width keeps the banner from growing tall and mostly empty
        self.label.setMinimumWidth(self.label.fontMetrics().averageCharWidth() * 45)
        self.label.setAccessibleName(problem.message)
        layout.addWidget(self.label, 1)
        self.button: QPushButton | None = None
        if problem.action in ACTION_TITLES:
            self.button = QPushButton(ACTION_TITLES[problem.action], self)
            self.button.setAccessibleName(ACTION_TITLES[problem.action])
            self.button.clicked.connect(self.on_button_clicked)
            layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignVCenter)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.setAccessibleName("Dismiss this message")
        close.clicked.connect(self.dismissed)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignVCenter)

    @Slot()
    def on_button_clicked(self) -> None:
        self.action_requested.emit(self.problem.action)


class BannerArea(QWidget):
    """A stack of banners, newest on top.

    Signals:
        action_requested(str): a banner's action ("preferences", "devices", "retry", …).
        banner_dismissed(str): the user closed the banner with this key.
    """

    action_requested = Signal(str)
    banner_dismissed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.banners: dict[str, Banner] = {}
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setAccessibleName("Messages")
        self.hide()

    @Slot(object)
    def on_controller_problem_posted(self, problem: Problem) -> None:
        self.post(problem)

    @Slot(str)
    def on_controller_problem_cleared(self, key: str) -> None:
        self.clear(key)

    def post(self, problem: Problem) -> Banner:
        self.clear(problem.key)
        banner = Banner(problem, self)
        banner.action_requested.connect(self.action_requested)
        banner.dismissed.connect(lambda key=problem.key: self._dismiss(key))
        self.banners[problem.key] = banner
        self._layout.insertWidget(0, banner)
        self.show()
        log.info("banner (%s/%s): %s", problem.level, problem.key, problem.message)
        announce(banner, problem.message)
        return banner

    def _dismiss(self, key: str) -> None:
        self.clear(key)
        self.banner_dismissed.emit(key)

    def clear(self, key: str | None = None) -> None:
        keys = list(self.banners) if key is None else [key]
        for k in keys:
            banner = self.banners.pop(k, None)
            if banner is not None:
                banner.hide()
                banner.deleteLater()
        if not self.banners:
            self.hide()

    def messages(self) -> list[str]:
        return [b.problem.message for b in self.banners.values()]
