"""What the GUI offers to choose from: languages, audio sources; combo-box helpers."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QLocale
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox

from captioner.engine import models
from captioner.vendors import PROVIDERS
from captioner.vendors import title as vendor_title

LANGUAGES = (
    ("en", "English"), ("es", "Spanish"), ("fr", "French"), ("de", "German"),
    ("it", "Italian"), ("pt", "Portuguese"), ("nl", "Dutch"), ("sv", "Swedish"),
    ("da", "Danish"), ("no", "Norwegian"), ("fi", "Finnish"), ("pl", "Polish"),
    ("cs", "Czech"), ("ru", "Russian"), ("uk", "Ukrainian"), ("tr", "Turkish"),
    ("ar", "Arabic"), ("hi", "Hindi"), ("ja", "Japanese"), ("ko", "Korean"),
    ("zh", "Chinese (Mandarin)"), ("multi", "Automatic / multilingual"),
)
SOURCE_CHOICES = (
    ("mic", "Microphone (me)"),
    ("system", "System audio (what the computer plays)"),
    ("both", "Both (labelled “Me” and “Others”)"),
)
OFFLINE_LANGUAGES = ("en",)  # without the multilingual model
AUTO_LANGUAGES = ("multi", "auto")  # the provider detects the language


def language_name(code: str) -> str:
    """A language code as the status line names it: ``"es"`` → ``"Spanish"`` (the app's
    own names first, then Qt's; the code itself when neither knows it)."""
    code = code.strip()
    base = code.split("-")[0].lower()
    base = {"jw": "jv"}.get(base, base)  # Whisper's code for Javanese
    named = dict(LANGUAGES).get(base)
    if named is not None and base not in AUTO_LANGUAGES:
        return named
    language = QLocale(base).language()
    if base and language not in (QLocale.Language.C, QLocale.Language.AnyLanguage):
        return QLocale.languageToString(language)
    return code


def offline_language_hint(language: str) -> str:
    """Why the offline engine cannot caption ``language`` and what to do ("" if it can)."""
    if language in OFFLINE_LANGUAGES or models.base_installed():
        return ""
    return ("Other languages offline need the multilingual model: run "
            f"{models.MULTILINGUAL_HINT} and restart captioner. Or choose a cloud provider "
            "and add its key in Preferences.")

# export formats as menus, buttons and save dialogs name them
FORMAT_TITLES = {"txt": "Plain text", "srt": "SubRip subtitles", "vtt": "WebVTT subtitles",
                 "json": "JSON (segments, words, times)"}


def saved_message(lead: str, written: list[Path]) -> str:
    """``"Saved to talk.srt (and talk.es.srt, talk.de.srt)."`` for exports with translations."""
    more = f" (and {', '.join(p.name for p in written[1:])})" if written[1:] else ""
    return f"{lead} {written[0]}{more}."


def fill_providers(combo: QComboBox) -> None:
    combo.clear()
    for name in PROVIDERS:
        combo.addItem(vendor_title(name), name)


def fill_languages(combo: QComboBox) -> None:
    combo.clear()
    for code, title in LANGUAGES:
        combo.addItem(f"{title} ({code})", code)


def fill_offline_models(combo: QComboBox) -> None:
    """The offline engine's models; one not installed is shown, disabled, with how to add it."""
    combo.clear()
    have = models.installed()
    for name in models.MODELS:
        title = models.MODEL_TITLES[name]
        combo.addItem(title if name in have else f"{title} — {models.MULTILINGUAL_HINT}", name)
        item_model = combo.model()
        if name not in have and isinstance(item_model, QStandardItemModel):
            item = item_model.item(combo.count() - 1)
            if item is not None:
                item.setEnabled(False)


def fill_sources(combo: QComboBox) -> None:
    combo.clear()
    for code, title in SOURCE_CHOICES:
        combo.addItem(title, code)


def select_data(combo: QComboBox, value: object, *, add_missing: str | None = None) -> None:
    """Select the item whose data is ``value``; optionally add it (titled) if missing."""
    index = combo.findData(value)
    if index < 0 and add_missing is not None:
        combo.addItem(add_missing, value)
        index = combo.count() - 1
    if index >= 0:
        combo.setCurrentIndex(index)
