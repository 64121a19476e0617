"""Past sessions: list (date, duration, providers used, words, status), search them by their
words, date or title, open to read and search, export, delete, and improve a recorded
session's transcript.

Reads the journals in the sessions folder (``captioner.transcript.journal``); a session
still being written (this or another running app) is "In progress" and can't be deleted.
Sessions without a word are not listed (retention prunes them from the disk); what the
columns say comes from :mod:`captioner.transcript.listing`, as in ``captioner sessions``.

A recorded session can be re-transcribed more accurately ("Improve
transcript", with progress and cancel; :mod:`captioner.improve`);
then its improved version is shown and exported, and the live captions stay
one choice away.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from captioner.batch import BATCH_PROVIDERS
from captioner.config import PROVIDER_TITLES, SessionConfig
from captioner.errors import UserFacingError
from captioner.gui.choices import FORMAT_TITLES, saved_message
from captioner.gui.improve_job import ImproveJob
from captioner.gui.transcript_view import TranscriptPane
from captioner.improve import Progress
from captioner.secrets import ENV_VARS, SecretStore, SecretStoreError, resolve_secret
from captioner.settings import Settings
from captioner.transcript import export as exporter
from captioner.transcript import listing, store
from captioner.transcript.improved import describe, load_version
from captioner.transcript.render import format_duration

log = logging.getLogger(__name__)

COLUMNS = ("Date", "Duration", "Provider", "Words", "Status")
SEARCH_DELAY_MS = 250


def started_text(started_at: str) -> str:
    """``"2026-11-22T14:05:00+01:00"`` → ``"Sun 22 Nov 2026, 14:05"`` in local time."""
    try:
        when = dt.datetime.fromisoformat(started_at)
    except ValueError:
        return started_at or "unknown"
    if when.tzinfo is not None:
        when = when.astimezone()
    return when.strftime("%a %d %b %Y, %H:%M")


class SessionViewer(QDialog):
    """One past session, read-only with search; with a choice of version when improved.

    Attributes:
        versions: the records shown in the version choice (improved first).
        record: the version shown (and exported).
    """

    def __init__(self, record: store.SessionRecord, export: Callable[[store.SessionRecord, str],
                                                                     object],
                 parent: QWidget | None = None, *,
                 others: tuple[store.SessionRecord, ...] = ()) -> None:
        super().__init__(parent)
        self.versions = (record, *others)
        self.record = record
        title = started_text(str(record.meta.get("started_at", "")))
        self.setWindowTitle(f"Session of {title}")
        self.pane = TranscriptPane(self, name="Session transcript")
        self.pane.show_source_labels = len(record.meta.get("sources") or []) > 1
        layout = QVBoxLayout(self)
        self.info = QLabel(self)
        layout.addWidget(self.info)
        self.version_combo = QComboBox(self)
        self.version_combo.setAccessibleName("Transcript version")
        for version in self.versions:
            self.version_combo.addItem(describe(version))
        self.version_combo.currentIndexChanged.connect(self.on_version_combo_current_index_changed)
        if len(self.versions) > 1:
            row = QHBoxLayout()
            label = QLabel("&Version:", self)
            label.setBuddy(self.version_combo)
            row.addWidget(label)
            row.addWidget(self.version_combo)
            row.addStretch(1)
            layout.addLayout(row)
        else:
            self.version_combo.hide()
        layout.addWidget(self.pane, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Export:", self))
        for fmt in exporter.FORMATS:
            button = QPushButton(fmt.upper(), self)
            button.setAccessibleName(f"Export as {FORMAT_TITLES[fmt]}")
            button.clicked.connect(lambda _=False, f=fmt: export(self.record, f))
            row.addWidget(button)
        row.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        row.addWidget(close)
        layout.addLayout(row)
        self.resize(720, 560)
        self._show(record)

    def _show(self, record: store.SessionRecord) -> None:
        self.record = record
        self.pane.set_segments(record.segments, record.translations)
        title = started_text(str(record.meta.get("started_at", "")))
        used = listing.providers_text(record.providers)
        self.info.setText(f"{title} · {format_duration(record.duration_ms)} · {used} · "
                          f"{record.word_count} words")

    @Slot(int)
    def on_version_combo_current_index_changed(self, index: int) -> None:
        if 0 <= index < len(self.versions):
            self._show(self.versions[index])


class HistoryDialog(QDialog):
    """The past-sessions window.

    Attributes:
        folder: the sessions folder (None: the default).
        summaries: the rows shown.
        ask_save_path: ``(suggested, filter) -> path or ""`` (tests replace it).
        confirm: ``(question) -> bool`` (tests replace it).
        message_label: the last result or problem, in words.
        improve_config: the offline engine's settings for an improvement
            (from ``settings``: a remote engine's URL; tests point it at theirs).
        improve_endpoints: batch API base URLs by provider (tests: the fakes);
            the vendors' own when absent.
        job: the running :class:`ImproveJob`, or None.
    """

    def __init__(self, folder: str | Path | None = None, parent: QWidget | None = None, *,
                 settings: Settings | None = None, secrets: SecretStore | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.secrets = secrets
        self.improve_config = settings.session_config("local") if settings is not None \
            else SessionConfig(provider="local")
        self.improve_endpoints: dict[str, str] = {}
        self.job: ImproveJob | None = None
        self.setWindowTitle("Past sessions")
        self.setAccessibleName("Past sessions")
        self.folder = folder
        self.summaries: list[store.SessionSummary] = []
        self.ask_save_path: Callable[[str, str], str] = self._ask_save_path
        self.confirm: Callable[[str], bool] = self._confirm
        self._texts: dict[Path, tuple[float, str]] = {}  # path -> (mtime, searchable text)
        self.all_summaries: list[store.SessionSummary] = []
        self.hidden_empty = 0
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search past sessions: words said, date, provider")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search past sessions")
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        find.activated.connect(lambda: self.search.setFocus(Qt.FocusReason.ShortcutFocusReason))
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
        self.improve_button = QToolButton(self)
        self.improve_button.setText("&Improve transcript")
        self.improve_button.setAccessibleName("Improve transcript")
        self.improve_button.setToolTip("Transcribe the session's recording again with the "
                                       "offline engine at its most accurate settings; the "
                                       "arrow offers the cloud services' batch APIs")
        self.improve_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.improve_button.clicked.connect(lambda: self.improve_selected("local"))
        improve_menu = QMenu(self.improve_button)
        self.improve_actions: dict[str, QAction] = {}
        for provider in ("local", *BATCH_PROVIDERS):
            label = "the offline engine (most accurate settings)" if provider == "local" \
                else f"{PROVIDER_TITLES[provider]} (batch)"
            action = improve_menu.addAction(f"With {label}")
            action.triggered.connect(lambda _=False, p=provider: self.improve_selected(p))
            self.improve_actions[provider] = action
        self.improve_button.setMenu(improve_menu)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setAccessibleName("Improving the transcript")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.hide()
        self.cancel_button = QPushButton("&Cancel improving", self)
        self.cancel_button.clicked.connect(self.cancel_improving)
        self.cancel_button.hide()
        refresh = QPushButton("&Refresh", self)
        refresh.clicked.connect(self.refresh)
        self.message_label = QLabel("", self)
        self.message_label.setWordWrap(True)
        self.message_label.setAccessibleName("Result")
        buttons = QHBoxLayout()
        for button in (self.open_button, self.export_button, self.improve_button,
                       self.delete_button, refresh):
            buttons.addWidget(button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        search_label = QLabel("&Search:", self)
        search_label.setBuddy(self.search)
        search_row = QHBoxLayout()
        search_row.addWidget(search_label)
        search_row.addWidget(self.search, 1)
        layout.addLayout(search_row)
        layout.addWidget(self.table, 1)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.cancel_button)
        layout.addLayout(progress_row)
        layout.addWidget(self.message_label)
        layout.addLayout(buttons)
        self.resize(720, 460)
        self.refresh()

    # -- list -------------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Read the sessions folder again (and show the sessions the search matches)."""
        self.all_summaries, self.hidden_empty = listing.listed(store.list_sessions(self.folder))
        self.apply_filter()

    @staticmethod
    def row_values(s: store.SessionSummary) -> tuple[str, ...]:
        return (started_text(s.started_at), format_duration(s.duration_ms),
                listing.providers_text(s.providers), str(s.word_count), listing.status_text(s))

    def _text_of(self, summary: store.SessionSummary) -> str:
        try:
            mtime = summary.path.stat().st_mtime
        except OSError:
            return ""
        cached = self._texts.get(summary.path)
        if cached is None or cached[0] != mtime:
            cached = (mtime, listing.session_text(summary))
            self._texts[summary.path] = cached
        return cached[1]

    @Slot()
    def apply_filter(self) -> None:
        """Show the sessions whose words, date, provider or status match the search."""
        query = self.search.text().strip()
        selected = self.selected()
        self.summaries = [s for s in self.all_summaries if not query or listing.matches(
            query, *self.row_values(s), self._text_of(s))]
        self.table.setRowCount(len(self.summaries))
        for row, s in enumerate(self.summaries):
            for col, value in enumerate(self.row_values(s)):
                item = QTableWidgetItem(value)
                if col == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        rows = [i for i, s in enumerate(self.summaries)
                if selected is not None and s.id == selected.id]
        if self.summaries:
            self.table.selectRow(rows[0] if rows else 0)
        self.message_label.setText(self._list_message(query))
        self.on_table_item_selection_changed()

    def _list_message(self, query: str) -> str:
        empty = (f" {self.hidden_empty} session{'s' if self.hidden_empty != 1 else ''} with no "
                 "words not shown." if self.hidden_empty else "")
        if query and not self.summaries:
            return f"No session matches “{query}”.{empty}"
        if not self.all_summaries:
            return f"No saved sessions yet. Transcripts are saved as you caption.{empty}"
        if query:
            return f"{len(self.summaries)} of {len(self.all_summaries)} sessions match.{empty}"
        return empty.strip()

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
        self.delete_button.setEnabled(summary is not None and not summary.live
                                      and self.job is None)
        self.improve_button.setEnabled(summary is not None and summary.recorded
                                       and not summary.live and self.job is None)
        self.improve_button.setText("&Improve again" if summary is not None and summary.improved
                                    else "&Improve transcript")

    # -- actions ----------------------------------------------------------------------

    def _load(self, summary: store.SessionSummary,
              version: str | None = None) -> store.SessionRecord | None:
        try:
            return load_version(summary.path, version)
        except OSError as exc:
            self.message_label.setText(f"Can't read that session: "
                                       f"{exporter.describe_os_error(exc)}.")
            return None

    @Slot()
    def open_selected(self, *_args: object) -> SessionViewer | None:
        summary = self.selected()
        record = self._load(summary) if summary else None
        if summary is None or record is None:
            return None
        others: tuple[store.SessionRecord, ...] = ()
        if summary.improved:
            live = self._load(summary, "live")
            others = (live,) if live is not None else ()
        viewer = SessionViewer(record, self._export, self, others=others)
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

    # -- improving --------------------------------------------------------------------

    def improve_selected(self, provider: str = "local") -> ImproveJob | None:
        """Re-transcribe the selected session's recording (progress below the list)."""
        summary = self.selected()
        if summary is None or not summary.recorded or summary.live or self.job is not None:
            return None
        if provider == "local":
            cfg = self.improve_config
        else:
            cfg = self.settings.session_config(provider) if self.settings is not None \
                else SessionConfig(provider=provider)
        secret = None
        if provider != "local" or cfg.endpoint:  # a remote offline engine may need its token
            try:
                secret, _origin = resolve_secret(provider, self.secrets)
            except SecretStoreError as exc:
                if provider != "local":
                    self.message_label.setText(str(exc))
                    return None
            if secret is None and provider != "local":
                env = ENV_VARS.get(provider, "")
                self.message_label.setText(
                    f"No API key for {PROVIDER_TITLES[provider]}. Add it in Preferences → "
                    f"Providers{f', or set {env}' if env else ''}; or improve with the offline "
                    "engine, which needs none.")
                return None
        job = ImproveJob(summary.path, cfg, secret, self,
                         endpoint=self.improve_endpoints.get(provider))
        job.progressed.connect(self.on_job_progressed)
        job.ended.connect(self.on_job_ended)
        self.job = job
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        self.cancel_button.show()
        self.message_label.setText(f"Improving the transcript with "
                                   f"{PROVIDER_TITLES.get(provider, provider)}…")
        self.on_table_item_selection_changed()
        job.start()
        return job

    @Slot()
    def cancel_improving(self) -> None:
        if self.job is not None:
            self.message_label.setText("Cancelling…")
            self.job.cancel()

    @Slot(object)
    def on_job_progressed(self, progress: Progress) -> None:
        self.progress_bar.setValue(int(progress.fraction * 1000))
        self.progress_bar.setFormat(f"%p% · {progress.message}")
        self.message_label.setText(f"Improving the transcript… {progress.message}")

    @Slot(object)
    def on_job_ended(self, result: object) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.wait(2000)
            job.deleteLater()
        self.progress_bar.hide()
        self.cancel_button.hide()
        if isinstance(result, store.SessionRecord):
            message = (f"Improved: {result.word_count} words in {len(result.segments)} lines. "
                       "It is now shown and exported; the live captions stay available "
                       "under Open → Version.")
        elif isinstance(result, UserFacingError):
            message = str(result)
        else:
            message = ("Improving failed because of an unexpected error; the session is as it "
                       "was. Details are in the log file (Help → About).")
        selected = self.selected()
        self.refresh()
        if selected is not None:
            for row, summary in enumerate(self.summaries):
                if summary.id == selected.id:
                    self.table.selectRow(row)
        self.message_label.setText(message)

    def done(self, result: int) -> None:
        if self.job is not None:  # closing the window cancels a running improvement
            self.job.cancel()
            self.job.wait(10_000)
        super().done(result)

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
