"""Banners: a problem in plain words with the buttons that fix it, shown above the transcript.

A :class:`BannerArea` holds one banner per key ("run", "journal", "hint", …):
posting again with the same key updates that banner in place (one condition,
one banner), and whoever owns the condition clears it when it ends. At most
:data:`MAX_SHOWN` banners are shown, the most severe and newest first; a
"+N more" button shows the rest (and "Show fewer" folds them again), so the
live transcript keeps its space. A new or changed message is announced to
screen readers. Icons are the app's own SVGs (no font glyphs that a font may
lack).
"""

from __future__ import annotations

import itertools
import logging

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon
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
from captioner.gui.icons import status_pixmap

log = logging.getLogger(__name__)

MAX_SHOWN = 2
ICON_PX = 20
ACTION_TITLES = {
    "preferences": "Open Preferences",
    "add_key": "Add key",
    "offline": "Use the offline engine",
    "devices": "Choose microphone",
    "system_devices": "Choose system audio",
    "retry": "Try again",
    "history": "Open past sessions",
}
# level -> (background, border, text, icon, word); colours meet WCAG AA on their background
STYLES = {
    "error": ("#fdecea", "#b71c1c", "#611a15", "error", "Error"),
    "warning": ("#fff4e5", "#e65100", "#663c00", "warning", "Warning"),
    "info": ("#e8f4fd", "#0d47a1", "#0d3c61", "info", "Note"),
}
SEVERITY = {"error": 0, "warning": 1, "info": 2}
# keys of conditions that last (and are updated while they do), as opposed to one-off events
# ("run": an attempt failed, "export": a file was saved), which are news every time
LASTING = ("capture:", "reconnect", "fallback", "journal", "devices", "language", "translation",
           "recording")
_order = itertools.count()


class Banner(QFrame):
    """One problem.

    Attributes:
        problem: what it shows.
        label: the message.
        button: the first action's button, or None.
        buttons: every action's button, in order.
        icon_name: the status icon shown.
        order: when it was first posted (bigger is newer).

    Signals:
        action_requested(str): an action button was pressed.
        dismissed(): the close button was pressed.
    """

    action_requested = Signal(str)
    dismissed = Signal()

    def __init__(self, problem: Problem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.order = next(_order)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 6, 6)
        self.icon = QLabel(self)
        self._layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignVCenter)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                           | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        # NB: a word-wrapped label's minimum height is computed for its minimum width; a
        # sensible minimum width keeps the banner from growing tall and mostly empty
        self.label.setMinimumWidth(self.label.fontMetrics().averageCharWidth() * 45)
        self._layout.addWidget(self.label, 1)
        self.buttons: list[QPushButton] = []
        self.close_button = QToolButton(self)
        self.close_button.setIcon(QIcon(status_pixmap("dismiss", 16, self.devicePixelRatioF())))
        self.close_button.setIconSize(QSize(16, 16))
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAccessibleName("Dismiss this message")
        self.close_button.clicked.connect(self.dismissed)
        self._layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.problem = problem
        self.icon_name = ""
        self.update_problem(problem)

    @property
    def button(self) -> QPushButton | None:
        return self.buttons[0] if self.buttons else None

    def update_problem(self, problem: Problem) -> None:
        """Show ``problem`` (the same condition, maybe with new words or actions)."""
        self.problem = problem
        bg, border, fg, icon, word = STYLES.get(problem.level, STYLES["warning"])
        self.setStyleSheet(
            f"QFrame#banner {{ background: {bg}; border: 1px solid {border};"
            f" border-left: 5px solid {border}; border-radius: 4px; }}"
            f"QFrame#banner QLabel {{ color: {fg}; background: transparent; border: none; }}")
        self.setAccessibleName(f"{word}: {problem.message}")
        self.icon_name = problem.icon or icon
        self.icon.setPixmap(status_pixmap(self.icon_name, ICON_PX, self.devicePixelRatioF()))
        self.icon.setAccessibleName(word)
        self.label.setText(problem.message)
        self.label.setAccessibleName(problem.message)
        actions = [a for a in (problem.action, *problem.also) if a in ACTION_TITLES]
        if [b.property("action") for b in self.buttons] != actions:
            for old in self.buttons:
                old.hide()
                old.deleteLater()
            self.buttons = []
            for index, action in enumerate(actions):
                button = QPushButton(ACTION_TITLES[action], self)
                button.setProperty("action", action)
                button.setAccessibleName(ACTION_TITLES[action])
                button.clicked.connect(lambda _=False, a=action: self.action_requested.emit(a))
                self._layout.insertWidget(2 + index, button, 0, Qt.AlignmentFlag.AlignVCenter)
                self.buttons.append(button)

    def rank(self) -> tuple[int, int]:
        """Sort key: errors before warnings before notes, newest first."""
        return SEVERITY.get(self.problem.level, 1), -self.order


class BannerArea(QWidget):
    """The banners, at most :data:`MAX_SHOWN` at a time, with a count of the rest.

    Attributes:
        banners: key -> banner (shown or folded away).
        dismissed: key -> the last problem of a condition the user closed, while it lasts.
        more_button: "+N more" / "Show fewer".
        expanded: every banner is shown.

    Signals:
        action_requested(str): a banner's action ("preferences", "devices", "retry", …).
        banner_dismissed(str): the user closed the banner with this key.
        arranged(): banners were added, removed, folded or unfolded (the Tab order changes).
    """

    action_requested = Signal(str)
    banner_dismissed = Signal(str)
    arranged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.banners: dict[str, Banner] = {}
        self.dismissed: dict[str, Problem] = {}
        self.expanded = False
        self.more_button = QToolButton(self)
        self.more_button.setAutoRaise(True)
        self.more_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.more_button.clicked.connect(self.on_more_button_clicked)
        self._layout.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setAccessibleName("Messages")
        self.hide()

    @Slot(object)
    def on_controller_problem_posted(self, problem: Problem) -> None:
        self.post(problem)

    @Slot(str)
    def on_controller_problem_cleared(self, key: str) -> None:
        self.clear(key)

    def post(self, problem: Problem) -> Banner | None:
        """Show ``problem``; one with the same key is updated in place. A lasting condition
        (:data:`LASTING`) the user dismissed stays dismissed while it lasts (its updates, "for
        20 s", don't bring it back) unless it gets worse; None then."""
        dismissed = self.dismissed.get(problem.key)
        if dismissed is not None and problem.key.startswith(LASTING) and \
                SEVERITY.get(problem.level, 1) >= SEVERITY.get(dismissed.level, 1):
            self.dismissed[problem.key] = problem
            return None
        self.dismissed.pop(problem.key, None)
        banner = self.banners.get(problem.key)
        if banner is not None:
            changed = banner.problem != problem
            banner.update_problem(problem)
        else:
            changed = True
            banner = Banner(problem, self)
            banner.action_requested.connect(self.action_requested)
            banner.dismissed.connect(lambda key=problem.key: self._dismiss(key))
            self.banners[problem.key] = banner
        self._arrange()
        if changed:
            log.info("banner (%s/%s): %s", problem.level, problem.key, problem.message)
            announce(banner, problem.message)
        return banner

    def _dismiss(self, key: str) -> None:
        banner = self.banners.get(key)
        self.clear(key)
        if banner is not None:
            self.dismissed[key] = banner.problem
        self.banner_dismissed.emit(key)

    def clear(self, key: str | None = None) -> None:
        """The condition ended: its banner goes (and a dismissed one may come back later)."""
        keys = list(self.banners) if key is None else [key]
        if key is None:
            self.dismissed.clear()
        else:
            self.dismissed.pop(key, None)
        for k in keys:
            banner = self.banners.pop(k, None)
            if banner is not None:
                log.info("banner cleared (%s)", k)
                banner.hide()
                banner.deleteLater()
        self._arrange()

    def ordered(self) -> list[Banner]:
        """The banners, most important first (the first :data:`MAX_SHOWN` are shown)."""
        return sorted(self.banners.values(), key=Banner.rank)

    def shown(self) -> list[Banner]:
        return [b for b in self.ordered() if not b.isHidden()]

    def hidden_count(self) -> int:
        return max(0, len(self.banners) - MAX_SHOWN) if not self.expanded else 0

    @Slot()
    def on_more_button_clicked(self) -> None:
        self.expanded = not self.expanded
        self._arrange()

    def _arrange(self) -> None:
        ordered = self.ordered()
        if len(ordered) <= MAX_SHOWN:
            self.expanded = False
        for index, banner in enumerate(ordered):
            self._layout.insertWidget(index, banner)
            banner.setVisible(self.expanded or index < MAX_SHOWN)
        rest = len(ordered) - MAX_SHOWN
        if rest > 0:
            self.more_button.setText("Show fewer" if self.expanded else f"+{rest} more")
            self.more_button.setAccessibleName(
                "Show fewer messages" if self.expanded else
                f"{rest} more message{'s' if rest > 1 else ''}: show all")
        self.more_button.setVisible(rest > 0)
        self.setVisible(bool(ordered))
        self.arranged.emit()

    def focus_chain(self) -> list[QWidget]:
        """What Tab visits here, top to bottom: each banner's buttons, then "+N more"."""
        chain: list[QWidget] = []
        for banner in self.ordered():
            chain.extend([*banner.buttons, banner.close_button])
        return [*chain, self.more_button]

    def messages(self) -> list[str]:
        return [b.problem.message for b in self.banners.values()]
