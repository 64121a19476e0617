"""Past sessions: list (date, duration, provider, words), open to read and search, export, delete.

Reads the journals in the sessions folder (``captioner.transcript.journal``); a session
still being written (this or another running app) is marked "Live now" and
can't be deleted.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from captioner.config import PROVIDER_TITLES
from captioner.gui.choices import FORMAT_TITLES, saved_message
from captioner.gui.transcript_view import TranscriptPane
from captioner.transcript import export as exporter
from captioner.transcript import store
from captioner.transcript.render import format_duration

log = logging.getLogger(__name__)

COLUMNS = ("Date", "Duration", "Provider", "Words", "Status")


def started_text(started_at: str) -> str:
    """``"2026-11-22T14:05:00+01:00"`` → ``"Sun 22 Nov 2026, 14:05"`` in local time."""
    try:
        when = dt.datetime.fromisoformat(started_at)
    except ValueError:
        return started_at or "unknown"
    if when.tzinfo is not None:
        when = when.astimezone()
    return when.strftime("%a %d %b %Y, %H:%M")


def status_text(summary: store.SessionSummary) -> str:
    if summary.live:
        return "Live now"
    if summary.recovered:
        return "Recovered"
    if not summary.ended:
        return "Unfinished"
    return ""


class SessionViewer(QDialog):
    """One past session, read-only with search."""

    def __init__(self, record: store.SessionRecord, export: Callable[[str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.record = record
        title = started_text(str(record.meta.get("started_at", "")))
        self.setWindowTitle(f"Session of {title}")
        self.pane = TranscriptPane(self, name="Session transcript")
        self.pane.show_source_labels = len(record.meta.get("sources") or []) > 1
        self.pane.set_segments(record.segments, record.translations)
        layout = QVBoxLayout(self)
        info = QLabel(f"{title} · {format_duration(record.duration_ms)} · "
                      f"{PROVIDER_TITLES.get(str(record.meta.get('provider')), '?')} · "
                      f"{record.word_count} words", self)
        layout.addWidget(info)
        layout.addWidget(self.pane, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Export:", self))
        for fmt in exporter.FORMATS:
            button = QPushButton(fmt.upper(), self)
            button.setAccessibleName(f"Export as {FORMAT_TITLES[fmt]}")
            button.clicked.connect(lambda _=False, f=fmt: export(f))
            row.addWidget(button)
        row.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        row.addWidget(close)
        layout.addLayout(row)
        self.resize(720, 560)


class HistoryDialog(QDialog):
    """The past-sessions window.

    Attributes:
        folder: the sessions folder (None: the default).
        summaries: the rows shown.
        ask_save_path: ``(suggested, filter) -> path or ""`` (tests replace it).
        confirm: ``(question) -> bool`` (tests replace it).
        message_label: the last result or problem, in words.
    """

    def __init__(self, folder: str | Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Past sessions")
        self.setAccessibleName("Past sessions")
        self.folder = folder
        self.summaries: list[store.SessionSummary] = []
        self.ask_save_path: Callable[[str, str], str] = self._ask_save_path
        self.confirm: Callable[[str], bool] = self._confirm
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Sessions")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self.open_selected)
        self.table.itemSelectionChanged.connect(self.on_table_item_selection_changed)
        self.open_button = QPushButton("&Open", self)
        self.open_button.clicked.connect(self.open_selected)
        self.export_button = QPushButton("&Export", self)
        menu = QMenu(self.export_button)
        for fmt in exporter.FORMATS:
            action = menu.addAction(f"{fmt.upper()} — {FORMAT_TITLES[fmt]}…")
            action.triggered.connect(lambda _=False, f=fmt: self.export_selected(f))
        self.export_button.setMenu(menu)
        self.delete_button = QPushButton("&Delete", self)
        self.delete_button.clicked.connect(self.delete_selected)
        refresh = QPushButton("&Refresh", self)
        refresh.clicked.connect(self.refresh)
        self.message_label = QLabel("", self)
        self.message_label.setWordWrap(True)
        self.message_label.setAccessibleName("Result")
        buttons = QHBoxLayout()
        for button in (self.open_button, self.export_button, self.delete_button, refresh):
            buttons.addWidget(button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message_label)
        layout.addLayout(buttons)
        self.resize(720, 460)
        self.refresh()

    # -- list -------------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        self.summaries = store.list_sessions(self.folder)
        self.table.setRowCount(len(self.summaries))
        for row, s in enumerate(self.summaries):
            values = (started_text(s.started_at), format_duration(s.duration_ms),
                      PROVIDER_TITLES.get(s.provider or "", s.provider or "?"),
                      str(s.word_count), status_text(s))
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                if col == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        if self.summaries:
            self.table.selectRow(0)
        else:
            self.message_label.setText("No saved sessions yet. Transcripts are saved as you "
                                       "caption.")
        self.on_table_item_selection_changed()

    def selected(self) -> store.SessionSummary | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        index = rows[0].row()
        return self.summaries[index] if 0 <= index < len(self.summaries) else None

    @Slot()
    def on_table_item_selection_changed(self) -> None:
        summary = self.selected()
        for button in (self.open_button, self.export_button):
            button.setEnabled(summary is not None)
        self.delete_button.setEnabled(summary is not None and not summary.live)

    # -- actions ----------------------------------------------------------------------

    def _load(self, summary: store.SessionSummary) -> store.SessionRecord | None:
        try:
            return store.load_session(summary.path)
        except OSError as exc:
            self.message_label.setText(f"Can't read that session: "
                                       f"{exporter.describe_os_error(exc)}.")
            return None

    @Slot()
    def open_selected(self, *_args: object) -> SessionViewer | None:
        summary = self.selected()
        record = self._load(summary) if summary else None
        if record is None:
            return None
        viewer = SessionViewer(record, lambda fmt: self._export(record, fmt), self)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.show()
        return viewer

    def export_selected(self, fmt: str) -> Path | None:
        summary = self.selected()
        record = self._load(summary) if summary else None
        return self._export(record, fmt) if record is not None else None

    def _export(self, record: store.SessionRecord, fmt: str) -> Path | None:
        folder = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        stamp = started_text(str(record.meta.get("started_at", ""))).replace(":", ".")
        suggested = str(Path(folder) / f"Captions {stamp}.{fmt}")
        path = self.ask_save_path(suggested, f"{FORMAT_TITLES[fmt]} (*.{fmt})")
        if not path:
            return None
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(f".{fmt}")
        try:
            written = exporter.export_files(record, target, fmt)
        except (exporter.ExportError, ValueError) as exc:
            self.message_label.setText(str(exc))
            return None
        self.message_label.setText(saved_message("Saved to", written))
        return written[0]

    @Slot()
    def delete_selected(self) -> bool:
        summary = self.selected()
        if summary is None or summary.live:
            return False
        if not self.confirm(f"Delete the session of {started_text(summary.started_at)} "
                            f"({summary.word_count} words)? This can't be undone."):
            return False
        try:
            deleted = store.delete_session(summary.path.parent, summary.id)
        except (OSError, ValueError) as exc:
            self.message_label.setText(f"Can't delete it: {exc}")
            return False
        self.message_label.setText("Deleted." if deleted else "It was already gone.")
        self.refresh()
        return deleted

    def _ask_save_path(self, suggested: str, filters: str) -> str:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self, "Export session", suggested, filters)
        return path

    def _confirm(self, question: str) -> bool:
        answer = QMessageBox.question(self, "Delete session", question,
                                      QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes
