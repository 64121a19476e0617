"""The tray icon: start/stop, pause, show/hide overlay, click-through, control window, quit.

It is the way back to the overlay from any other app (click-through off,
overlay shown again), so the same actions as the shortcuts are here. When the
desktop has no tray (:meth:`QSystemTrayIcon.isSystemTrayAvailable` is False,
e.g. GNOME without the AppIndicator extension) none is made, and the app keeps
the control window reachable instead: closing it quits.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from captioner.gui.actions import AppActions
from captioner.gui.icons import app_icon, state_icon
from captioner.gui.status_line import RunStatus, describe

log = logging.getLogger(__name__)


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class Tray(QObject):
    """Owns the QSystemTrayIcon and its menu.

    Attributes:
        icon: the tray icon.
        menu: its context menu.
    """

    def __init__(self, actions: AppActions, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.actions = actions
        self.menu = QMenu()
        self.menu.setAccessibleName("captioner tray menu")
        for name in ("start_stop", "pause", "record", None, "toggle_overlay", "click_through",
                     "font_bigger", "font_smaller", None, "show_window", "history",
                     "preferences", None, "quit"):
            if name is None:
                self.menu.addSeparator()
            else:
                self.menu.addAction(actions[name])
        self.icon = QSystemTrayIcon(app_icon(), self)
        self.icon.setToolTip("captioner")
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self.on_icon_activated)

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    @Slot(QSystemTrayIcon.ActivationReason)
    def on_icon_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            self.actions.show_window.trigger()

    @Slot(object)
    def on_controller_status_changed(self, status: RunStatus) -> None:
        self.icon.setToolTip(f"captioner — {describe(status)}")

    @Slot(str)
    def on_controller_run_state_changed(self, state: str) -> None:
        self.icon.setIcon(state_icon(state))

    def notify(self, title: str, message: str) -> None:
        if self.icon.isVisible() and self.icon.supportsMessages():
            self.icon.showMessage(title, message, app_icon(), 6000)
