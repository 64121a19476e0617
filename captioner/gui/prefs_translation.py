"""Preferences → Provider → Live translation: up to two target languages.

Shown only for a provider that translates live (today Speechmatics); the
choices offered follow the spoken language (Speechmatics translates English
to and from 34 languages). A choice stays stored while another provider is
picked, so switching back restores it.
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QWidget

from captioner.providers.translation import (
    MAX_TARGETS,
    language_name,
    parse_targets,
    targets_for,
)
from captioner.settings import Key, Settings

OFF = ""


class TranslationBox(QGroupBox):
    """Target-language pickers.

    Attributes:
        combos: one per target (``MAX_TARGETS``), "Off"/"None" first.
        note: what translation does, in words.
        offered: the provider translates the spoken language (the box is shown).
    """

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__("Live translation", parent)
        self.settings = settings
        self._wanted: tuple[str, ...] = ()  # the user's choice, kept across refills
        self.offered = False
        form = QFormLayout(self)
        self.combos: list[QComboBox] = []
        for n in range(MAX_TARGETS):
            combo = QComboBox(self)
            combo.setAccessibleName("Translate captions into" if n == 0
                                    else "Also translate captions into")
            form.addRow("&Translate into:" if n == 0 else "&And into:", combo)
            combo.currentIndexChanged.connect(self.on_combo_changed)
            self.combos.append(combo)
        self.note = QLabel("Each caption gets its translation underneath, in the style set "
                           "under Appearance. Saved transcripts keep it; subtitle exports "
                           "write one file per language.", self)
        self.note.setWordWrap(True)
        form.addRow(self.note)

    def update_for(self, provider: str, language: str) -> None:
        """Show the box for ``provider`` and offer what ``language`` translates into."""
        chosen = self._wanted
        offered = targets_for(provider, language)
        self.offered = bool(offered)
        self.setVisible(self.offered)
        for n, combo in enumerate(self.combos):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("Off" if n == 0 else "None", OFF)
            for code in offered:
                combo.addItem(f"{language_name(code)} ({code})", code)
            wanted = chosen[n] if n < len(chosen) else OFF
            index = combo.findData(wanted)
            combo.setCurrentIndex(max(0, index))
            combo.blockSignals(False)

    @Slot()
    def on_combo_changed(self, *_args: object) -> None:
        self._wanted = self.targets()

    def targets(self) -> tuple[str, ...]:
        """The chosen targets, in order, without "Off" or repeats."""
        out: list[str] = []
        for combo in self.combos:
            code = str(combo.currentData() or "")
            if code and code not in out:
                out.append(code)
        return tuple(out)

    def load(self, provider: str, language: str) -> None:
        self._wanted = parse_targets(self.settings.get(Key.TRANSLATE_TO))
        self.update_for(provider, language)

    def save(self) -> None:
        """Store the choice (kept as it was while the box is hidden: another provider)."""
        if self.offered:
            self._wanted = self.targets()
        self.settings.set(Key.TRANSLATE_TO, ",".join(self._wanted))
