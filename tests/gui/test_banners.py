"""Banners that stay true: one per condition, updated in place, cleared when it ends, at most
two shown with a count of the rest, each with the action that fixes it, icons drawn from the
app's own SVGs; and the live transcript keeps its space."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWidget

from captioner.gui.banner import MAX_SHOWN, BannerArea
from captioner.gui.controller import Problem
from captioner.gui.icons import STATUS_ICON_DIR
from captioner.gui.main_window import MIN_TRANSCRIPT_LINES
from captioner.settings import Key
from captioner.stream import Notice, State
from tests.gui.scripted import Script


@pytest.fixture
def area(qtbot):
    holder = QWidget()
    qtbot.addWidget(holder)
    area = BannerArea(holder)
    holder.show()
    yield area
    holder.close()


def test_the_same_condition_is_one_banner_updated_in_place(qtbot, area):
    first = area.post(Problem("No audio from 'Desk' for 10 s.", "warning", "devices",
                              key="capture:mic"))
    again = area.post(Problem("No audio from 'Desk' for 20 s.", "warning", "devices",
                              key="capture:mic"))
    assert again is first and len(area.banners) == 1
    assert first.label.text() == "No audio from 'Desk' for 20 s."
    area.clear("capture:mic")
    assert not area.banners and area.isHidden()


def test_at_most_two_are_shown_with_a_count_that_expands(qtbot, area):
    area.post(Problem("Saved.", "info", key="export"))
    area.post(Problem("Disk trouble.", "warning", key="journal"))
    area.post(Problem("Deepgram refused the key.", "error", "add_key", key="run"))
    area.post(Problem("No audio.", "warning", "devices", key="capture:mic"))
    shown = [b.problem.key for b in area.shown()]
    # the error first, then the newest warning; the note and the older warning wait
    assert shown == ["run", "capture:mic"] and MAX_SHOWN == 2
    assert area.more_button.isVisible() and area.more_button.text() == "+2 more"
    area.more_button.click()
    assert len(area.shown()) == 4 and area.more_button.text() == "Show fewer"
    area.more_button.click()
    assert len(area.shown()) == 2
    area.clear("run")
    area.clear("journal")
    assert len(area.shown()) == 2 and area.more_button.isHidden()


def test_each_banner_has_its_actions_and_an_svg_icon(qtbot, area):
    actions = []
    area.action_requested.connect(actions.append)
    banner = area.post(Problem("No API key for Deepgram.", "error", "add_key",
                               also=("offline",), icon="key"))
    assert [b.text() for b in banner.buttons] == ["Add key", "Use the offline engine"]
    banner.buttons[1].click()
    assert actions == ["offline"]
    assert banner.icon_name == "key" and (STATUS_ICON_DIR / "key.svg").exists()
    assert not banner.icon.pixmap().isNull()
    image = banner.icon.pixmap().toImage()
    assert any(image.pixelColor(x, y).alpha() > 0 for x in range(image.width())
               for y in range(image.height()))  # drawn, not an empty box
    assert banner.icon.text() == "" and banner.close_button.text() == ""  # no font glyphs
    for level in ("error", "warning", "info"):
        other = area.post(Problem("x", level, key=level))
        assert (STATUS_ICON_DIR / f"{other.icon_name}.svg").exists()
    dismissed = []
    area.banner_dismissed.connect(dismissed.append)
    banner.close_button.click()
    assert dismissed == ["run"] and "run" not in area.banners


def test_no_audio_banner_ends_when_the_sound_is_back_and_run_banners_at_stop(qtbot, make_shell):
    shell = make_shell(Script([("state", State.LIVE), ("wait",)]))
    shell.controller.start()
    qtbot.waitUntil(lambda: shell.controller.run_state == "live", timeout=15000)
    c = shell.controller
    c.on_thread_notice_posted(Notice("mic", "No audio from 'Desk' for 10 s.", "warning",
                                     kind="silent"))
    c.on_thread_notice_posted(Notice("mic", "No audio from 'Desk' for 20 s.", "warning",
                                     kind="silent"))
    banners = shell.window.banners.banners
    assert list(banners) == ["capture:mic"]
    assert banners["capture:mic"].button.text() == "Choose microphone"
    assert banners["capture:mic"].icon_name == "mic-off"
    c.on_thread_notice_posted(Notice("mic", "Sound from 'Desk' again.", "info", kind="resumed"))
    assert "capture:mic" not in banners
    c.on_thread_notice_posted(Notice("mic", "No audio from 'Desk' for 10 s.", "warning",
                                     kind="silent"))
    c.on_thread_state_changed(_state(State.RECONNECTING, "Lost the network."))
    assert "reconnect" in banners and banners["reconnect"].icon_name == "reconnecting"
    c.on_thread_state_changed(_state(State.LIVE))
    assert "reconnect" not in banners  # the network is back
    c.stop()
    qtbot.waitUntil(lambda: c.run_state == "stopped", timeout=15000)
    assert "capture:mic" not in banners


def _state(state: State, message: str = ""):
    from captioner.stream import StateChanged

    return StateChanged("mic", state, message)


def test_adding_the_key_ends_the_no_key_banner(qtbot, make_shell, settings, store):
    settings.set(Key.PROVIDER, "deepgram")
    shell = make_shell(Script([]))
    shell.controller.environ = {}
    shell.controller.start()
    shell.window.banners.banners["run"].close_button.click()
    shell.controller.start()  # another try is news again, though the last one was dismissed
    assert "run" in shell.window.banners.banners
    assert "No API key" in shell.overlay.status_line.text()
    store.set("deepgram", "dg-key")
    shell.apply_settings()  # what Preferences' OK does
    assert "run" not in shell.window.banners.banners
    assert "No API key" not in shell.overlay.status_line.text()


def test_add_key_opens_preferences_at_the_key(qtbot, make_shell, settings):
    settings.set(Key.PROVIDER, "deepgram")
    shell = make_shell(Script([]))
    shell.controller.environ = {}
    shell.controller.start()
    shell.window.banners.banners["run"].buttons[0].click()
    dialog = shell._preferences
    assert dialog is not None
    qtbot.addWidget(dialog)
    assert dialog.tabs.currentIndex() == 0
    qtbot.waitUntil(lambda: dialog.provider_page.key_edits["deepgram"].hasFocus()
                    or dialog.focusWidget() is dialog.provider_page.key_edits["deepgram"],
                    timeout=10000)
    dialog.reject()


def test_use_the_offline_engine_starts_it(qtbot, make_shell, settings):
    settings.set(Key.PROVIDER, "deepgram")
    script = Script([("state", State.LIVE), ("wait",)])
    shell = make_shell(script)
    shell.controller.environ = {}
    shell.controller.start()
    shell.window.banners.banners["run"].buttons[1].click()
    qtbot.waitUntil(lambda: shell.controller.run_state == "live", timeout=15000)
    assert script.requests[0].config.provider == "local"
    assert settings.get(Key.PROVIDER) == "local"
    assert shell.window.provider_combo.currentData() == "local"
    assert "run" not in shell.window.banners.banners


def test_the_transcript_keeps_its_space(qtbot, make_shell):
    shell = make_shell(Script([]))
    for i in range(6):
        shell.window.banners.post(Problem(f"Problem number {i} " * 6, "warning", key=f"k{i}"))
    assert len(shell.window.banners.shown()) == 2
    edit = shell.window.transcript.text_edit
    assert edit.minimumHeight() >= edit.fontMetrics().lineSpacing() * MIN_TRANSCRIPT_LINES
    shell.window.resize(760, 400)
    qtbot.waitUntil(lambda: edit.height() >= edit.minimumHeight(), timeout=10000)


def test_the_first_run_hint_matches_the_chosen_provider(qtbot, make_shell, settings, store):
    shell = make_shell(Script([]))
    shell.controller.environ = {}
    w = shell.window
    w.post_first_run_hint()
    hint = w.banners.banners["hint"]
    assert "offline engine" in hint.label.text() and "Ctrl+Shift+Space" in hint.label.text()
    # the user picks Deepgram in the control window: the hint now says what that needs
    w.provider_combo.setCurrentIndex(w.provider_combo.findData("deepgram"))
    w.on_provider_combo_activated(w.provider_combo.currentIndex())
    hint = w.banners.banners["hint"]
    assert "Deepgram" in hint.label.text() and "API key" in hint.label.text()
    assert "work right away with the offline engine" not in hint.label.text()
    assert [b.text() for b in hint.buttons] == ["Add key", "Use the offline engine"]
    store.set("deepgram", "dg-key")
    w.post_first_run_hint()
    text = w.banners.banners["hint"].label.text()
    assert "with the key in your keychain" in text and "offline engine captions instead" in text
    assert len(w.banners.banners) == 1  # still one hint, updated


def test_a_failed_start_replaces_the_press_start_hint(qtbot, make_shell, settings, store):
    settings.set(Key.PROVIDER, "deepgram")
    settings.set(Key.ENDPOINT_DEEPGRAM, "ftp://api.deepgram.com/v1/listen")
    store.set("deepgram", "dg-key")
    shell = make_shell(Script([]))
    shell.window.post_first_run_hint()
    assert "Press Start" in shell.window.banners.banners["hint"].label.text()
    shell.controller.start()
    assert shell.window.banners.banners["run"].label.text().startswith("The Deepgram endpoint")
    assert "hint" not in shell.window.banners.banners  # "Press Start" is wrong: it just failed


def test_the_window_fits_a_small_screen_whatever_it_says(qtbot, make_shell, settings):
    settings.set(Key.PROVIDER, "deepgram")
    shell = make_shell(Script([]))
    shell.controller.environ = {}
    shell.window.post_first_run_hint()
    shell.controller.start()  # a long state: "No API key for Deepgram: add it in …"
    assert "hint" not in shell.window.banners.banners  # the error says the same: one banner
    shell.window.post_first_run_hint()
    assert "hint" not in shell.window.banners.banners
    for key in ("recovered", "tray"):
        shell.window.banners.post(Problem(f"A long note about {key} " * 5, "info", key=key))
    assert len(shell.window.banners.banners) == 3
    assert shell.window.minimumSizeHint().width() <= 760  # the default size; 1024 px screens


def test_a_dismissed_condition_stays_dismissed_while_it_lasts(qtbot, area):
    area.post(Problem("No audio for 10 s.", "warning", "devices", key="capture:mic"))
    area.banners["capture:mic"].close_button.click()
    assert area.post(Problem("No audio for 20 s.", "warning", "devices",
                             key="capture:mic")) is None  # its update does not nag
    assert "capture:mic" not in area.banners and area.isHidden()
    assert area.post(Problem("The microphone is gone.", "error", "devices",
                             key="capture:mic")) is not None  # worse: shown again
    area.banners["capture:mic"].close_button.click()
    area.clear("capture:mic")  # the condition ended; next time it is news again
    assert area.post(Problem("No audio for 10 s.", "warning", key="capture:mic")) is not None
    area.post(Problem("Saved to a.srt.", "info", key="export"))
    area.banners["export"].close_button.click()
    assert area.post(Problem("Saved to b.srt.", "info", key="export")) is not None  # news


def test_no_button_in_the_control_window_relies_on_a_symbol_glyph(qtbot, make_shell):
    """Symbols such as ▲ ✕ ⚠ are empty boxes where the font lacks them: icons instead."""
    import unicodedata

    from PySide6.QtWidgets import QAbstractButton, QLabel

    shell = make_shell(Script([]))
    shell.window.banners.post(Problem("No audio.", "warning", "devices", key="capture:mic"))
    for widget in shell.window.findChildren(QAbstractButton) + \
            shell.window.findChildren(QLabel):
        symbols = [c for c in widget.text() if unicodedata.category(c) == "So"]
        assert not symbols, (widget.accessibleName(), widget.text())
    arrows = (shell.window.transcript.prev_button, shell.window.transcript.next_button)
    assert all(not b.icon().isNull() for b in arrows)


def test_the_first_run_hint_stops_saying_press_start_once_captioning(qtbot, make_shell):
    shell = make_shell(Script([("state", State.LIVE), ("wait",)]))
    w = shell.window
    w.post_first_run_hint()
    assert "Press Start" in w.banners.banners["hint"].label.text()
    shell.controller.start()
    qtbot.waitUntil(lambda: "Press Start" not in w.banners.banners["hint"].label.text(),
                    timeout=10000)
    assert "offline engine" in w.banners.banners["hint"].label.text()  # the rest still helps
    shell.controller.stop()
    qtbot.waitUntil(lambda: shell.controller.run_state == "stopped", timeout=15000)
    assert "Press Start" in w.banners.banners["hint"].label.text()  # stopped: it is true again
