"""How captions look: font, colours, opacity, outline or shadow, case; kept in Settings.

:class:`CaptionStyle` is a frozen value; the overlay and the preferences'
live preview both draw with it. :data:`PRESETS` are one-click looks, among
them the high-contrast one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetricsF

from captioner.settings import Key, Settings

log = logging.getLogger(__name__)

MIN_FONT_PT = 8
MAX_FONT_PT = 96
MIN_LINES = 1
MAX_LINES = 10
PARTIAL_ALPHA = 0.72  # the live partial's text, relative to the finals'
MIN_TRANSLATION_SCALE = 0.5


@dataclass(frozen=True)
class CaptionStyle:
    """Everything that decides how a caption is drawn.

    Attributes:
        font_family: "" for the system's default sans-serif.
        font_pt: point size (8–96).
        bold: bold captions (easier to read over video).
        text_color, label_color, bg_color: ``#rrggbb``.
        bg_opacity: 0 (no panel) to 1 (opaque).
        outline, shadow: a dark outline / drop shadow around the letters.
        uppercase: show captions in capitals (off by default: mixed case reads faster).
        lines: how many lines to show (1–10).
        show_status: the small status line under the captions.
        translation_color: ``#rrggbb`` of live translations under the captions.
        translation_scale: their size relative to the captions' (0.5–1).
    """

    font_family: str = ""
    font_pt: int = 24
    bold: bool = True
    text_color: str = "#ffffff"
    label_color: str = "#ffd54f"
    bg_color: str = "#000000"
    bg_opacity: float = 0.9
    outline: bool = True
    shadow: bool = False
    uppercase: bool = False
    lines: int = 3
    show_status: bool = True
    translation_color: str = "#80deea"
    translation_scale: float = 0.8

    @classmethod
    def from_settings(cls, settings: Settings, *, high_contrast: bool = True) -> CaptionStyle:
        """The saved style; with the high-contrast preset applied if it is on (and
        ``high_contrast``; the preferences read the user's own colours with False)."""
        style = cls(
            font_family=settings.get(Key.OVERLAY_FONT_FAMILY),
            font_pt=settings.get(Key.OVERLAY_FONT_PT),
            bold=settings.get(Key.OVERLAY_FONT_BOLD),
            text_color=settings.get(Key.OVERLAY_TEXT_COLOR),
            label_color=settings.get(Key.OVERLAY_LABEL_COLOR),
            bg_color=settings.get(Key.OVERLAY_BG_COLOR),
            bg_opacity=settings.get(Key.OVERLAY_BG_OPACITY),
            outline=settings.get(Key.OVERLAY_OUTLINE),
            shadow=settings.get(Key.OVERLAY_SHADOW),
            uppercase=settings.get(Key.OVERLAY_UPPERCASE),
            lines=settings.get(Key.OVERLAY_LINES),
            show_status=settings.get(Key.OVERLAY_SHOW_STATUS),
            translation_color=settings.get(Key.OVERLAY_TRANSLATION_COLOR),
            translation_scale=settings.get(Key.OVERLAY_TRANSLATION_SCALE),
        )
        if high_contrast and settings.get(Key.OVERLAY_HIGH_CONTRAST):
            style = HIGH_CONTRAST.applied_to(style)
        return style.clamped()

    def save(self, settings: Settings, *, high_contrast: bool | None = None) -> None:
        s = self.clamped()
        settings.set(Key.OVERLAY_FONT_FAMILY, s.font_family)
        settings.set(Key.OVERLAY_FONT_PT, s.font_pt)
        settings.set(Key.OVERLAY_FONT_BOLD, s.bold)
        settings.set(Key.OVERLAY_TEXT_COLOR, s.text_color)
        settings.set(Key.OVERLAY_LABEL_COLOR, s.label_color)
        settings.set(Key.OVERLAY_BG_COLOR, s.bg_color)
        settings.set(Key.OVERLAY_BG_OPACITY, float(s.bg_opacity))
        settings.set(Key.OVERLAY_OUTLINE, s.outline)
        settings.set(Key.OVERLAY_SHADOW, s.shadow)
        settings.set(Key.OVERLAY_UPPERCASE, s.uppercase)
        settings.set(Key.OVERLAY_LINES, s.lines)
        settings.set(Key.OVERLAY_SHOW_STATUS, s.show_status)
        settings.set(Key.OVERLAY_TRANSLATION_COLOR, s.translation_color)
        settings.set(Key.OVERLAY_TRANSLATION_SCALE, float(s.translation_scale))
        if high_contrast is not None:
            settings.set(Key.OVERLAY_HIGH_CONTRAST, high_contrast)

    def clamped(self) -> CaptionStyle:
        return replace(
            self,
            font_pt=max(MIN_FONT_PT, min(MAX_FONT_PT, int(self.font_pt))),
            lines=max(MIN_LINES, min(MAX_LINES, int(self.lines))),
            bg_opacity=max(0.0, min(1.0, float(self.bg_opacity))),
            text_color=_valid_color(self.text_color, "#ffffff"),
            label_color=_valid_color(self.label_color, "#ffd54f"),
            bg_color=_valid_color(self.bg_color, "#000000"),
            translation_color=_valid_color(self.translation_color, "#80deea"),
            translation_scale=max(MIN_TRANSLATION_SCALE, min(1.0, float(self.translation_scale))),
        )

    # -- derived Qt values ----------------------------------------------------------

    def font(self, *, italic: bool = False) -> QFont:
        if self.font_family:
            font = QFont(self.font_family)
        else:
            font = QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont)
        font.setPointSizeF(float(self.font_pt))
        font.setWeight(QFont.Weight.DemiBold if self.bold else QFont.Weight.Normal)
        font.setItalic(italic)
        # NB: no hinting, so a line's glyph positions don't depend on where it is drawn
        font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
        return font

    def translation_font(self) -> QFont:
        """Live translations: the caption font, smaller and not bold."""
        font = self.font()
        font.setPointSizeF(max(float(MIN_FONT_PT), self.font_pt * self.translation_scale))
        font.setWeight(QFont.Weight.Normal)
        return font

    def line_height_px(self) -> float:
        return QFontMetricsF(self.font()).lineSpacing()

    def status_font(self) -> QFont:
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont)
        font.setPointSizeF(max(9.0, min(14.0, self.font_pt * 0.42)))
        return font

    def text_qcolor(self, *, partial: bool = False) -> QColor:
        color = QColor(self.text_color)
        if partial:
            color.setAlphaF(PARTIAL_ALPHA)
        return color

    def bg_qcolor(self) -> QColor:
        color = QColor(self.bg_color)
        color.setAlphaF(self.bg_opacity)
        return color

    def outline_qcolor(self) -> QColor:
        """Dark around light text, light around dark text."""
        text = QColor(self.text_color)
        return QColor(0, 0, 0) if text.lightnessF() >= 0.5 else QColor(255, 255, 255)


def _valid_color(value: str, fallback: str) -> str:
    color = QColor(value)
    return color.name() if color.isValid() else fallback


@dataclass(frozen=True)
class Preset:
    """A named look: the fields it sets."""

    name: str
    text_color: str
    label_color: str
    bg_color: str
    bg_opacity: float
    outline: bool
    shadow: bool
    bold: bool

    def applied_to(self, style: CaptionStyle) -> CaptionStyle:
        return replace(style, text_color=self.text_color, label_color=self.label_color,
                       bg_color=self.bg_color, bg_opacity=self.bg_opacity,
                       outline=self.outline, shadow=self.shadow, bold=self.bold)


DEFAULT = Preset("Classic (white on dark)", "#ffffff", "#ffd54f", "#000000", 0.9, True, False,
                 True)
# the default before settings version 3: what is behind shows through the panel
TRANSLUCENT = Preset("Translucent (previous look)", "#ffffff", "#ffd54f", "#000000", 0.6, True,
                     False, True)
HIGH_CONTRAST = Preset("High contrast (yellow on black)", "#ffff00", "#ffffff", "#000000", 1.0,
                       False, False, True)
PRESETS = (
    DEFAULT,
    HIGH_CONTRAST,
    Preset("White on black", "#ffffff", "#ffd54f", "#000000", 1.0, False, False, True),
    Preset("Black on white", "#000000", "#0b4f9c", "#ffffff", 0.92, False, False, True),
    Preset("No panel (outlined text)", "#ffffff", "#ffd54f", "#000000", 0.0, True, True, True),
    TRANSLUCENT,
)
