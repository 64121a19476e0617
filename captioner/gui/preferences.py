"""The Preferences dialog: Provider (keys in the keychain, test connection, options), Overlay
(appearance with live preview), Shortcuts, General (start at login, screen reader, history).

Settings are written on OK/Apply only, then ``settings_applied`` tells the app
to re-read them. The secret store is injected (tests pass a MemoryStore).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from captioner import autostart
from captioner.gui.actions import SPECS
from captioner.gui.choices import select_data
from captioner.gui.connection_test import ConnectionTester
from captioner.gui.prefs_appearance import AppearancePage
from captioner.gui.prefs_provider import ProviderPage
from captioner.secrets import SecretStore
from captioner.settings import Key, Settings

log = logging.getLogger(__name__)

SHORTCUT_KEYS = {name: spec[1] for name, spec in SPECS.items() if spec[1] is not None}
RETENTION_CHOICES = ((0, "Keep forever"), (7, "7 days"), (30, "30 days"), (90, "90 days"),
                     (365, "1 year"))


class ShortcutsPage(QWidget):
    """Editable shortcuts for the configurable actions.

    Attributes:
        edits: action name -> QKeySequenceEdit.
    """

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.edits: dict[str, QKeySequenceEdit] = {}
        layout = QVBoxLayout(self)
        note = QLabel("These shortcuts work while any captioner window is active (the overlay "
                      "too). They are not system-wide: from another app, use the tray icon.",
                      self)
        note.setWordWrap(True)
        layout.addWidget(note)
        form = QFormLayout()
        for name in SHORTCUT_KEYS:
            edit = QKeySequenceEdit(self)
            edit.setMaximumSequenceLength(1)
            edit.setClearButtonEnabled(True)
            title = SPECS[name][0].replace("&", "")
            edit.setAccessibleName(f"Shortcut for {title}")
            edit.keySequenceChanged.connect(self.on_edit_key_sequence_changed)
            form.addRow(f"{title}:", edit)
            self.edits[name] = edit
        layout.addLayout(form)
        self.conflict_label = QLabel("", self)
        self.conflict_label.setWordWrap(True)
        self.conflict_label.setStyleSheet("color: #b71c1c;")
        layout.addWidget(self.conflict_label)
        reset = QPushButton("Reset to defaults", self)
        reset.clicked.connect(self.reset)
        layout.addWidget(reset)
        layout.addStretch(1)

    def load(self) -> None:
        for name, key in SHORTCUT_KEYS.items():
            self.edits[name].setKeySequence(QKeySequence(self.settings.get(key)))

    def reset(self) -> None:
        for name, key in SHORTCUT_KEYS.items():
            self.edits[name].setKeySequence(QKeySequence(key.default))

    def conflicts(self) -> list[str]:
        seen: dict[str, str] = {}
        out = []
        for name, edit in self.edits.items():
            text = edit.keySequence().toString()
            if not text:
                continue
            if text in seen:
                out.append(f"{text} is used twice ({seen[text]} and {name.replace('_', ' ')}).")
            seen[text] = name.replace("_", " ")
        return out

    @Slot()
    def on_edit_key_sequence_changed(self, *_args: object) -> None:
        self.conflict_label.setText(" ".join(self.conflicts()))

    def save(self) -> None:
        for name, key in SHORTCUT_KEYS.items():
            self.settings.set(key, self.edits[name].keySequence().toString(
                QKeySequence.SequenceFormat.PortableText))


class GeneralPage(QWidget):
    """Start at login, screen-reader announcements, how long to keep transcripts, recording."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        layout = QVBoxLayout(self)
        startup = QGroupBox("Start", self)
        sform = QFormLayout(startup)
        self.login_check = QCheckBox("Start captioning when I log in", startup)
        self.login_check.setAccessibleName("Start captioning at login")
        sform.addRow(self.login_check)
        self.login_note = QLabel("" if autostart.supported() else
                                 autostart.unsupported_message(), startup)
        self.login_note.setWordWrap(True)
        sform.addRow(self.login_note)
        layout.addWidget(startup)
        access = QGroupBox("Accessibility", self)
        aform = QFormLayout(access)
        self.announce_check = QCheckBox("Read each new caption line with my screen reader",
                                        access)
        self.announce_check.setAccessibleName("Announce new caption lines to screen readers")
        aform.addRow(self.announce_check)
        layout.addWidget(access)
        history = QGroupBox("Saved transcripts", self)
        hform = QFormLayout(history)
        self.retention_combo = QComboBox(history)
        self.retention_combo.setAccessibleName("Keep transcripts for")
        for days, title in RETENTION_CHOICES:
            self.retention_combo.addItem(title, days)
        hform.addRow("&Keep transcripts:", self.retention_combo)
        self.record_check = QCheckBox("Record the audio of new sessions, so their "
                                      "transcripts can be improved afterwards", history)
        self.record_check.setAccessibleName("Record the audio of new sessions")
        self.record_check.setToolTip("Kept as FLAC beside the transcript, and deleted with it "
                                     "(also when it expires). Each session can be switched "
                                     "with Captions → Record audio.")
        hform.addRow(self.record_check)
        layout.addWidget(history)
        layout.addStretch(1)

    def load(self) -> None:
        self.login_check.setChecked(self.settings.get(Key.START_AT_LOGIN))
        self.announce_check.setChecked(self.settings.get(Key.ANNOUNCE_FINALS))
        days = self.settings.get(Key.RETENTION_DAYS)
        select_data(self.retention_combo, days, add_missing=f"{days} days")
        self.record_check.setChecked(self.settings.get(Key.RECORD_AUDIO))

    def save(self) -> list[str]:
        problems = []
        wanted = self.login_check.isChecked()
        if wanted != self.settings.get(Key.START_AT_LOGIN) or \
                (wanted and not autostart.is_enabled()):
            message = autostart.set_enabled(wanted)
            if message:
                problems.append(message)
                self.login_note.setText(message)
        self.settings.set(Key.START_AT_LOGIN, wanted)
        self.settings.set(Key.ANNOUNCE_FINALS, self.announce_check.isChecked())
        self.settings.set(Key.RETENTION_DAYS, int(self.retention_combo.currentData()))
        self.settings.set(Key.RECORD_AUDIO, self.record_check.isChecked())
        return problems


class PreferencesDialog(QDialog):
    """Preferences.

    Attributes:
        provider_page, appearance_page, shortcuts_page, general_page: the tabs.
        problems: what could not be saved at the last apply, in words.

    Signals:
        settings_applied(): settings were written; re-read them.
        style_previewed(CaptionStyle): the appearance changed (not saved yet).
    """

    settings_applied = Signal()
    style_previewed = Signal(object)

    def __init__(self, settings: Settings, store: SecretStore, *,
                 tester: ConnectionTester | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("captioner Preferences")
        self.setAccessibleName("Preferences")
        self.settings = settings
        self.problems: list[str] = []
        self.tabs = QTabWidget(self)
        self.provider_page = ProviderPage(settings, store, tester, self)
        self.appearance_page = AppearancePage(settings, self)
        self.shortcuts_page = ShortcutsPage(settings, self)
        self.general_page = GeneralPage(settings, self)
        for page, title in ((self.provider_page, "&Provider"),
                            (self.appearance_page, "&Overlay"),
                            (self.shortcuts_page, "S&hortcuts"),
                            (self.general_page, "&General")):
            scroll = QScrollArea(self)
            scroll.setWidget(page)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            self.tabs.addTab(scroll, title)
        self.appearance_page.style_changed.connect(self.style_previewed)
        self.problem_label = QLabel("", self)
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #b71c1c;")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.Apply, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.clicked.connect(self.on_buttons_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.buttons)
        self.resize(720, 680)
        self.load()

    def focus_key(self, provider: str) -> None:
        """Show the Provider tab with the cursor in the key field of ``provider``."""
        self.tabs.setCurrentIndex(0)
        edit = self.provider_page.key_edits.get(provider)
        if edit is not None:
            edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def load(self) -> None:
        self.provider_page.load()
        self.appearance_page.load()
        self.shortcuts_page.load()
        self.general_page.load()

    def apply(self) -> bool:
        """Save everything; True if nothing went wrong."""
        problems = self.provider_page.save()
        self.appearance_page.save()
        self.shortcuts_page.save()
        problems += self.general_page.save()
        self.settings.sync()
        self.problems = problems
        self.problem_label.setText("\n".join(problems))
        self.settings_applied.emit()
        return not problems

    @Slot(QAbstractButton)
    def on_buttons_clicked(self, button: QAbstractButton) -> None:
        if self.buttons.buttonRole(button) == QDialogButtonBox.ButtonRole.ApplyRole:
            self.apply()

    def accept(self) -> None:
        if self.apply():
            super().accept()

    def done(self, result: int) -> None:
        self.provider_page.tester.cancel()
        super().done(result)
