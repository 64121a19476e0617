"""The caption text itself: lays out each entry once, draws the last N lines, scrolls back.

Each final line is laid out (word-wrapped into visual lines of glyph runs) the
first time it becomes visible and cached; it is laid out again only when a final
joins it (its words on screen keep their places: it grows at the end) or the
width or the style changes, so finals on screen stay where they are while the
partial below them grows. The live partial is laid out on its own, in italic
and dimmer — or, when it continues the newest line, on that line after its
final words (:meth:`CaptionView._open_laid`), its lines of its own held to the
partials' share of the rows. Live translations are laid out under their entry's lines in the
style's translation font and colour (a partial translation dimmer); each of
their lines takes a row, so they stay within the line budget. Each visual
line is rendered once (outline, shadow, text) into an image kept in a small
cache keyed by its text, so a repaint only blits images, and a growing partial
renders just its changed last line. Only visible entries are measured, so an
update costs the same with 10 finals or 10,000.

Used by the overlay and by the preferences' live preview. It draws text only;
the panel behind it is the parent's (see :func:`paint_panel`).
"""

from __future__ import annotations

import collections
import logging
import math
from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QGlyphRun,
    QImage,
    QPainter,
    QPaintEvent,
    QPen,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from captioner.gui.caption_model import (
    CaptionEntry,
    CaptionModel,
    LinePos,
    Slice,
    last_line,
    move,
    partial_rows,
    visible_slices,
)
from captioner.gui.caption_style import PARTIAL_ALPHA, CaptionStyle
from captioner.transcript import Change
from captioner.transcript.lines import join_text

log = logging.getLogger(__name__)

PAD_X_PX = 18
PAD_Y_PX = 8
CACHE_ENTRIES = 512
IMAGE_CACHE_BYTES = 48 * 1024 * 1024


@dataclass
class _Line:
    text: str
    y_px: float  # the line's top in its layout
    label_runs: list[QGlyphRun]
    body_runs: list[QGlyphRun]
    width_px: float = 0.0
    key: tuple = ()  # identifies the image: (italic, label chars, text, language, tail at)
    language: str | None = None  # a live translation's line
    dim: bool = False  # a partial translation under a final
    tail_runs: list[QGlyphRun] = field(default_factory=list)  # a continuing partial's words
    tail_text: str = ""  # those words
    partial_only: bool = False  # a line of the continuing partial alone (its text, its
    # translations): counts against the partials' share of the rows


@dataclass
class _Laid:
    lines: list[_Line] = field(default_factory=list)


@dataclass(frozen=True)
class DrawnLine:
    """One visual line as last painted (for tests and accessibility checks).

    Attributes:
        key: the entry's key (segment id or ``"partial:<source>"``).
        text: the characters on this line (label included).
        top_px: the line's top in the view.
        is_final: False for the partial (and a line holding only a partial that
            continues a final line).
        italic: drawn in italic.
        color: the body text colour (alpha tells dim from full).
        line_index: which visual line of its entry this is.
        language: for a line of a live translation, its language.
    """

    key: str
    text: str
    top_px: float
    is_final: bool
    italic: bool
    color: QColor
    line_index: int
    language: str | None = None
    tail: str = ""  # the words of a continuing partial on this line (drawn italic, dim)


def paint_panel(painter: QPainter, rect: QRectF, style: CaptionStyle, radius_px: float = 14.0,
                border: bool = False) -> None:
    """The rounded translucent panel captions sit on."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(255, 255, 255, 90), 1.5) if border else Qt.PenStyle.NoPen)
    painter.setBrush(style.bg_qcolor())
    painter.drawRoundedRect(rect, radius_px, radius_px)
    painter.restore()


class CaptionView(QWidget):
    """Draws the newest caption lines, bottom-aligned, and keeps a scroll-back position.

    Attributes:
        model: the entries shown.
        style: the current :class:`CaptionStyle`.
        layouts_done: how many entry layouts were computed (benchmarks, tests).

    Signals:
        scroll_changed(bool live, int new_finals): scrolled back or returned to
            live; ``new_finals`` counts finals that arrived while scrolled back.
    """

    scroll_changed = Signal(bool, int)

    def __init__(self, style: CaptionStyle | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Captions")
        self.model = CaptionModel()
        self.style = style or CaptionStyle()
        self.placeholder = ""
        self.layouts_done = 0
        self._cache: collections.OrderedDict[str, _Laid] = collections.OrderedDict()
        self._partial_cache: dict[str, tuple[tuple[object, ...], _Laid]] = {}
        self._images: collections.OrderedDict[tuple, QImage] = collections.OrderedDict()
        self._images_bytes = 0
        self.lines_rendered = 0
        self._cache_width_px = -1.0
        self._anchor: LinePos | None = None
        self._new_while_scrolled = 0
        self._drawn: list[DrawnLine] = []
        self._open: tuple[int, _Laid] | None = None  # the newest final with its partial
        self._set_metrics()

    # -- configuration ------------------------------------------------------------

    def set_style(self, style: CaptionStyle) -> None:
        if style == self.style:
            return
        self.style = style
        self._set_metrics()
        self._invalidate()
        self.updateGeometry()
        self.update()

    def _set_metrics(self) -> None:
        self._font = self.style.font()
        self._italic = self.style.font(italic=True)
        self._translation_font = self.style.translation_font()
        metrics = QFontMetricsF(self._font)
        self.line_height_px = metrics.lineSpacing()
        self._ascent_px = metrics.ascent()
        self._outline_px = max(2.0, self.style.font_pt / 9.0)

    def set_placeholder(self, text: str) -> None:
        if text != self.placeholder:
            self.placeholder = text
            self.update()

    def set_show_source_labels(self, show: bool) -> None:
        self.model.show_source_labels = show

    def _invalidate(self) -> None:
        self._cache.clear()
        self._partial_cache.clear()
        self._images.clear()
        self._images_bytes = 0

    # -- size -------------------------------------------------------------------------

    def height_for_lines(self, lines: int) -> int:
        return int(round(lines * self.line_height_px + 2 * PAD_Y_PX))

    def rows(self) -> int:
        """Rows shown: the configured number, or fewer if the view is shorter."""
        fit = int((self.height() - 2 * PAD_Y_PX + 1) // max(1.0, self.line_height_px))
        return max(1, min(self.style.lines, fit))

    def sizeHint(self) -> QSize:
        return QSize(int(self.style.font_pt * 30), self.height_for_lines(self.style.lines))

    def minimumSizeHint(self) -> QSize:
        return QSize(int(self.style.font_pt * 6), self.height_for_lines(1))

    def _text_width_px(self) -> float:
        return max(40.0, self.width() - 2 * PAD_X_PX)

    # -- content ----------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        """Show a transcript change (a partial replaced, a final added)."""
        added = self.model.apply(change)
        if added is not None and self._anchor is not None:
            self._new_while_scrolled += 1
            self.scroll_changed.emit(False, self._new_while_scrolled)
        for key in self.model.take_stale():
            self._cache.pop(key, None)
        if (added is not None or change.segment is not None or change.cleared_partial
                or change.translation is not None):
            self.update()

    def clear(self) -> None:
        self.model.clear()
        self._invalidate()
        self._anchor = None
        self._new_while_scrolled = 0
        self.scroll_changed.emit(True, 0)
        self.update()

    # -- layout -----------------------------------------------------------------------

    def _cased(self, text: str) -> str:
        return text.upper() if self.style.uppercase else text

    def _lay_out(self, entry: CaptionEntry, tail: CaptionEntry | None = None) -> _Laid:
        """Lay out an entry: its text, then its translations; with ``tail`` (a partial
        continuing this final line) its words after the final's, and its translations last."""
        self.layouts_done += 1
        body = self._cased(entry.text)
        prefix = f"{entry.label}: " if entry.show_label and entry.label else ""
        laid = _Laid()
        text, tail_from = prefix + body, None
        if tail is not None:
            tail_body = self._cased(tail.text)
            text = join_text(text, tail_body)
            tail_from = len(text) - len(tail_body)
        self._lay_out_text(laid, text, len(prefix),
                           self._font if entry.is_final else self._italic, not entry.is_final,
                           tail_from=tail_from)
        if not laid.lines:
            laid.lines.append(_Line("", 0.0, [], []))
        translations = [(t, False) for t in entry.translations]
        translations += [(t, True) for t in tail.translations] if tail is not None else []
        for (language, tr_text, is_final), of_tail in translations:
            start = len(laid.lines)
            self._lay_out_text(laid, self._cased(tr_text), 0, self._translation_font, False,
                               language)
            for line in laid.lines[start:]:
                line.dim = not is_final
                line.partial_only = of_tail
        return laid

    def _lay_out_text(self, laid: _Laid, text: str, label_chars: int, font: QFont,
                      italic: bool, language: str | None = None,
                      tail_from: int | None = None) -> None:
        """Word-wrap ``text`` (its first ``label_chars`` are the label; from ``tail_from``
        on, a continuing partial's words, in italic) onto ``laid``."""
        prefix = text[:label_chars]
        tail_at = len(text) if tail_from is None else tail_from
        layout = QTextLayout(text, font)
        if tail_at < len(text):
            italic_format = QTextCharFormat()
            italic_format.setFont(self._italic)
            span = QTextLayout.FormatRange()
            span.start, span.length, span.format = tail_at, len(text) - tail_at, italic_format
            layout.setFormats([span])
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        width = self._text_width_px()
        layout.beginLayout()
        y = 0.0
        while True:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            line.setPosition(QPointF(0.0, y))
            y += self.line_height_px
        layout.endLayout()
        for i in range(layout.lineCount()):
            line = layout.lineAt(i)
            start, length = line.textStart(), line.textLength()
            label_end = min(start + length, len(prefix))
            label_runs = line.glyphRuns(start, label_end - start) if label_end > start else []
            body_start = max(start, len(prefix))
            body_len = min(start + length, tail_at) - body_start
            body_runs = line.glyphRuns(body_start, body_len) if body_len > 0 else []
            tail_start = max(start, tail_at)
            tail_len = start + length - tail_start
            tail_runs = line.glyphRuns(tail_start, tail_len) if tail_len > 0 else []
            line_text = text[start:start + length].rstrip()
            tail_key = tail_start - start if tail_len > 0 else -1
            laid.lines.append(_Line(line_text, line.y(), list(label_runs), list(body_runs),
                                    line.naturalTextWidth(),
                                    (italic, max(0, label_end - start), line_text, language,
                                     tail_key),
                                    language, tail_runs=list(tail_runs),
                                    tail_text=text[tail_start:start + length].strip(),
                                    partial_only=start >= tail_at))

    def _final_laid(self, index: int) -> _Laid:
        entry = self.model.finals[index]
        laid = self._cache.get(entry.key)
        if laid is None:
            laid = self._lay_out(entry)
            self._cache[entry.key] = laid
            if len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(entry.key)
        return laid

    def _partial_laid(self, entry: CaptionEntry) -> _Laid:
        sig = (entry.text, entry.show_label, entry.translations)
        cached = self._partial_cache.get(entry.key)
        if cached is not None and cached[0] == sig:
            return cached[1]
        laid = self._lay_out(entry)
        self._partial_cache[entry.key] = (sig, laid)
        return laid

    def _open_laid(self, tail: CaptionEntry, budget: int) -> tuple[int, _Laid]:
        """The newest final line with the partial ``tail`` that continues it drawn on it:
        its index, and the layout, keeping only the newest ``budget`` of the lines
        that are the partial's alone (its own translations last)."""
        index = len(self.model.finals) - 1
        entry = self.model.finals[index]
        sig = (entry, tail.text, tail.translations, budget)
        cached = self._partial_cache.get("open")
        if cached is not None and cached[0] == sig:
            return index, cached[1]
        laid = self._lay_out(entry, tail)
        own = [i for i, line in enumerate(laid.lines) if line.partial_only]
        drop = set(own[:max(0, len(own) - budget)])
        laid.lines = [line for i, line in enumerate(laid.lines) if i not in drop]
        self._partial_cache["open"] = (sig, laid)
        return index, laid

    def _check_width(self) -> None:
        width = self._text_width_px()
        if width != self._cache_width_px:
            self._cache_width_px = width
            self._invalidate()

    def current_slices(self) -> list[Slice]:
        """The entries and lines that fill the view now."""
        self._check_width()
        partials = [] if self._anchor is not None else self.model.partials
        rows = self.rows()
        tail = next((p for p in partials if p.continues is not None), None)
        self._open = None if tail is None else self._open_laid(tail, partial_rows(rows))
        used = 0 if self._open is None else sum(ln.partial_only for ln in self._open[1].lines)
        partials = [p for p in partials if p.continues is None]
        return visible_slices(
            self.model.finals, partials,
            lambda i: len(self._laid_final(i).lines),
            lambda i: len(self._partial_laid(partials[i]).lines),
            rows, self._anchor, partial_rows_used=used)

    def _laid_final(self, index: int) -> _Laid:
        """A final line as shown now (the newest with its continuing partial, if any)."""
        if self._open is not None and self._open[0] == index:
            return self._open[1]
        return self._final_laid(index)

    # -- scrolling --------------------------------------------------------------------

    @property
    def is_live(self) -> bool:
        return self._anchor is None

    def _count(self, index: int) -> int:
        return len(self._final_laid(index).lines)

    def scroll_by(self, lines: int) -> None:
        """Scroll back (negative) or forward (positive) by visual lines."""
        self._check_width()
        finals = len(self.model.finals)
        if finals == 0 or lines == 0:
            return
        rows = self.rows()
        top = move(LinePos(0, 0), rows - 1, finals, self._count)  # the view's topmost bottom
        if top is None:  # every final fits on screen: nothing to scroll to
            if self._anchor is not None:
                self._set_anchor(None)
            return
        if self._anchor is None:
            if lines > 0:
                return
            start = last_line(finals, self._count)
            assert start is not None
            # with a partial on screen, the first step back just hides it
            step = lines + 1 if self.model.partials else lines
            new = move(start, step, finals, self._count)
        else:
            new = move(self._anchor, lines, finals, self._count)
        if new is not None and (new.index, new.line) < (top.index, top.line):
            new = top
        self._set_anchor(new)

    def jump_to_live(self) -> None:
        self._set_anchor(None)

    def _set_anchor(self, anchor: LinePos | None) -> None:
        was_live = self._anchor is None
        self._anchor = anchor
        if anchor is None:
            self._new_while_scrolled = 0
        if was_live != (anchor is None) or anchor is not None:
            self.scroll_changed.emit(anchor is None, self._new_while_scrolled)
        self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.scroll_by(-1 if steps > 0 else 1)
            event.accept()
        else:
            event.ignore()

    # -- painting ---------------------------------------------------------------------

    def drawn_lines(self) -> list[DrawnLine]:
        """What the last paint drew, top to bottom."""
        return list(self._drawn)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            self.paint_captions(painter)
        finally:
            painter.end()

    def paint_captions(self, painter: QPainter) -> None:
        """Draw the visible lines (also used offscreen by the benchmark)."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        drawn: list[DrawnLine] = []
        slices = self.current_slices()
        rows_used = sum(s.end - s.first for s in slices)
        y = self.height() - PAD_Y_PX - rows_used * self.line_height_px
        if not slices and self.placeholder:
            self._paint_placeholder(painter)
        for sl in slices:
            entry = sl.entry
            laid = (self._laid_final(sl.final_index) if sl.final_index is not None
                    else self._partial_laid(entry))
            color = self.style.text_qcolor(partial=not entry.is_final)
            for index in range(sl.first, min(sl.end, len(laid.lines))):
                line = laid.lines[index]
                line_color = color
                if line.language is not None:
                    line_color = QColor(self.style.translation_color)
                    line_color.setAlphaF(PARTIAL_ALPHA if line.dim or not entry.is_final
                                         else 1.0)
                self._paint_line(painter, line, QPointF(PAD_X_PX, y), line_color.alphaF())
                drawn.append(DrawnLine(entry.key, line.text, y,
                                       entry.is_final and not line.partial_only,
                                       line.key[0] or line.partial_only, QColor(line_color),
                                       index, line.language, line.tail_text))
                y += self.line_height_px
        self._drawn = drawn

    def _paint_line(self, painter: QPainter, line: _Line, top_left: QPointF,
                    opacity: float) -> None:
        """Blit the line's image with its top-left at ``top_left`` (dimmed for the partial)."""
        if not line.label_runs and not line.body_runs and not line.tail_runs:
            return
        image = self._line_image(line)
        pad = self._image_pad_px()
        painter.save()
        painter.setOpacity(opacity)
        painter.drawImage(QPointF(top_left.x() - pad, top_left.y() - pad), image)
        painter.restore()

    def _image_pad_px(self) -> float:
        return math.ceil(self._outline_px * 1.6) + 1

    def _line_image(self, line: _Line) -> QImage:
        """The line drawn once (shadow, outline, text) at full opacity; cached by its key."""
        dpr = max(1.0, self.devicePixelRatioF())
        key = (dpr, *line.key)
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
            return image
        self.lines_rendered += 1
        pad = self._image_pad_px()
        # NB: italic glyphs lean past the advance width; leave room for the last one
        italic = line.key[0] or bool(line.tail_runs)
        width = line.width_px + 2 * pad + (self.style.font_pt * 0.35 if italic else 0)
        height = self.line_height_px + 2 * pad
        image = QImage(max(1, math.ceil(width * dpr)), max(1, math.ceil(height * dpr)),
                       QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(dpr)
        image.fill(Qt.GlobalColor.transparent)
        text_color = QColor(self.style.translation_color if line.language is not None
                            else self.style.text_color)
        label_color = QColor(self.style.label_color)
        runs = [(run, label_color) for run in line.label_runs]
        runs += [(run, text_color) for run in line.body_runs]
        origin = QPointF(pad, pad - line.y_px)
        self._draw_runs(image, runs, origin)
        if line.tail_runs:  # a continuing partial's words: drawn whole, then laid on dimmer
            tail = QImage(image.size(), QImage.Format.Format_ARGB32_Premultiplied)
            tail.setDevicePixelRatio(dpr)
            tail.fill(Qt.GlobalColor.transparent)
            self._draw_runs(tail, [(run, text_color) for run in line.tail_runs], origin)
            painter = QPainter(image)
            painter.setOpacity(PARTIAL_ALPHA)
            painter.drawImage(QPointF(0, 0), tail)
            painter.end()
        self._images[key] = image
        self._images_bytes += image.sizeInBytes()
        while self._images_bytes > IMAGE_CACHE_BYTES and len(self._images) > 1:
            _, old = self._images.popitem(last=False)
            self._images_bytes -= old.sizeInBytes()
        return image

    def _draw_runs(self, image: QImage, runs: list[tuple[QGlyphRun, QColor]],
                   origin: QPointF) -> None:
        """Draw glyph runs on ``image`` (shadow, outline, text), their layout's origin
        at ``origin``."""
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.translate(origin)
        if self.style.shadow:
            shadow = QColor(0, 0, 0, 200)
            offset = QPointF(self._outline_px * 0.9, self._outline_px * 0.9)
            painter.setPen(shadow)
            for run, _ in runs:
                painter.drawGlyphRun(offset, run)
        if self.style.outline:
            # NB: the glyphs stamped around a circle: as clean as stroking their path for
            # outlines this thin, and ~20x faster (QPainter.strokePath cost 16 ms a line)
            painter.setPen(self.style.outline_qcolor())
            for offset in _ring(self._outline_px):
                for run, _ in runs:
                    painter.drawGlyphRun(offset, run)
        for run, run_color in runs:
            painter.setPen(run_color)
            painter.drawGlyphRun(QPointF(0, 0), run)
        painter.end()

    def _paint_placeholder(self, painter: QPainter) -> None:
        painter.save()
        color = QColor(self.style.text_color)
        color.setAlphaF(0.55)
        painter.setPen(color)
        font = self.style.font()
        font.setPointSizeF(max(9.0, self.style.font_pt * 0.6))
        font.setWeight(font.Weight.Normal)
        painter.setFont(font)
        rect = QRectF(self.rect()).adjusted(PAD_X_PX, PAD_Y_PX, -PAD_X_PX, -PAD_Y_PX)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                         self.placeholder)
        painter.restore()



def _ring(radius_px: float) -> list[QPointF]:
    """Offsets around a circle (and a half-radius one for thick outlines)."""
    points = []
    for r in (radius_px, radius_px / 2) if radius_px > 2.5 else (radius_px,):
        n = max(8, math.ceil(2 * math.pi * r / 1.5))
        points += [QPointF(r * math.cos(2 * math.pi * i / n), r * math.sin(2 * math.pi * i / n))
                   for i in range(n)]
    return points
