"""Preferences → Provider: which service, API keys (kept in the keychain), endpoints, options.

Keys are shown masked (a "Show" button reveals one), read from and written
to the injected :class:`~captioner.secrets.SecretStore` only when changed; a
keychain problem is reported in words next to the fields. Each vendor's own
settings (model, region, temporary keys, latency, endpointing...) are an
:class:`~captioner.gui.option_form.OptionForm` built from its options
dataclass; the form of the chosen vendor is shown. "Test connection" tries the
key and settings as typed, before they are saved.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from captioner.config import SessionConfig
from captioner.gui.choices import (
    fill_languages,
    fill_offline_models,
    fill_providers,
    select_data,
)
from captioner.gui.connection_test import ConnectionTester
from captioner.gui.option_form import OptionForm
from captioner.gui.prefs_translation import TranslationBox
from captioner.options import OptionError
from captioner.providers import options_class
from captioner.secrets import ENV_VARS, SecretStore, SecretStoreError
from captioner.settings import ENDPOINT_KEYS, Key, Settings
from captioner.vendors import PROVIDERS
from captioner.vendors import title as vendor_title

log = logging.getLogger(__name__)

KEY_TITLES = {p: f"{vendor_title(p)} key" for p in PROVIDERS}
KEY_TITLES["local"] = "Offline engine token"


class ProviderPage(QWidget):
    """The provider tab.

    Attributes:
        key_edits: provider -> masked key field.
        endpoint_edits: provider -> endpoint override field.
        test_buttons: provider -> its "Test" button.
        result_label: the last test's result or a keychain problem, in words.
        tester: the :class:`ConnectionTester`.
    """

    def __init__(self, settings: Settings, store: SecretStore,
                 tester: ConnectionTester | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.store = store
        self.tester = tester or ConnectionTester(self)
        self.tester.test_finished.connect(self.on_tester_test_finished)
        self._loaded_keys: dict[str, str] = {}
        self.key_edits: dict[str, QLineEdit] = {}
        self.endpoint_edits: dict[str, QLineEdit] = {}
        self.test_buttons: dict[str, QPushButton] = {}
        self.show_buttons: dict[str, QPushButton] = {}
        self.option_forms: dict[str, OptionForm] = {}

        layout = QVBoxLayout(self)
        top = QFormLayout()
        self.provider_combo = QComboBox(self)
        self.provider_combo.setAccessibleName("Speech provider to use")
        fill_providers(self.provider_combo)
        top.addRow("Caption &with:", self.provider_combo)
        self.language_combo = QComboBox(self)
        self.language_combo.setEditable(True)
        self.language_combo.setAccessibleName("Spoken language")
        fill_languages(self.language_combo)
        top.addRow("Spoken &language:", self.language_combo)
        self.offline_model_combo = QComboBox(self)
        self.offline_model_combo.setAccessibleName("Offline engine model")
        fill_offline_models(self.offline_model_combo)
        top.addRow("Offline &model:", self.offline_model_combo)
        layout.addLayout(top)

        keys = QGroupBox("API keys (stored in your system keychain, never in a file)", self)
        grid = QGridLayout(keys)
        for row, provider in enumerate(PROVIDERS):
            label = QLabel(KEY_TITLES[provider] + ":", keys)
            edit = QLineEdit(keys)
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setAccessibleName(KEY_TITLES[provider])
            env = ENV_VARS.get(provider, "")
            edit.setPlaceholderText("only for a remote engine" if provider == "local"
                                    else f"paste your key (or set {env})")
            label.setBuddy(edit)
            show = QPushButton("Show", keys)
            show.setCheckable(True)
            show.setAccessibleName(f"Show {KEY_TITLES[provider]}")
            show.toggled.connect(lambda on, e=edit: e.setEchoMode(
                QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
            show.toggled.connect(lambda on, b=show: b.setText("Hide" if on else "Show"))
            test = QPushButton("Test connection", keys)
            test.setAccessibleName(f"Test connection to {vendor_title(provider)}")
            test.clicked.connect(lambda _=False, p=provider: self.test(p))
            grid.addWidget(label, row, 0)
            grid.addWidget(edit, row, 1)
            grid.addWidget(show, row, 2)
            grid.addWidget(test, row, 3)
            self.key_edits[provider] = edit
            self.show_buttons[provider] = show
            self.test_buttons[provider] = test
        self.result_label = QLabel("", keys)
        self.result_label.setWordWrap(True)
        self.result_label.setAccessibleName("Connection test result")
        grid.addWidget(self.result_label, len(PROVIDERS), 0, 1, 4)
        layout.addWidget(keys)

        options = QGroupBox("Options (where the provider offers them)", self)
        form = QFormLayout(options)
        self.vocabulary_edit = QLineEdit(options)
        self.vocabulary_edit.setPlaceholderText("names and terms, separated by commas")
        self.vocabulary_edit.setAccessibleName("Custom vocabulary")
        form.addRow("Custom &vocabulary:", self.vocabulary_edit)
        self.vocabulary_hint = QLabel("", options)
        self.vocabulary_hint.setWordWrap(True)
        form.addRow(self.vocabulary_hint)
        self.speaker_check = QCheckBox("Label speakers (“Speaker 1”, “Speaker 2”)", options)
        self.profanity_check = QCheckBox("Filter profanity", options)
        self.disfluency_check = QCheckBox("Remove filler words (“um”, “uh”)", options)
        self.fallback_check = QCheckBox("If a cloud provider fails, continue with the offline "
                                        "engine", options)
        self.stay_live_check = QCheckBox("After a connection drop, stay live: skip what can't "
                                         "be caught up in time (unchecked: keep every word, "
                                         "captions may lag)", options)
        for check in (self.speaker_check, self.profanity_check, self.disfluency_check,
                      self.fallback_check, self.stay_live_check):
            check.setAccessibleName(check.text())
            form.addRow(check)
        layout.addWidget(options)
        self.translation_box = TranslationBox(settings, self)
        layout.addWidget(self.translation_box)
        self.provider_combo.currentIndexChanged.connect(self.on_choice_changed)
        self.language_combo.currentTextChanged.connect(self.on_choice_changed)

        self.vendor_box = QGroupBox("", self)
        vendor_layout = QVBoxLayout(self.vendor_box)
        self.vendor_stack = QStackedWidget(self.vendor_box)
        for provider in PROVIDERS:
            # the offline model has its own combo above (it says what is installed)
            page = OptionForm(options_class(provider), vendor_title(provider), self.vendor_stack,
                              hidden=("model",) if provider == "local" else ())
            self.vendor_stack.addWidget(page)
            self.option_forms[provider] = page
        vendor_layout.addWidget(self.vendor_stack)
        layout.addWidget(self.vendor_box)
        self.provider_combo.currentIndexChanged.connect(self.on_provider_combo_changed)
        self.on_provider_combo_changed()

        self.advanced_check = QCheckBox("Show advanced settings (endpoints)", self)
        self.advanced_check.setAccessibleName("Show advanced endpoint settings")
        layout.addWidget(self.advanced_check)
        endpoints = QGroupBox("Endpoints (leave empty for the provider's own)", self)
        eform = QFormLayout(endpoints)
        for provider in PROVIDERS:
            edit = QLineEdit(endpoints)
            edit.setPlaceholderText("default" if provider != "local"
                                    else "default: the engine built in (ws://host:port/v2 "
                                         "for one on another machine)")
            edit.setAccessibleName(f"{vendor_title(provider)} endpoint")
            eform.addRow(f"{vendor_title(provider)}:", edit)
            self.endpoint_edits[provider] = edit
        self.endpoints_box = endpoints
        self.advanced_check.toggled.connect(endpoints.setVisible)
        endpoints.setVisible(False)
        layout.addWidget(endpoints)
        layout.addStretch(1)

    # -- load / save --------------------------------------------------------------------

    def load(self) -> None:
        s = self.settings
        select_data(self.provider_combo, s.get(Key.PROVIDER))
        language = s.get(Key.LANGUAGE)
        select_data(self.language_combo, language, add_missing=language)
        select_data(self.offline_model_combo, s.get(Key.OFFLINE_MODEL))
        self.vocabulary_edit.setText(s.get(Key.VOCABULARY))
        self.speaker_check.setChecked(s.get(Key.SPEAKER_LABELS))
        self.profanity_check.setChecked(s.get(Key.PROFANITY_FILTER))
        self.disfluency_check.setChecked(s.get(Key.REMOVE_DISFLUENCIES))
        self.fallback_check.setChecked(s.get(Key.FALLBACK_OFFLINE))
        for provider, page in self.option_forms.items():
            page.set_options(s.vendor_options(provider))
        self.stay_live_check.setChecked(s.get(Key.CATCH_UP) != "complete")
        self.translation_box.load(str(self.provider_combo.currentData()), self.language())
        any_endpoint = False
        for provider, edit in self.endpoint_edits.items():
            value = s.get(ENDPOINT_KEYS[provider])
            edit.setText(value)
            any_endpoint = any_endpoint or bool(value)
        self.advanced_check.setChecked(any_endpoint)
        self._loaded_keys = {}
        problem = ""
        for provider, edit in self.key_edits.items():
            try:
                secret = self.store.get(provider) or ""
            except SecretStoreError as exc:
                secret = ""
                problem = str(exc)
            self._loaded_keys[provider] = secret
            edit.setText(secret)
        self.result_label.setText(problem)

    def language(self) -> str:
        index = self.language_combo.currentIndex()
        text = self.language_combo.currentText().strip()
        if index >= 0 and text == self.language_combo.itemText(index):
            return str(self.language_combo.itemData(index))
        return text.split("(")[-1].rstrip(")").strip() or "en"

    def save(self) -> list[str]:
        """Write settings and changed keys; returns problems in words (empty: all saved)."""
        s = self.settings
        s.set(Key.PROVIDER, str(self.provider_combo.currentData()))
        s.set(Key.LANGUAGE, self.language())
        s.set(Key.OFFLINE_MODEL, str(self.offline_model_combo.currentData() or "tiny.en"))
        s.set(Key.VOCABULARY, self.vocabulary_edit.text().strip())
        s.set(Key.SPEAKER_LABELS, self.speaker_check.isChecked())
        s.set(Key.PROFANITY_FILTER, self.profanity_check.isChecked())
        s.set(Key.REMOVE_DISFLUENCIES, self.disfluency_check.isChecked())
        s.set(Key.FALLBACK_OFFLINE, self.fallback_check.isChecked())
        s.set(Key.CATCH_UP, "live" if self.stay_live_check.isChecked() else "complete")
        self.translation_box.save()
        for provider, edit in self.endpoint_edits.items():
            s.set(ENDPOINT_KEYS[provider], edit.text().strip())
        problems: list[str] = []
        for provider, page in self.option_forms.items():
            try:
                s.set_vendor_options(provider, page.options())
            except OptionError as exc:
                problems.append(f"{vendor_title(provider)} settings were not saved: {exc}")
        for provider, edit in self.key_edits.items():
            new = edit.text().strip()
            if new == self._loaded_keys.get(provider, ""):
                continue
            try:
                if new:
                    self.store.set(provider, new)
                else:
                    self.store.delete(provider)
                self._loaded_keys[provider] = new
            except SecretStoreError as exc:
                problems.append(f"The {vendor_title(provider)} key was not saved: {exc}")
        if problems:
            self.result_label.setText("\n".join(problems))
        return problems

    @Slot()
    def on_choice_changed(self, *_args: object) -> None:
        self.translation_box.update_for(str(self.provider_combo.currentData()), self.language())

    # -- test connection ------------------------------------------------------------

    def test(self, provider: str) -> bool:
        """Start a connection test with the key and endpoint as typed now."""
        title = vendor_title(provider)
        secret = self.key_edits[provider].text().strip() or None
        if secret is None and provider != "local":
            import os

            secret = os.environ.get(ENV_VARS.get(provider, ""), "") or None
            if secret is None:
                self.result_label.setText(f"Enter the {title} key first, then test it.")
                return False
        try:
            cfg = self.session_config(provider)
        except OptionError as exc:
            self.result_label.setText(f"Fix the {title} settings first: {exc}")
            return False
        if not self.tester.start(cfg, secret):
            self.result_label.setText("A test is already running; wait for its answer.")
            return False
        self.result_label.setText(f"Testing {title}…")
        for button in self.test_buttons.values():
            button.setEnabled(False)
        return True

    def session_config(self, provider: str) -> SessionConfig:
        """The session ``provider`` would get with the page as it is now (not yet saved).

        Raises:
            OptionError: a vendor setting typed wrong.
        """
        vocabulary = tuple(w.strip() for w in self.vocabulary_edit.text().split(",")
                           if w.strip())
        return SessionConfig(
            provider=provider, language=self.language(),
            endpoint=self.endpoint_edits[provider].text().strip() or None,
            vocabulary=vocabulary, profanity_filter=self.profanity_check.isChecked(),
            remove_disfluencies=self.disfluency_check.isChecked(),
            speaker_labels=self.speaker_check.isChecked(),
            options=self.option_forms[provider].options())

    @Slot()
    def on_provider_combo_changed(self) -> None:
        provider = str(self.provider_combo.currentData() or "local")
        self.vendor_stack.setCurrentWidget(self.option_forms[provider])
        self.vendor_box.setTitle(f"{vendor_title(provider)} settings")
        self.vocabulary_hint.setText(vocabulary_hint(provider))
        self.vocabulary_hint.setVisible(bool(self.vocabulary_hint.text()))

    @Slot(str, bool, str)
    def on_tester_test_finished(self, provider: str, ok: bool, message: str) -> None:
        for button in self.test_buttons.values():
            button.setEnabled(True)
        mark = "✓" if ok else "✗"
        self.result_label.setText(f"{mark} {vendor_title(provider)}: {message}")
        self.result_label.setAccessibleDescription(self.result_label.text())
        color = "#1b5e20" if ok else "#b71c1c"
        self.result_label.setStyleSheet(f"color: {color};")


def vocabulary_hint(provider: str) -> str:
    """How ``provider`` uses the vocabulary list, where that is not obvious."""
    if provider == "local":
        return "The offline engine does not use a vocabulary."
    if provider == "revai":
        return ("Rev AI: the list is built once as a custom vocabulary at Rev and its id "
                "reused (or enter an existing id under Rev AI settings below).")
    return ""
