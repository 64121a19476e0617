"""The caption overlay, driven with partial and final events; assertions on what is drawn."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt

from captioner.gui.caption_style import CaptionStyle
from captioner.gui.overlay import (
    OverlayWindow,
    clamp_to,
    docked_rect,
    lines_that_fit,
    overlay_height_px,
    screen_key,
)
from captioner.gui.overlay_place import first_run_rects
from captioner.gui.status_line import RunStatus, describe
from captioner.providers.base import Final, Partial
from captioner.settings import Key
from captioner.transcript import Transcript

SPEECH = ("so the first thing I want to talk about today is the release schedule for the "
          "new installer and what it means for everyone on the team").split()


@pytest.fixture
def overlay(qtbot, settings):
    settings.set(Key.OVERLAY_FONT_FAMILY, "DejaVu Sans")
    w = OverlayWindow(settings)
    qtbot.addWidget(w)
    w.resize(700, w.height_for_lines(3))
    w.show()
    qtbot.waitExposed(w)
    return w


def drawn(w: OverlayWindow):
    w.view.grab()  # paints
    return w.view.drawn_lines()


def feed_finals(w: OverlayWindow, t: Transcript, texts, source: str = "mic") -> None:
    for text in texts:
        start = len(t.finals) * 1000
        w.apply(t.apply(Final(text, start, start + 900), source))


def test_shows_at_most_n_lines_newest_at_the_bottom(overlay):
    t = Transcript()
    feed_finals(overlay, t, [f"Sentence number {i}." for i in range(10)])
    lines = drawn(overlay)
    assert len(lines) == 3
    assert [ln.text for ln in lines] == ["Sentence number 7.", "Sentence number 8.",
                                         "Sentence number 9."]
    tops = [ln.top_px for ln in lines]
    assert tops == sorted(tops)
    overlay.set_style(replace(overlay.caption_style, lines=5))
    assert len(drawn(overlay)) == 5
    assert overlay.height() == overlay.height_for_lines(5)


def test_partial_is_italic_and_dimmer_than_finals(overlay):
    t = Transcript()
    feed_finals(overlay, t, ["Good morning."])
    overlay.apply(t.apply(Partial("and welcome", 1000, 1500), "mic"))
    final, partial = drawn(overlay)
    assert (final.is_final, final.italic) == (True, False)
    assert (partial.is_final, partial.italic) == (False, True)
    assert partial.color.alphaF() < final.color.alphaF() - 0.2
    assert partial.text == "and welcome"
    # the final replaces the partial
    overlay.apply(t.apply(Final("And welcome.", 1000, 1600), "mic"))
    assert [(ln.text, ln.is_final) for ln in drawn(overlay)] == [
        ("Good morning.", True), ("And welcome.", True)]


def test_finals_do_not_reflow_while_the_partial_grows(overlay):
    t = Transcript()
    overlay.set_style(replace(overlay.caption_style, lines=6))
    feed_finals(overlay, t, [
        "The meeting starts with a short review of what we shipped last week and why.",
        "Then questions."])
    drawn(overlay)  # the finals are laid out once, here
    laid_out: list[str] = []
    original = overlay.view._lay_out

    def spy(entry):
        laid_out.append(entry.key)
        return original(entry)

    overlay.view._lay_out = spy
    overlay.apply(t.apply(Partial(SPEECH[0], 3000, 3200), "mic"))
    before = [ln for ln in drawn(overlay) if ln.is_final]
    final_keys = {ln.key for ln in before}
    line_height = overlay.view.line_height_px
    for n in range(2, len(SPEECH) + 1):
        overlay.apply(t.apply(Partial(" ".join(SPEECH[:n]), 3000, 3000 + n * 200), "mic"))
        now = drawn(overlay)
        finals_now = [ln for ln in now if ln.is_final]
        partial_lines = [ln for ln in now if not ln.is_final]
        # a final's visible lines keep their breaks (same text per line) ...
        for ln in finals_now:
            match = next(b for b in before if (b.key, b.line_index) == (ln.key, ln.line_index))
            assert ln.text == match.text
            # ... and only ever move by whole lines, when the partial wraps once more
            shift = (match.top_px - ln.top_px) / line_height
            assert shift == pytest.approx(round(shift), abs=1e-6)
        if len(partial_lines) == 1:
            assert [(ln.key, ln.line_index, ln.top_px) for ln in finals_now] == \
                [(b.key, b.line_index, b.top_px) for b in before][-len(finals_now):]
        assert partial_lines and partial_lines[-1].top_px > finals_now[-1].top_px \
            if finals_now else True
    # finals were never laid out again: only the partial was
    assert not final_keys & set(laid_out)
    assert set(laid_out) == {"partial:mic"}


def test_text_wraps_at_word_boundaries(overlay):
    t = Transcript()
    text = " ".join(SPEECH)
    feed_finals(overlay, t, [text])
    overlay.set_style(replace(overlay.caption_style, lines=8))
    lines = drawn(overlay)
    assert len(lines) > 1
    assert " ".join(ln.text for ln in lines) == text  # breaks only at spaces


def test_scroll_back_holds_while_captions_arrive_then_jump_to_live(overlay, qtbot):
    t = Transcript()
    feed_finals(overlay, t, [f"Line {i}." for i in range(12)])
    assert drawn(overlay)[-1].text == "Line 11."
    qtbot.keyClick(overlay, Qt.Key.Key_Up)
    qtbot.keyClick(overlay, Qt.Key.Key_Up)
    assert not overlay.view.is_live
    held = [ln.text for ln in drawn(overlay)]
    assert held == ["Line 7.", "Line 8.", "Line 9."]
    assert overlay.jump_button.isVisible()
    # captions keep arriving; the view stays put and counts them
    feed_finals(overlay, t, ["Line 12.", "Line 13."])
    overlay.apply(t.apply(Partial("and then", 20_000, 20_500), "mic"))
    assert [ln.text for ln in drawn(overlay)] == held
    assert "2 new" in overlay.jump_button.text()
    # scrolling can't go past the first line
    for _ in range(30):
        overlay.view.scroll_by(-1)
    assert [ln.text for ln in drawn(overlay)] == ["Line 0.", "Line 1.", "Line 2."]
    qtbot.mouseClick(overlay.jump_button, Qt.MouseButton.LeftButton)
    assert overlay.view.is_live
    assert not overlay.jump_button.isVisible()
    assert [ln.text for ln in drawn(overlay)][-2:] == ["Line 13.", "and then"]


def test_keyboard_and_wheel_scroll(overlay, qtbot):
    t = Transcript()
    feed_finals(overlay, t, [f"Line {i}." for i in range(8)])
    qtbot.keyClick(overlay, Qt.Key.Key_PageUp)
    assert drawn(overlay)[-1].text == "Line 5."
    qtbot.keyClick(overlay, Qt.Key.Key_Down)
    assert drawn(overlay)[-1].text == "Line 6."
    qtbot.keyClick(overlay, Qt.Key.Key_Escape)
    assert overlay.view.is_live
    overlay.view.scroll_by(-1)
    qtbot.keyClick(overlay, Qt.Key.Key_End)
    assert overlay.view.is_live


def test_nothing_to_scroll_when_everything_fits(overlay):
    t = Transcript()
    feed_finals(overlay, t, ["Only line."])
    overlay.view.scroll_by(-1)
    assert overlay.view.is_live


def test_source_and_speaker_labels_are_drawn(overlay):
    t = Transcript()
    overlay.set_style(replace(overlay.caption_style, lines=5))
    overlay.view.set_show_source_labels(True)
    feed_finals(overlay, t, ["Can you hear me?"], "mic")
    feed_finals(overlay, t, ["Yes, loud and clear."], "system")
    feed_finals(overlay, t, ["Great."], "system")
    overlay.apply(t.apply(Final("I agree.", 9000, 9500, speaker="S2"), "system"))
    overlay.apply(t.apply(Partial("let's start", 10_000, 10_500), "mic"))
    texts = [ln.text for ln in drawn(overlay)]
    assert texts == ["Me: Can you hear me?", "Others: Yes, loud and clear.", "Great.",
                     "Speaker 1: I agree.", "Me: let's start"]


def test_uppercase_option(overlay):
    t = Transcript()
    feed_finals(overlay, t, ["Hello there."])
    assert drawn(overlay)[-1].text == "Hello there."
    overlay.set_style(replace(overlay.caption_style, uppercase=True))
    assert drawn(overlay)[-1].text == "HELLO THERE."


def test_click_through_toggles_mouse_transparency(overlay, qtbot):
    assert not overlay.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    overlay.set_click_through(True)
    assert overlay.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    assert overlay.windowFlags() & Qt.WindowType.WindowTransparentForInput
    assert overlay.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert overlay.isVisible()  # re-shown after the flag change
    assert "Click-through on" in overlay.status_line.text()
    overlay.set_click_through(False)
    assert not overlay.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    assert not overlay.windowFlags() & Qt.WindowType.WindowTransparentForInput
    assert overlay.isVisible()


def test_is_a_frameless_translucent_always_on_top_tool_window(overlay):
    flags = overlay.windowFlags()
    assert flags & Qt.WindowType.FramelessWindowHint
    assert flags & Qt.WindowType.WindowStaysOnTopHint
    assert (flags & Qt.WindowType.Tool) == Qt.WindowType.Tool
    assert overlay.testAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
    image = overlay.grab().toImage()
    corner = image.pixelColor(0, 0)
    assert corner.alpha() < 255  # rounded, translucent panel


def test_geometry_is_remembered_per_screen(qtbot, settings):
    first = OverlayWindow(settings)
    qtbot.addWidget(first)
    first.restore_geometry()
    first.set_dock("floating")
    first.setGeometry(QRect(40, 50, 500, first.height()))
    first.save_geometry()
    stored = json.loads(settings.get(Key.OVERLAY_GEOMETRY))
    key = screen_key(first.screen())
    assert stored["screens"][key][:3] == [40, 50, 500]
    second = OverlayWindow(settings)
    qtbot.addWidget(second)
    second.restore_geometry()
    assert (second.x(), second.y(), second.width()) == (40, 50, 500)
    assert second.dock == "floating"


def test_dock_presets_place_the_overlay(qtbot, settings):
    w = OverlayWindow(settings)
    qtbot.addWidget(w)
    w.restore_geometry()
    available = w.screen().availableGeometry()
    w.set_dock("top")
    assert w.y() < available.center().y()
    w.set_dock("bottom")
    assert w.geometry().bottom() > available.center().y()
    assert abs(w.geometry().center().x() - available.center().x()) <= 1
    assert settings.get(Key.OVERLAY_DOCK) == "bottom"


def test_docked_and_clamped_rects():
    screen = QRect(0, 0, 1280, 720)
    rect = docked_rect(screen, 150, "bottom")
    assert rect == QRect(0, 570, 1280, 150)  # a full-width band flush with the edge
    assert docked_rect(QRect(0, 30, 1280, 690), 150, "top") == QRect(0, 30, 1280, 150)
    assert clamp_to(screen, QRect(2000, -50, 400, 100)).topLeft() == QPoint(880, 0)
    assert clamp_to(screen, QRect(-500, 600, 3000, 2000)) == screen  # shrunk to fit


def test_96_pt_and_10_lines_show_the_newest_lines_that_fit_on_a_720_px_screen():
    style = CaptionStyle(font_pt=96, lines=10, font_family="DejaVu Sans")
    screen = QRect(0, 0, 1280, 720)
    fit = lines_that_fit(style, screen, "floating")
    assert 1 <= fit < 10
    assert overlay_height_px(style, fit) <= 720 < overlay_height_px(style, fit + 1)
    # docked, the band takes at most half of the screen from the other windows
    docked = lines_that_fit(style, screen, "bottom")
    assert overlay_height_px(style, docked) <= 360 and docked <= fit
    assert lines_that_fit(CaptionStyle(font_pt=24, lines=3), screen, "floating") == 3


def test_the_overlay_stays_whole_on_its_screen_at_96_pt_and_10_lines(qtbot, settings):
    w = OverlayWindow(settings, CaptionStyle(font_pt=96, lines=10, font_family="DejaVu Sans"))
    qtbot.addWidget(w)
    w.restore_geometry()
    w.show()
    qtbot.waitExposed(w)
    area = w.screen().availableGeometry()
    assert area.contains(w.geometry()), (area, w.geometry())
    assert w.lines_shown() == lines_that_fit(w.caption_style, area, "floating") < 10
    # the status line is inside the window too, under the captions
    status = QRect(w.status_line.mapTo(w, QPoint(0, 0)), w.status_line.size())
    assert w.rect().contains(status) and status.top() >= w.view.geometry().bottom()
    t = Transcript()
    feed_finals(w, t, [f"L{n}" for n in range(12)])
    lines = drawn(w)
    assert lines[-1].text == "L11"  # the newest line is drawn, and inside
    assert lines[-1].top_px + w.view.line_height_px <= w.view.height()


def test_a_saved_place_from_a_bigger_screen_is_clamped(qtbot, settings):
    probe = OverlayWindow(settings)
    qtbot.addWidget(probe)
    key = screen_key(probe.screen())
    settings.set(Key.OVERLAY_GEOMETRY, json.dumps(
        {"last": key, "screens": {key: [3000, 2000, 5000, 900]}}))
    settings.set(Key.OVERLAY_DOCK, "floating")
    w = OverlayWindow(settings)
    qtbot.addWidget(w)
    w.restore_geometry()
    assert w.screen().availableGeometry().contains(w.geometry()), w.geometry()
    assert not w.first_run


def test_dragged_past_the_edge_it_comes_back_whole(overlay, qtbot):
    overlay.set_dock("floating")
    area = overlay.screen().availableGeometry()
    overlay.on_grip_drag_started()
    overlay.move(area.right() - 40, area.bottom() - 20)  # mostly off screen
    qtbot.waitUntil(lambda: area.contains(overlay.geometry()), timeout=10000)


def test_a_smaller_screen_area_moves_and_shrinks_it(overlay, monkeypatch):
    overlay.set_dock("floating")
    overlay.set_style(replace(overlay.caption_style, lines=8))
    small = QRect(0, 0, 640, overlay.height_for_lines(4))
    monkeypatch.setattr(type(overlay.screen()), "availableGeometry", lambda _self: small)
    monkeypatch.setattr(type(overlay.screen()), "geometry", lambda _self: small)
    overlay.on_screen_area_changed()
    assert small.contains(overlay.geometry()), overlay.geometry()
    assert overlay.lines_shown() == 4


def test_undocking_goes_back_to_where_it_floated(overlay):
    overlay.set_dock("floating")
    area = overlay.screen().availableGeometry()
    floating = QRect(area.left() + 30, area.top() + 40, 520, overlay.height())
    overlay.setGeometry(floating)
    overlay.save_geometry()
    overlay.set_dock("top")
    assert overlay.width() == area.width() and overlay.y() == area.top()
    overlay.save_geometry()  # docked: the floating place stays saved
    overlay.set_dock("floating")
    assert overlay.geometry() == floating


def test_dragging_a_docked_overlay_floats_it_at_its_floating_width(overlay):
    overlay.set_dock("bottom")
    assert overlay.width() == overlay.screen().availableGeometry().width()
    grip = overlay.grip
    middle = QPoint(200, overlay.height() // 2)
    grip.eventFilter(overlay, _mouse("press", overlay, middle))
    grip.eventFilter(overlay, _mouse("move", overlay, middle + QPoint(10, -120)))
    grip.eventFilter(overlay, _mouse("release", overlay, middle + QPoint(10, -120)))
    assert overlay.dock == "floating"
    assert overlay.width() < overlay.screen().availableGeometry().width()


def test_a_resolution_change_keeps_the_docked_band_at_the_edge(overlay, monkeypatch):
    overlay.set_dock("bottom")
    screen = overlay.screen()
    before = screen.geometry()
    assert overlay.geometry().bottom() == before.bottom()
    small = QRect(0, 0, before.width() - 200, before.height() - 100)
    monkeypatch.setattr(type(screen), "availableGeometry", lambda _self: small)
    monkeypatch.setattr(type(screen), "geometry", lambda _self: small)
    overlay.on_screen_geometry_changed(small)
    g = overlay.geometry()
    assert (g.left(), g.width(), g.bottom()) == (0, small.width(), small.bottom()), g


def test_first_run_floats_clear_of_the_control_window(qtbot, settings):
    from PySide6.QtWidgets import QWidget

    w = OverlayWindow(settings)
    qtbot.addWidget(w)
    w.restore_geometry()
    assert w.first_run and w.dock == "floating"
    control = QWidget()
    qtbot.addWidget(control)
    control.resize(760, 560)
    w.place_beside(control)
    frame = QRect(control.pos(), control.size()).adjusted(0, 0, 0, 40)  # with a title bar
    assert not frame.intersects(w.geometry()), (frame, w.geometry())
    assert w.screen().availableGeometry().contains(w.geometry())
    area = QRect(0, 0, 1280, 720)
    overlay_rect = QRect(190, 500, 900, 196)
    placed = first_run_rects(area, overlay_rect, QSize(760, 560), 30)
    assert placed.bottom() < overlay_rect.top() and placed.top() >= 0
    assert placed.width() == 760


def test_resizing_taller_asks_for_more_lines(overlay, qtbot):
    overlay.on_grip_resize_started()
    overlay.resize(overlay.width(), overlay.height_for_lines(6))
    with qtbot.waitSignal(overlay.lines_resized, timeout=2000) as blocker:
        pass
    assert blocker.args == [6]


def test_font_up_to_96_pt_and_height_follows(overlay):
    overlay.set_style(CaptionStyle(font_pt=96, lines=2, font_family="DejaVu Sans"))
    assert overlay.view.line_height_px > 96
    assert overlay.height() == overlay.height_for_lines(2)


def test_status_line_words():
    assert describe(RunStatus("live", "Offline engine")) == "Live · Offline engine"
    assert describe(RunStatus("reconnecting", "Deepgram", retry_at_s=104.2), now_s=100.0) == \
        "Reconnecting to Deepgram in 5 s"
    # how much is not captioned yet, counted from the drop
    assert describe(RunStatus("reconnecting", "Deepgram", retry_at_s=104.2,
                              behind_since_s=88.0), now_s=100.0) == \
        "Reconnecting to Deepgram in 5 s · 12 s not captioned yet"
    assert describe(RunStatus("degraded", "Offline engine", replaced_provider="Deepgram")) == \
        "Live on the offline engine (instead of Deepgram)"
    assert "Ctrl+Shift+T to undo" in describe(RunStatus("live", "X", click_through=True,
                                                        click_through_keys="Ctrl+Shift+T"))


def test_status_line_shows_the_input_level(overlay):
    overlay.set_level(-6.0)
    assert overlay.status_line.lit_bars() == 5
    overlay.set_level(-45.0)
    assert overlay.status_line.lit_bars() == 2
    overlay.set_level(None)
    assert overlay.status_line.lit_bars() == 0


def test_placeholder_when_there_are_no_captions(overlay):
    overlay.view.set_placeholder("Press Ctrl+Shift+Space to start captions.")
    assert drawn(overlay) == []
    image = overlay.view.grab().toImage()
    assert image.width() > 0  # drawn without error


def test_update_cost_does_not_grow_with_the_transcript(qtbot, settings):
    """Only visible lines are laid out and rendered: 2,000 finals cost like 2."""
    from captioner.gui.caption_view import CaptionView

    view = CaptionView(CaptionStyle(font_family="DejaVu Sans", lines=3))
    qtbot.addWidget(view)
    view.resize(800, view.height_for_lines(3))
    t = Transcript()
    for i in range(2000):
        view.apply(t.apply(Final(f"Sentence {i} of a very long lecture.", i * 10, i * 10 + 5),
                           "mic"))
    view.grab()
    layouts, rendered = view.layouts_done, view.lines_rendered
    assert layouts <= 3 and rendered <= 3
    for n in range(1, 30):
        view.apply(t.apply(Partial("word " * n, 30_000, 30_000 + n), "mic"))
        view.grab()
    assert view.layouts_done - layouts == 29  # the partial, once per update
    assert view.lines_rendered - rendered <= 29 + 6  # its changed line, and scrolled finals


def _mouse(kind, window, local, buttons=Qt.MouseButton.LeftButton):
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent

    types = {"press": QEvent.Type.MouseButtonPress, "move": QEvent.Type.MouseMove,
             "release": QEvent.Type.MouseButtonRelease}
    button = Qt.MouseButton.NoButton if kind == "move" else Qt.MouseButton.LeftButton
    held = Qt.MouseButton.NoButton if kind == "release" else buttons
    global_pos = QPointF(window.mapToGlobal(local))
    return QMouseEvent(types[kind], QPointF(local), global_pos, button, held,
                       Qt.KeyboardModifier.NoModifier)


def test_drag_moves_and_edges_resize(overlay):
    grip = overlay.grip
    start = overlay.geometry()
    # drag from the middle: moves, and a docked overlay becomes floating
    middle = QPoint(overlay.width() // 2, overlay.height() // 2)
    grip.eventFilter(overlay, _mouse("press", overlay, middle))
    grip.eventFilter(overlay, _mouse("move", overlay, middle + QPoint(-30, -40)))
    grip.eventFilter(overlay, _mouse("release", overlay, middle + QPoint(-30, -40)))
    assert overlay.pos() == start.topLeft() + QPoint(-30, -40)
    assert overlay.dock == "floating"
    # drag the right edge: wider
    edge = QPoint(overlay.width() - 2, overlay.height() // 2)
    width = overlay.width()
    grip.eventFilter(overlay, _mouse("press", overlay, edge))
    grip.eventFilter(overlay, _mouse("move", overlay, edge + QPoint(60, 0)))
    grip.eventFilter(overlay, _mouse("release", overlay, edge + QPoint(60, 0)))
    assert overlay.width() == width + 60


def test_context_menu_has_the_commands(overlay):
    from PySide6.QtGui import QAction

    export = QAction("Export transcript…", overlay)
    overlay.context_actions = [export]
    menu = overlay.build_menu()
    titles = [a.text() for a in menu.actions()]
    assert "Export transcript…" in titles and "Positio&n" in titles and "L&ines" in titles
