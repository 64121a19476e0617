"""Finals committed a few words at a time read as one line: in the overlay (model and
drawing), with the partial continuing its line, translations under the right line, the
partials' line budget kept, and in the control window's transcript."""

from __future__ import annotations

import json

from PySide6.QtGui import QColor

from captioner.gui.caption_model import CaptionModel, partial_rows
from captioner.gui.caption_style import CaptionStyle
from captioner.gui.caption_view import CaptionView
from captioner.gui.shell import AppShell
from captioner.gui.transcript_view import TranscriptPane
from captioner.providers.base import Final, FinalTranslation, Partial, PartialTranslation
from captioner.settings import Key
from captioner.stream import State
from captioner.transcript import Transcript
from captioner.transcript.lines import PAUSE_MS
from tests.gui.scripted import Script

CHUNKS = [Final("He did all that was prudently in his", 0, 2_400),
          Final("power to do", 2_500, 3_300), Final("for them.", 3_400, 4_000)]
SENTENCE = "He did all that was prudently in his power to do for them."


def view_with(qtbot, lines: int = 4, width_px: int = 1100) -> CaptionView:
    view = CaptionView(CaptionStyle(lines=lines, font_family="DejaVu Sans"))
    qtbot.addWidget(view)
    view.resize(width_px, view.height_for_lines(lines))
    return view


def drawn(view: CaptionView):
    view.grab()
    return view.drawn_lines()


# -- the overlay's model ----------------------------------------------------------------


def test_word_chunk_finals_are_one_line_and_a_sentence_end_starts_the_next() -> None:
    t, m = Transcript(), CaptionModel()
    for event in CHUNKS:
        m.apply(t.apply(event))
    m.apply(t.apply(Final("Then he left", 4_200, 5_000)))
    assert [e.text for e in m.finals] == [SENTENCE, "Then he left"]
    assert [e.key for e in m.finals] == ["mic-1", "mic-4"]
    assert len(t.finals) == 4  # the transcript keeps every final as it came


def test_the_rest_of_a_final_after_a_sentence_end_starts_the_next_line() -> None:
    t, m = Transcript(), CaptionModel()
    m.apply(t.apply(Final("more respectable than", 0, 1_500)))
    m.apply(t.apply(Final("he was. He might", 1_600, 2_400)))
    m.apply(t.apply(Final("even have been made", 2_500, 3_300)))
    assert [(e.key, e.text) for e in m.finals] == [
        ("mic-1", "more respectable than he was."), ("mic-2.1", "He might even have been made")]


def test_a_pause_a_speaker_change_and_another_source_start_new_lines() -> None:
    t, m = Transcript(), CaptionModel(show_source_labels=True)
    m.apply(t.apply(Final("so we", 0, 500, speaker="S1"), "system"))
    m.apply(t.apply(Final("think that", 600, 900, speaker="S2"), "system"))
    m.apply(t.apply(Final("it works", 1_000, 1_400, speaker="S2"), "system"))
    m.apply(t.apply(Final("and then", 1_500 + PAUSE_MS + 1, 3_500 + PAUSE_MS, speaker="S2"),
                    "system"))
    m.apply(t.apply(Final("I agree", 6_000, 6_500), "mic"))
    assert [(e.label, e.text, e.show_label) for e in m.finals] == [
        ("Speaker 1", "so we", True), ("Speaker 2", "think that it works", True),
        ("Speaker 2", "and then", False), ("Me", "I agree", True)]


def test_the_partial_continues_the_line_it_belongs_to() -> None:
    t, m = Transcript(), CaptionModel(show_source_labels=True)
    m.apply(t.apply(Final("He did all that was", 0, 1_500)))
    m.apply(t.apply(Partial("prudently in his", 1_600, 2_400)))
    [partial] = m.partials
    assert (partial.continues, partial.show_label) == ("mic-1", False)
    m.apply(t.apply(Final("prudently in his power to do for them.", 1_600, 4_000)))
    m.apply(t.apply(Partial("Then he", 4_200, 4_600)))
    assert m.partials[0].continues is None  # after a sentence end: a line of its own
    m.apply(t.apply(Partial("Yes", 4_300, 4_600), "system"))
    assert [(p.source, p.continues) for p in m.partials] == [("mic", None), ("system", None)]


def test_translations_line_up_with_coalesced_lines() -> None:
    t, m = Transcript(), CaptionModel()
    for event in CHUNKS:
        m.apply(t.apply(event))
    m.apply(t.apply(Final("Then he", 4_200, 4_600)))
    m.apply(t.apply(Final("left.", 4_700, 5_000)))
    m.apply(t.apply(FinalTranslation("es", "Hizo todo lo que pudo por ellos.", 0, 4_000)))
    m.apply(t.apply(PartialTranslation("es", "Luego se", 4_200, 4_600)))
    assert [e.translations for e in m.finals] == [
        (("es", "Hizo todo lo que pudo por ellos.", True),), (("es", "Luego se", False),)]
    m.apply(t.apply(FinalTranslation("es", "Luego se fue.", 4_200, 5_000)))
    assert m.finals[1].translations == (("es", "Luego se fue.", True),)


# -- the overlay's drawing --------------------------------------------------------------


def test_overlay_draws_the_chunks_as_one_line_that_grows_in_place(qtbot) -> None:
    view = view_with(qtbot, width_px=600)
    t = Transcript()
    view.apply(t.apply(CHUNKS[0]))
    first = drawn(view)
    view.apply(t.apply(CHUNKS[1]))
    view.apply(t.apply(CHUNKS[2]))
    now = drawn(view)
    assert " ".join(ln.text for ln in now) == SENTENCE
    assert {ln.key for ln in now} == {"mic-1"}
    assert now[0].text == first[0].text  # the words shown first kept their line


def test_overlay_draws_a_continuing_partial_on_its_line_in_the_partial_style(qtbot) -> None:
    view = view_with(qtbot)
    t = Transcript()
    view.apply(t.apply(Final("Good morning.", 0, 800)))
    view.apply(t.apply(Final("He did all that was", 1_000, 2_000)))
    view.apply(t.apply(Partial("prudently in his", 2_100, 2_800)))
    lines = drawn(view)
    assert [(ln.text, ln.tail, ln.is_final) for ln in lines] == [
        ("Good morning.", "", True),
        ("He did all that was prudently in his", "prudently in his", True)]
    view.apply(t.apply(Final("prudently in his", 2_100, 2_800)))
    assert [(ln.text, ln.tail) for ln in drawn(view)] == [
        ("Good morning.", ""), ("He did all that was prudently in his", "")]


def test_a_partial_past_a_sentence_end_is_drawn_where_its_final_will_be(qtbot) -> None:
    """The line's sentence ends on the line; the words after it are a line of their own
    already while partial, so nothing moves when they become final."""
    view = view_with(qtbot)
    t = Transcript()
    view.apply(t.apply(Final("He might have been more respectable than", 0, 2_000)))
    view.apply(t.apply(Partial("he was. He might", 2_100, 2_900)))
    partial = [(ln.text, ln.tail, ln.is_final, ln.italic) for ln in drawn(view)]
    assert partial == [("He might have been more respectable than he was.", "he was.", True, False),
                       ("He might", "", False, True)]
    view.apply(t.apply(Final("he was. He might", 2_100, 2_900)))
    assert [(ln.text, ln.tail) for ln in drawn(view)] == [(text, "") for text, *_ in partial]


def test_a_continuing_partial_keeps_to_the_partials_share_of_the_rows(qtbot) -> None:
    rows = 5
    view = view_with(qtbot, lines=rows, width_px=500)
    t = Transcript()
    view.apply(t.apply(Final("First we talked about the budget.", 0, 2_000)))
    view.apply(t.apply(Final("Then we", 2_100, 2_500)))
    words = ("looked at every single line of the plan for next year and asked "
             "whether each one of them was still needed by the team or could go").split()
    for n in range(1, len(words) + 1):
        view.apply(t.apply(Partial(" ".join(words[:n]), 2_600, 2_600 + 200 * n)))
        lines = drawn(view)
        assert len(lines) <= rows
        own = [ln for ln in lines if not ln.is_final]
        assert len(own) <= partial_rows(rows)
        assert len(lines) - len(own) >= min(3, rows - partial_rows(rows))  # finals' rows
        assert any(ln.text.startswith("Then we") for ln in lines)  # never pushed out
        assert lines[-1].tail and lines[-1].tail.split()[-1] == words[n - 1]  # newest shown


def test_translation_lines_stay_under_their_coalesced_line(qtbot) -> None:
    view = view_with(qtbot, lines=5)
    t = Transcript()
    for event in (*CHUNKS, FinalTranslation("es", "Hizo todo lo que pudo por ellos.", 0, 4_000),
                  Final("Then he", 4_200, 4_600),
                  PartialTranslation("es", "Luego", 4_200, 4_600),
                  Partial("left", 4_700, 5_000)):
        view.apply(t.apply(event))
    lines = drawn(view)
    assert [(ln.text, ln.language, ln.tail) for ln in lines] == [
        (SENTENCE, None, ""), ("Hizo todo lo que pudo por ellos.", "es", ""),
        ("Then he left", None, "left"), ("Luego", "es", "")]
    assert lines[3].color.alphaF() < 1.0 and lines[1].color == QColor(view.style.translation_color)


# -- the control window's transcript ----------------------------------------------------


def test_transcript_pane_shows_lines_with_the_partial_continuing_them(qtbot) -> None:
    pane = TranscriptPane()
    qtbot.addWidget(pane)
    t = Transcript()

    def feed(event, source: str = "mic") -> None:
        change = t.apply(event, source)
        if change.translation is not None:
            pane.add_translation(change.translation)
        seg = change.segment
        if seg is not None and seg.is_final:
            pane.add_final(seg)
        elif seg is not None:
            pane.set_partial(seg)
        elif change.cleared_partial:
            pane.set_partial(None, change.cleared_partial)

    feed(CHUNKS[0])
    feed(Partial("power to", 2_500, 3_000))
    assert pane.text() == "He did all that was prudently in his power to"
    feed(CHUNKS[1])
    feed(FinalTranslation("es", "Hizo todo lo que pudo", 0, 3_300))
    feed(Partial("for them", 3_400, 3_800))
    assert pane.text() == ("He did all that was prudently in his power to do for them\n"
                           "    [es] Hizo todo lo que pudo")
    feed(Partial("for them. Then", 3_400, 4_300))
    assert pane.text() == (f"{SENTENCE}\n    [es] Hizo todo lo que pudo\nThen")
    feed(CHUNKS[2])
    feed(Partial("Then he", 4_200, 4_600))
    assert pane.text() == (f"{SENTENCE}\n    [es] Hizo todo lo que pudo\nThen he")
    feed(Final("Then he", 4_200, 4_600))
    feed(Final("left. And so", 4_700, 5_300))
    assert pane.text().splitlines() == [SENTENCE, "    [es] Hizo todo lo que pudo",
                                        "Then he left.", "And so"]
    assert pane.final_count == 5
    pane.search.setText("power to do")
    assert pane.count_label.text() == "1 of 1"  # a phrase across two finals is found

    history = TranscriptPane()
    qtbot.addWidget(history)
    history.set_segments(t.finals, t.translations)
    assert history.text() == pane.text()


# -- the detected language in the status line -------------------------------------------


def test_status_line_names_the_detected_language(qtbot, settings, store, journal_dir) -> None:

    settings.set(Key.LANGUAGE, "multi")  # automatic
    script = Script([("state", State.CONNECTING), ("state", State.LIVE),
                     ("event", Partial("Hola a", 0, 400, language="es")),
                     ("event", Final("Hola a todos.", 0, 900, language="es")), ("wait",),
                     ("event", Final("Guten Morgen.", 1_000, 1_800, language="de"))])
    shell = AppShell(settings, store, runner_factory=script.factory, journal_dir=journal_dir,
                     use_tray=False)
    qtbot.addWidget(shell.window)
    qtbot.addWidget(shell.overlay)
    shell.show()
    try:
        shell.controller.start()
        status = shell.overlay.status_line
        qtbot.waitUntil(lambda: status.text() == "Live · Offline engine · Spanish", timeout=15000)
        script.release()
        qtbot.waitUntil(lambda: status.text().endswith("· German"), timeout=15000)
        shell.controller.stop()
        qtbot.waitUntil(lambda: shell.controller.run_state == "stopped", timeout=15000)
        assert "German" not in status.text()
        records = [json.loads(line) for line in
                   sorted(journal_dir.glob("*.jsonl"))[-1].read_text().splitlines()]
        assert [r.get("language") for r in records if r["type"] == "final"] == ["es", "de"]
    finally:
        shell.controller.shutdown(3000)


def test_a_chosen_language_is_not_repeated_in_the_status_line(qtbot, settings, store,
                                                              journal_dir) -> None:

    script = Script([("state", State.CONNECTING), ("state", State.LIVE),
                     ("event", Final("Good morning.", 0, 900, language="en"))])
    shell = AppShell(settings, store, runner_factory=script.factory, journal_dir=journal_dir,
                     use_tray=False)
    qtbot.addWidget(shell.window)
    qtbot.addWidget(shell.overlay)
    shell.show()
    try:
        shell.controller.start()
        qtbot.waitUntil(lambda: shell.window.transcript.final_count == 1, timeout=15000)
        assert shell.overlay.status_line.text() == "Live · Offline engine"
    finally:
        shell.controller.shutdown(3000)
