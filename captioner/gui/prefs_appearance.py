"""Preferences → Overlay: presets (high contrast among them), font, colours, opacity, outline,
lines, position and screen-sharing privacy, with a live preview over a busy background."""

from __future__ import annotations

import logging
from dataclasses import replace

from PySide6.QtCore import QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFontComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from captioner.gui import screen_privacy
from captioner.gui.caption_style import (
    HIGH_CONTRAST,
    MAX_FONT_PT,
    MAX_LINES,
    MIN_FONT_PT,
    MIN_LINES,
    MIN_TRANSLATION_SCALE,
    PRESETS,
    CaptionStyle,
)
from captioner.gui.caption_view import CaptionView, paint_panel
from captioner.gui.choices import select_data
from captioner.gui.overlay import DOCK_TITLES, DOCKS, lines_that_fit
from captioner.providers.base import Final, FinalTranslation, Partial
from captioner.settings import Key, Settings
from captioner.transcript import Transcript

log = logging.getLogger(__name__)

SAMPLE_FINALS = ("Welcome back, everyone.",)
SAMPLE_TRANSLATION = ("es", "Bienvenidos de nuevo a todos.")  # how live translations look
SAMPLE_PARTIAL = "Let's pick up where we"


def _buddy(text: str, widget: QWidget, parent: QWidget) -> QLabel:
    """A form label whose mnemonic (Alt+letter) focuses ``widget``."""
    label = QLabel(text, parent)
    label.setBuddy(widget)
    return label


class PreviewWidget(QWidget):
    """Sample captions drawn exactly as the overlay draws them, over a video-like backdrop."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Caption preview")
        self.style_ = CaptionStyle()
        self.view = CaptionView(self.style_, self)
        self.view.setAccessibleName("Preview captions")
        self.view.set_show_source_labels(True)
        transcript = Transcript()
        for i, text in enumerate(SAMPLE_FINALS):
            self.view.apply(transcript.apply(Final(text, i * 3000, i * 3000 + 2500), "system"))
        self.view.apply(transcript.apply(FinalTranslation(*SAMPLE_TRANSLATION, 0, 2500),
                                         "system"))
        self.view.apply(transcript.apply(Partial(SAMPLE_PARTIAL, 6000, 7000), "mic"))
        self.setMinimumHeight(160)

    def set_caption_style(self, style: CaptionStyle) -> None:
        # the preview shows at most 3 lines so it fits the dialog
        self.style_ = replace(style, lines=min(style.lines, 3), show_status=False)
        self.view.set_style(self.style_)
        self._place()
        self.update()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place()

    def _place(self) -> None:
        h = min(self.height() - 20, self.view.height_for_lines(self.style_.lines))
        self.view.setGeometry(10, self.height() - h - 10, self.width() - 20, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        gradient = QLinearGradient(0, 0, self.width(), self.height())
        gradient.setColorAt(0.0, QColor("#87b5e5"))
        gradient.setColorAt(0.55, QColor("#f0e6c8"))
        gradient.setColorAt(1.0, QColor("#3f6b3a"))
        painter.fillRect(self.rect(), gradient)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 255, 255, 200))
        painter.drawEllipse(QRectF(self.width() * 0.7, 12, 46, 46))
        painter.setPen(QColor(40, 40, 40, 160))
        font = QFont(self.font())
        font.setPointSize(9)
        painter.setFont(font)
        painter.drawText(8, 16, "Preview (over a bright background)")
        paint_panel(painter, QRectF(self.view.geometry()), self.style_)
        painter.end()


class ColorButton(QPushButton):
    """A button showing a colour swatch; click to choose.

    Signals:
        color_changed(str): ``#rrggbb``.
    """

    color_changed = Signal(str)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.color = "#ffffff"
        self.setAccessibleName(title)
        self.clicked.connect(self.on_clicked)

    def set_color(self, color: str) -> None:
        self.color = QColor(color).name()
        text = "#000000" if QColor(self.color).lightnessF() > 0.5 else "#ffffff"
        self.setText(self.color)
        self.setStyleSheet(f"QPushButton {{ background: {self.color}; color: {text}; }}")
        self.setAccessibleDescription(f"{self.title}: {self.color}")

    @Slot()
    def on_clicked(self) -> None:
        chosen = QColorDialog.getColor(QColor(self.color), self, self.title)
        if chosen.isValid():
            self.set_color(chosen.name())
            self.color_changed.emit(self.color)


class AppearancePage(QWidget):
    """The overlay tab.

    Signals:
        style_changed(CaptionStyle): any control changed (for the preview).
    """

    style_changed = Signal(object)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._loading = False
        form = QFormLayout()
        self.preset_combo = QComboBox(self)
        self.preset_combo.setAccessibleName("Look preset")
        self.preset_combo.addItem("Custom", None)
        for preset in PRESETS:
            self.preset_combo.addItem(preset.name, preset.name)
        self.preset_combo.activated.connect(self.on_preset_combo_activated)
        form.addRow("&Preset:", self.preset_combo)
        self.high_contrast = QCheckBox("High contrast (yellow on solid black, overrides colours)")
        form.addRow(self.high_contrast)
        self.font_combo = QFontComboBox(self)
        self.font_combo.setAccessibleName("Caption font")
        self.size_spin = QSpinBox(self)
        self.size_spin.setRange(MIN_FONT_PT, MAX_FONT_PT)
        self.size_spin.setSuffix(" pt")
        self.size_spin.setAccessibleName("Caption size in points")
        self.bold_check = QCheckBox("Bold", self)
        font_row = QHBoxLayout()
        font_row.addWidget(self.font_combo, 1)
        font_row.addWidget(self.size_spin)
        font_row.addWidget(self.bold_check)
        form.addRow(_buddy("&Font:", self.font_combo, self), font_row)
        self.text_button = ColorButton("Text colour", self)
        self.label_button = ColorButton("Speaker label colour", self)
        self.bg_button = ColorButton("Background colour", self)
        colors = QHBoxLayout()
        for caption, button in (("Text", self.text_button), ("Labels", self.label_button),
                                ("Background", self.bg_button)):
            colors.addWidget(QLabel(caption + ":", self))
            colors.addWidget(button)
        form.addRow("Colours:", colors)
        self.translation_button = ColorButton("Translation colour", self)
        self.translation_spin = QSpinBox(self)
        self.translation_spin.setRange(round(MIN_TRANSLATION_SCALE * 100), 100)
        self.translation_spin.setSuffix(" % of the caption size")
        self.translation_spin.setAccessibleName("Translation size in percent of the captions")
        translation_row = QHBoxLayout()
        translation_row.addWidget(self.translation_button)
        translation_row.addWidget(self.translation_spin)
        translation_row.addStretch(1)
        form.addRow(_buddy("Live &translations:", self.translation_button, self),
                    translation_row)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setAccessibleName("Background opacity in percent")
        self.opacity_label = QLabel("", self)
        opacity = QHBoxLayout()
        opacity.addWidget(self.opacity_slider, 1)
        opacity.addWidget(self.opacity_label)
        form.addRow(_buddy("Background &opacity:", self.opacity_slider, self), opacity)
        self.outline_check = QCheckBox("Outline letters", self)
        self.shadow_check = QCheckBox("Drop shadow", self)
        self.upper_check = QCheckBox("UPPER CASE", self)
        effects = QHBoxLayout()
        for check in (self.outline_check, self.shadow_check, self.upper_check):
            effects.addWidget(check)
        effects.addStretch(1)
        form.addRow("Readability:", effects)
        self.lines_spin = QSpinBox(self)
        self.lines_spin.setRange(MIN_LINES, MAX_LINES)
        self.lines_spin.setAccessibleName("Lines shown")
        self.status_check = QCheckBox("Show the status line (state, input level)", self)
        lines_row = QHBoxLayout()
        lines_row.addWidget(self.lines_spin)
        lines_row.addWidget(self.status_check, 1)
        form.addRow(_buddy("&Lines:", self.lines_spin, self), lines_row)
        self.dock_combo = QComboBox(self)
        self.dock_combo.setAccessibleName("Overlay position")
        for dock in DOCKS:
            self.dock_combo.addItem(DOCK_TITLES[dock], dock)
        form.addRow("Po&sition:", self.dock_combo)
        # NB: the overlay is kept whole on the screen, so big letters show fewer lines
        self.fit_note = QLabel("", self)
        self.fit_note.setWordWrap(True)
        self.fit_note.setObjectName("fit-note")
        form.addRow(self.fit_note)
        self.capture_check = QCheckBox("Hide captions from screen sharing and recordings", self)
        if not screen_privacy.supported():
            self.capture_check.setEnabled(False)
            self.capture_check.setToolTip(screen_privacy.UNSUPPORTED)
        form.addRow(self.capture_check)
        self.capture_note = QLabel("" if screen_privacy.supported()
                                   else screen_privacy.UNSUPPORTED, self)
        self.capture_note.setWordWrap(True)
        form.addRow(self.capture_note)

        self.preview = PreviewWidget(self)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview, 1)

        for signal in (self.font_combo.currentFontChanged, self.size_spin.valueChanged,
                       self.bold_check.toggled, self.text_button.color_changed,
                       self.label_button.color_changed, self.bg_button.color_changed,
                       self.opacity_slider.valueChanged, self.outline_check.toggled,
                       self.shadow_check.toggled, self.upper_check.toggled,
                       self.lines_spin.valueChanged, self.status_check.toggled,
                       self.high_contrast.toggled, self.translation_button.color_changed,
                       self.translation_spin.valueChanged, self.dock_combo.currentIndexChanged):
            signal.connect(self.on_control_changed)

    # -- load / save ------------------------------------------------------------------

    def load(self) -> None:
        self._loading = True
        try:
            self.set_style(CaptionStyle.from_settings(self.settings, high_contrast=False))
            self.high_contrast.setChecked(self.settings.get(Key.OVERLAY_HIGH_CONTRAST))
            select_data(self.dock_combo, self.settings.get(Key.OVERLAY_DOCK))
            self.capture_check.setChecked(self.settings.get(Key.OVERLAY_HIDE_FROM_CAPTURE))
        finally:
            self._loading = False
        self.on_control_changed()

    def set_style(self, style: CaptionStyle) -> None:
        loading, self._loading = self._loading, True
        try:
            if style.font_family:
                self.font_combo.setCurrentFont(QFont(style.font_family))
            self.size_spin.setValue(style.font_pt)
            self.bold_check.setChecked(style.bold)
            self.text_button.set_color(style.text_color)
            self.label_button.set_color(style.label_color)
            self.bg_button.set_color(style.bg_color)
            self.opacity_slider.setValue(round(style.bg_opacity * 100))
            self.outline_check.setChecked(style.outline)
            self.shadow_check.setChecked(style.shadow)
            self.upper_check.setChecked(style.uppercase)
            self.lines_spin.setValue(style.lines)
            self.status_check.setChecked(style.show_status)
            self.translation_button.set_color(style.translation_color)
            self.translation_spin.setValue(round(style.translation_scale * 100))
            self._family_loaded = style.font_family
        finally:
            self._loading = loading

    def own_style(self) -> CaptionStyle:
        """The style as set in the controls (without the high-contrast override)."""
        family = self.font_combo.currentFont().family()
        if not getattr(self, "_family_loaded", "") and family == self._default_family():
            family = ""
        return CaptionStyle(
            font_family=family, font_pt=self.size_spin.value(), bold=self.bold_check.isChecked(),
            text_color=self.text_button.color, label_color=self.label_button.color,
            bg_color=self.bg_button.color, bg_opacity=self.opacity_slider.value() / 100,
            outline=self.outline_check.isChecked(), shadow=self.shadow_check.isChecked(),
            uppercase=self.upper_check.isChecked(), lines=self.lines_spin.value(),
            show_status=self.status_check.isChecked(),
            translation_color=self.translation_button.color,
            translation_scale=self.translation_spin.value() / 100).clamped()

    def effective_style(self) -> CaptionStyle:
        style = self.own_style()
        return HIGH_CONTRAST.applied_to(style) if self.high_contrast.isChecked() else style

    def _default_family(self) -> str:
        return CaptionStyle().font().family()

    def save(self) -> None:
        self.own_style().save(self.settings, high_contrast=self.high_contrast.isChecked())
        self.settings.set(Key.OVERLAY_DOCK, str(self.dock_combo.currentData()))
        self.settings.set(Key.OVERLAY_HIDE_FROM_CAPTURE, self.capture_check.isChecked())

    # -- reactions ----------------------------------------------------------------------

    @Slot()
    def on_control_changed(self, *_args: object) -> None:
        if self._loading:
            return
        high = self.high_contrast.isChecked()
        for widget in (self.text_button, self.label_button, self.bg_button, self.opacity_slider,
                       self.preset_combo):
            widget.setEnabled(not high)
        self.opacity_label.setText(f"{self.opacity_slider.value()} %")
        style = self.effective_style()
        self.fit_note.setText(self.fit_text(style))
        self.preview.set_caption_style(style)
        self._sync_preset(self.own_style())
        self.style_changed.emit(style)

    def fit_text(self, style: CaptionStyle) -> str:
        """Says so when the lines asked for don't fit on the screen at this size."""
        screen = self.screen()
        if screen is None:
            return ""
        area = screen.availableGeometry()
        dock = str(self.dock_combo.currentData())
        fit = lines_that_fit(style, area, dock)
        if fit >= style.lines:
            return ""
        where = "half of this screen" if dock != "floating" else "this screen"
        return (f"At {style.font_pt} pt only {fit} of the {style.lines} lines fit on {where} "
                f"({area.width()}×{area.height()}): the overlay shows the newest {fit} lines "
                "and the status line, and stays whole on the screen.")

    def _sync_preset(self, style: CaptionStyle) -> None:
        for preset in PRESETS:
            if preset.applied_to(style) == style:
                select_data(self.preset_combo, preset.name)
                return
        self.preset_combo.setCurrentIndex(0)

    @Slot(int)
    def on_preset_combo_activated(self, index: int) -> None:
        name = self.preset_combo.itemData(index)
        preset = next((p for p in PRESETS if p.name == name), None)
        if preset is None:
            return
        self.set_style(preset.applied_to(self.own_style()))
        self.on_control_changed()
