"""A readable transcript with search: the live session in the control window, a past one in history.

Finals are shown as caption lines (:mod:`captioner.transcript.lines`), one
paragraph each (labelled "Me:", "Others:", "Speaker 2:" when known): a final
that continues the last line (same speaker, no sentence end, no long pause) is
appended to its paragraph. The live partial, in grey italics and replaced as it
changes, continues the last paragraph when it belongs to it, else is a
paragraph of its own at the end. Each live translation is an indented line tagged with its
language (``[es] Hola a todos.``), placed under the final it translates. The
view follows new text only while it is scrolled to the bottom, so reading back
is never interrupted. The search bar highlights every match; Enter/F3 go to the
next, Shift+Enter/Shift+F3 to the previous.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QFont,
    QKeySequence,
    QShortcut,
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QStyle,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from captioner.transcript import SOURCE_LABELS, Segment, Translation
from captioner.transcript.lines import (
    coalesce_segments,
    continue_line,
    join_text,
    joins,
    split_continuation,
    start_lines,
)
from captioner.transcript.model import attach_translations, owner_index
from captioner.transcript.speakers import SpeakerNames

log = logging.getLogger(__name__)

MAX_HIGHLIGHTS = 2000


class TranscriptPane(QWidget):
    """Transcript text plus a search bar.

    Attributes:
        text_edit: the read-only text.
        search: the search field.
        show_source_labels: prefix finals with "Me:" / "Others:".

    Signals:
        matches_changed(int current, int total): after a search.
    """

    matches_changed = Signal(int, int)

    def __init__(self, parent: QWidget | None = None, *, name: str = "Transcript") -> None:
        super().__init__(parent)
        self.show_source_labels = False
        self._speakers = SpeakerNames()
        self._partials: dict[str, Segment] = {}
        self._partial_spans: list[QTextCursor] = []  # the partials' text, selected
        self._finals = 0
        self._lines: list[Segment] = []  # caption lines shown, in arrival order
        self._text_block: dict[str, QTextBlock] = {}  # line id -> its paragraph
        self._group_end: dict[str, QTextBlock] = {}  # line id -> its last block
        self._matches: list[QTextCursor] = []
        self._current = -1

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search the transcript")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName(f"Search {name.lower()}")
        self.search.textChanged.connect(self.on_search_text_changed)
        self.search.returnPressed.connect(self.find_next)
        # NB: the style's arrows, not "▲"/"▼" (a font without them draws empty boxes)
        self.prev_button = QToolButton(self)
        self.prev_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowUp))
        self.prev_button.setToolTip("Previous match (Shift+Enter)")
        self.prev_button.setAccessibleName("Previous match")
        self.prev_button.clicked.connect(self.find_previous)
        self.next_button = QToolButton(self)
        self.next_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowDown))
        self.next_button.setToolTip("Next match (Enter)")
        self.next_button.setAccessibleName("Next match")
        self.next_button.clicked.connect(self.find_next)
        self.count_label = QLabel("", self)
        self.count_label.setMinimumWidth(80)
        self.count_label.setAccessibleName("Matches")

        self.text_edit = QPlainTextEdit(self)
        self.text_edit.setReadOnly(True)
        self.text_edit.setAccessibleName(name)
        self.text_edit.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                               | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.text_edit.setUndoRedoEnabled(False)
        font = self.text_edit.font()
        font.setPointSizeF(max(11.0, font.pointSizeF() * 1.15))
        self.text_edit.setFont(font)
        self.text_edit.document().setDocumentMargin(10)
        self.placeholder = "The transcript appears here as you caption."
        self.text_edit.setPlaceholderText(self.placeholder)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.prev_button)
        bar.addWidget(self.next_button)
        bar.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.text_edit, 1)

        for seq, slot in (("F3", self.find_next), ("Shift+F3", self.find_previous),
                          ("Shift+Return", self.find_previous),
                          ("Shift+Enter", self.find_previous)):
            shortcut = QShortcut(QKeySequence(seq), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        # NB: no focus proxy: with one, Tab into the pane jumps over the search field
        # (Qt 6.11 moves focus to the proxy when the chain enters a proxied widget)

    # -- content ------------------------------------------------------------------

    def label_for(self, seg: Segment) -> str:
        speaker = (seg.speaker or "").strip() or any(w.speaker for w in seg.words)
        if speaker:
            name = self._speakers.label(seg)
            if name not in SOURCE_LABELS.values():
                return name
        if self.show_source_labels:
            return SOURCE_LABELS.get(seg.source, seg.source)
        return ""

    def _line(self, seg: Segment) -> str:
        label = self.label_for(seg)
        return f"{label}: {seg.text}" if label else seg.text

    def clear(self) -> None:
        self.text_edit.clear()
        self._speakers = SpeakerNames()
        self._partials.clear()
        self._partial_spans.clear()
        self._finals = 0
        self._lines.clear()
        self._text_block.clear()
        self._group_end.clear()
        self._run_search()

    @staticmethod
    def translation_line(language: str, text: str) -> str:
        return f"    [{language}] {text}"

    def set_segments(self, segments: list[Segment] | tuple[Segment, ...],
                     translations: tuple[Translation, ...] = ()) -> None:
        """Show a finished transcript (history) as caption lines, translations under them."""
        self.clear()
        caption_lines = coalesce_segments(segments)
        under = attach_translations(caption_lines, translations)
        lines = []
        for seg in caption_lines:
            lines.append(self._line(seg))
            lines += [self.translation_line(lang, text)
                      for lang, text in under.get(seg.id, {}).items()]
        self.text_edit.setPlainText("\n".join(lines))
        self._finals = len(segments)
        self.text_edit.moveCursor(QTextCursor.MoveOperation.Start)
        self._run_search()

    def _at_bottom(self) -> bool:
        bar = self.text_edit.verticalScrollBar()
        return bar.value() >= bar.maximum() - 4

    def _remove_partials(self) -> None:
        for span in self._partial_spans:
            span.removeSelectedText()
        self._partial_spans.clear()

    def _continues(self, seg: Segment) -> Segment | None:
        """The last caption line if ``seg`` (a final or a partial) continues it."""
        last = self._lines[-1] if self._lines else None
        if last is None or not joins(last, seg) or self.label_for(seg) != self.label_for(last):
            return None
        return last

    def _insert(self, cursor: QTextCursor, position: int, text: str,
                fmt: QTextCharFormat) -> QTextCursor:
        """Insert ``text`` at ``position``; returns a cursor selecting it."""
        cursor.setPosition(position)
        cursor.insertText(text, fmt)
        span = QTextCursor(cursor)
        span.setPosition(position)
        span.setPosition(cursor.position(), QTextCursor.MoveMode.KeepAnchor)
        return span

    def _write_partials(self, cursor: QTextCursor) -> None:
        fmt = QTextCharFormat()
        fmt.setFontItalic(True)
        fmt.setForeground(self.palette().placeholderText())
        for seg in self._partials.values():
            line = self._continues(seg)
            parts = split_continuation(line, seg) if line is not None else None
            if line is not None and parts is not None:  # on its paragraph, after its words
                block = self._text_block[line.id]
                end = block.position() + block.length() - 1
                text = join_text(line.text, parts[0].text)[len(line.text):]
                self._partial_spans.append(self._insert(cursor, end, text, fmt))
                if parts[1] is None:
                    continue
                seg = parts[1]  # after a sentence end: a paragraph of its own, as when final
            end = self.text_edit.document().characterCount() - 1
            text = ("\n" if end > 0 else "") + self._line(seg)
            self._partial_spans.append(self._insert(cursor, end, text, fmt))

    def add_final(self, seg: Segment) -> None:
        self._partials.pop(seg.source, None)
        self._update(final=seg)

    def add_translation(self, tr: Translation) -> None:
        """Show a final live translation under the final it translates."""
        if tr.is_final and tr.text:
            self._update(translation=tr)

    def _insert_translation(self, cursor: QTextCursor, tr: Translation) -> None:
        mine = [s for s in self._lines if s.source == tr.source]
        if not mine:
            return
        owner = mine[owner_index(mine, tr.start_ms)].id
        block = self._group_end[owner]
        cursor.setPosition(block.position() + block.length() - 1)
        fmt = QTextCharFormat()
        fmt.setForeground(self.palette().link())
        cursor.insertText("\n" + self.translation_line(tr.language, tr.text), fmt)
        self._group_end[owner] = cursor.block()

    def set_partial(self, seg: Segment | None, source: str = "mic") -> None:
        if seg is None:
            if self._partials.pop(source, None) is None:
                return
        else:
            self._partials[seg.source] = seg
        self._update()

    def _update(self, final: Segment | None = None,
                translation: Translation | None = None) -> None:
        follow = self._at_bottom()
        bar = self.text_edit.verticalScrollBar()
        keep = bar.value()
        cursor = QTextCursor(self.text_edit.document())
        cursor.beginEditBlock()
        self._remove_partials()
        if final is not None:
            self._write_final(cursor, final)
        if translation is not None:
            self._insert_translation(cursor, translation)
        self._write_partials(cursor)
        cursor.endEditBlock()
        if follow:
            bar.setValue(bar.maximum())
        else:
            bar.setValue(keep)
        if (final is not None or translation is not None) and self.search.text():
            self._run_search(keep_current=True)

    def _write_final(self, cursor: QTextCursor, final: Segment) -> None:
        """Append a final to the last line's paragraph when it continues it, else as a
        new paragraph."""
        self._finals += 1
        line = self._continues(final)
        joined = continue_line(line, final) if line is not None else None
        if line is not None and joined is not None:
            block = self._text_block[line.id]
            cursor.setPosition(block.position() + block.length() - 1)
            cursor.insertText(joined[0].text[len(line.text):], QTextCharFormat())
            self._lines[-1] = joined[0]
            more = joined[1]  # the rest, after a sentence end: the next lines
        else:
            more = start_lines(final)
        for piece in more:
            self._new_paragraph(cursor, piece)

    def _new_paragraph(self, cursor: QTextCursor, final: Segment) -> None:
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if not cursor.atStart():
            cursor.insertText("\n", QTextCharFormat())
        cursor.insertText(self._line(final), QTextCharFormat())
        self._lines.append(final)
        self._text_block[final.id] = cursor.block()
        self._group_end[final.id] = cursor.block()

    def text(self) -> str:
        return self.text_edit.toPlainText()

    @property
    def final_count(self) -> int:
        return self._finals

    # -- search -------------------------------------------------------------------

    @Slot(str)
    def on_search_text_changed(self, _text: str) -> None:
        self._run_search()
        if self._matches:
            self._go_to(0)

    def _run_search(self, keep_current: bool = False) -> None:
        needle = self.search.text()
        doc = self.text_edit.document()
        self._matches = []
        if needle:
            cursor = QTextCursor(doc)
            while len(self._matches) < MAX_HIGHLIGHTS:
                cursor = doc.find(needle, cursor)
                if cursor.isNull():
                    break
                self._matches.append(QTextCursor(cursor))
        if not keep_current or self._current >= len(self._matches):
            self._current = -1 if not self._matches else min(max(self._current, 0),
                                                               len(self._matches) - 1)
        self._highlight()

    def _highlight(self) -> None:
        selections = []
        for i, match in enumerate(self._matches):
            sel = QTextEdit.ExtraSelection()
            sel.cursor = match
            fmt = QTextCharFormat()
            fmt.setBackground(QColor("#ff9800") if i == self._current else QColor("#fff176"))
            fmt.setForeground(QColor("#000000"))
            if i == self._current:
                fmt.setFontWeight(QFont.Weight.Bold)
            sel.format = fmt
            selections.append(sel)
        self.text_edit.setExtraSelections(selections)
        total = len(self._matches)
        if not self.search.text():
            self.count_label.setText("")
        elif total == 0:
            self.count_label.setText("No matches")
        else:
            more = "+" if total >= MAX_HIGHLIGHTS else ""
            self.count_label.setText(f"{self._current + 1} of {total}{more}")
        self.matches_changed.emit(self._current + 1 if total else 0, total)

    def _go_to(self, index: int) -> None:
        if not self._matches:
            return
        self._current = index % len(self._matches)
        cursor = QTextCursor(self._matches[self._current])
        self.text_edit.setTextCursor(cursor)
        self.text_edit.ensureCursorVisible()
        self._highlight()

    @Slot()
    def find_next(self) -> None:
        if not self._matches:
            self._run_search()
        self._go_to(self._current + 1)

    @Slot()
    def find_previous(self) -> None:
        if not self._matches:
            self._run_search()
        self._go_to(self._current - 1 if self._current >= 0 else -1)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()
