"""Small dialogs: About (version, log file), shortcuts, crash recovery, unexpected errors."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from captioner import __version__
from captioner.gui.actions import SPECS, AppActions
from captioner.gui.icons import app_icon

log = logging.getLogger(__name__)


def show_about(parent: QWidget | None, log_path: Path | None, data_dir: Path | None) -> None:
    box = QMessageBox(parent)
    box.setWindowTitle("About captioner")
    box.setIconPixmap(app_icon().pixmap(64, 64))
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(f"<h3>captioner {__version__}</h3>"
                "<p>Real-time live captions over any window, from your microphone and what "
                "your computer plays — offline, or with a cloud speech service.</p>")
    lines = []
    if log_path is not None:
        lines.append(f"Log file (send it with bug reports): {log_path}")
    if data_dir is not None:
        lines.append(f"Saved transcripts: {data_dir}")
    box.setInformativeText("\n".join(lines))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    open_logs = None
    if log_path is not None:
        open_logs = box.addButton("Open log folder", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Close)
    box.exec()
    if open_logs is not None and box.clickedButton() is open_logs and log_path is not None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_path.parent)))


def show_shortcuts(parent: QWidget | None, actions: AppActions) -> None:
    dialog = QDialog(parent)
    dialog.setWindowTitle("Keyboard shortcuts")
    layout = QVBoxLayout(dialog)
    note = QLabel("These work while any captioner window is active. None is system-wide: from "
                  "another app, use the tray icon's menu. Change them in Preferences → "
                  "Shortcuts. In the overlay: Up/Down and Page Up/Down scroll, End or Esc "
                  "returns to live.", dialog)
    note.setWordWrap(True)
    layout.addWidget(note)
    rows = [(spec[0].replace("&", "").rstrip("…"), actions.shortcut_text(name))
            for name, spec in SPECS.items() if actions.shortcut_text(name)]
    table = QTableWidget(len(rows), 2, dialog)
    table.setHorizontalHeaderLabels(["Action", "Shortcut"])
    table.setAccessibleName("Keyboard shortcuts")
    for row, (text, keys) in enumerate(rows):
        table.setItem(row, 0, QTableWidgetItem(text))
        table.setItem(row, 1, QTableWidgetItem(keys))
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    layout.addWidget(table)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    dialog.resize(480, 460)
    dialog.exec()


def ask_recover(parent: QWidget | None, count: int, words: int) -> bool:
    """Offer to recover sessions that were cut short; True to recover."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Recover transcripts")
    what = "a session" if count == 1 else f"{count} sessions"
    box.setText(f"captioner did not close properly last time. {what.capitalize()} "
                f"({words} words) can be recovered.")
    box.setInformativeText("Recovered transcripts appear in Past sessions, where you can read, "
                           "export or delete them.")
    recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(recover)
    box.exec()
    return box.clickedButton() is recover


def show_error(parent: QWidget | None, message: str, details: str = "",
               log_path: Path | None = None) -> None:
    """An unexpected error in plain words; the traceback only behind "Show details"."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Something went wrong")
    box.setText(message)
    where = f" The details are in the log file: {log_path}" if log_path else ""
    box.setInformativeText("Captioning and your transcript are not affected unless a message "
                           f"says so. If this keeps happening, please report it.{where}")
    if details:
        box.setDetailedText(details)
    box.addButton(QMessageBox.StandardButton.Ok)
    box.exec()
