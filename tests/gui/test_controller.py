"""The controller with scripted runners: finals reach the journal first, then overlay and window;
failures become banners in plain words with the action to take."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from captioner.audio.devices import DeviceError
from captioner.settings import Key
from captioner.stream import State
from captioner.transcript.store import list_sessions, load_session
from tests.gui.scripted import Script, fallback_script


def journal_lines(journal_dir: Path) -> list[dict]:
    files = sorted(journal_dir.glob("*.jsonl"))
    assert files, "no journal written"
    return [json.loads(line) for line in files[-1].read_text().splitlines() if line.strip()]


def test_finals_are_journaled_before_they_are_shown(qtbot, make_shell, journal_dir):
    script = Script([("state", State.CONNECTING), ("state", State.LIVE),
                     ("partial", "good mor"), ("final", "Good morning."),
                     ("partial", "let us"), ("final", "Let us begin.")])
    shell = make_shell(script)
    on_disk_when_shown = []

    def check(seg):
        texts = [r.get("text") for r in journal_lines(journal_dir) if r["type"] == "final"]
        on_disk_when_shown.append(seg.text in texts)

    shell.controller.segment_finalized.connect(check)
    shell.controller.start()
    qtbot.waitUntil(lambda: len(on_disk_when_shown) == 2, timeout=15000)
    assert on_disk_when_shown == [True, True]
    assert shell.controller.run_state == "live"
    # shown in the overlay and the control window
    shell.overlay.view.grab()
    assert [ln.text for ln in shell.overlay.view.drawn_lines()] == ["Good morning.",
                                                                     "Let us begin."]
    assert shell.window.transcript.text() == "Good morning.\nLet us begin."
    assert "Live" in shell.overlay.status_line.text()
    shell.controller.stop()
    qtbot.waitUntil(lambda: shell.controller.run_state == "stopped", timeout=15000)
    records = journal_lines(journal_dir)
    assert records[0]["type"] == "session" and records[0]["provider"] == "local"
    assert [r["type"] for r in records] == ["session", "final", "final", "end"]
    assert shell.controller.journal is None


def test_failed_state_shows_an_error_banner_with_the_action(qtbot, make_shell):
    script = Script([("state", State.CONNECTING),
                     ("state", State.FAILED, "The offline engine stopped unexpectedly.")],
                    end_state=False)
    shell = make_shell(script)
    shell.controller.start()
    qtbot.waitUntil(lambda: "run" in shell.window.banners.banners, timeout=15000)
    banner = shell.window.banners.banners["run"]
    assert banner.problem.level == "error"
    assert "offline engine stopped" in banner.label.text()
    assert banner.button is not None and banner.button.text() == "Try again"
    assert "Stopped by an error" in shell.overlay.status_line.text()
    shell.controller.stop()
    qtbot.waitUntil(lambda: shell.controller.run_state == "failed", timeout=15000)


def test_a_missing_key_sends_the_user_to_preferences(qtbot, make_shell, settings):
    settings.set(Key.PROVIDER, "deepgram")
    script = Script([])
    shell = make_shell(script)
    shell.controller.environ = {}
    shell.controller.start()
    banner = shell.window.banners.banners["run"]
    assert "No API key for Deepgram" in banner.label.text()
    assert [b.text() for b in banner.buttons] == ["Add key", "Use the offline engine"]
    assert banner.icon_name == "key"
    assert script.requests == []  # nothing was started
    # the overlay says so too, naming the provider the user chose (not the offline engine)
    assert shell.controller.run_state == "failed"
    text = shell.overlay.status_line.text()
    assert "No API key for Deepgram" in text and "Offline" not in text, text
    assert shell.overlay.status_line.status.icon == "key"


def test_cloud_failure_falls_back_to_the_offline_engine(qtbot, make_shell, settings, store):
    settings.set(Key.PROVIDER, "deepgram")
    store.set("deepgram", "dg-key")
    script = fallback_script()
    shell = make_shell(script)
    shell.controller.start()
    qtbot.waitUntil(lambda: len(script.requests) == 2, timeout=15000)
    assert [r.config.provider for r in script.requests] == ["deepgram", "local"]
    assert script.requests[0].secret == "dg-key"
    banner = shell.window.banners.banners["fallback"]
    assert "continue with the offline engine" in banner.label.text()
    qtbot.waitUntil(lambda: shell.controller.status.state == "degraded", timeout=15000)
    # the overlay names the engine captioning now and the provider it replaces
    text = shell.overlay.status_line.text()
    assert "Live on the offline engine (instead of Deepgram)" in text, text
    assert shell.overlay.status_line.status.icon == "offline"
    qtbot.waitUntil(lambda: shell.window.transcript.final_count == 2, timeout=15000)
    # one session: both runs' finals in one transcript and one journal
    assert [s.text for s in shell.controller.transcript.finals] == ["Before the failure.",
                                                                    "After it."]


@pytest.mark.parametrize("allowed", [True, False])
def test_hot_standby_follows_the_offline_fallback_preference(make_shell, settings, store,
                                                             allowed):
    """"If a cloud provider fails, continue with the offline engine" off: no offline captions
    while the cloud reconnects either (the overlay says it is reconnecting)."""
    settings.set(Key.PROVIDER, "deepgram")
    settings.set(Key.FALLBACK_OFFLINE, allowed)
    store.set("deepgram", "dg-key")
    request = make_shell(Script([])).controller.build_request()
    assert request is not None and request.standby is allowed


def test_stop_while_reconnecting_stops_for_good(qtbot, make_shell, settings, store):
    """Regression: after Stop while reconnecting the app restarted itself on the offline
    fallback (the failure handler ran the fallback when its state was "stop", which is what
    stop() set)."""
    settings.set(Key.PROVIDER, "deepgram")
    store.set("deepgram", "dg-key")
    script = Script([("state", State.LIVE), ("partial", "and then the"),
                     ("state", State.RECONNECTING, "Can't reach Deepgram."), ("wait",),
                     ("state", State.FAILED, "Can't reach Deepgram. Gave up after 8 attempts.")])
    shell = make_shell(script)
    shell.controller.start()
    qtbot.waitUntil(lambda: shell.controller.status.state == "reconnecting", timeout=15000)
    assert "Reconnecting to Deepgram" in shell.overlay.status_line.text()
    assert shell.overlay.view.model.partials == []  # its audio is being resent
    shell.controller.stop()
    qtbot.waitUntil(lambda: shell.controller.run_state == "stopped", timeout=15000)
    assert len(script.requests) == 1  # nothing started again
    assert shell.controller.status.alert is None
    assert "fallback" not in shell.window.banners.banners
    assert shell.overlay.status_line.text() == "Stopped · Deepgram"
    # the partial no final replaced was kept as a final, not left pending
    assert [s.text for s in shell.controller.transcript.finals] == ["and then the"]


def test_device_error_offers_to_choose_a_device(qtbot, make_shell):
    script = Script([("raise", DeviceError("The microphone 'USB Mic' is not connected."))])
    shell = make_shell(script)
    shell.controller.start()
    qtbot.waitUntil(lambda: shell.controller.run_state == "failed", timeout=15000)
    banner = shell.window.banners.banners["run"]
    assert banner.button is not None and banner.button.text() == "Choose microphone"
    assert "not connected" in banner.label.text()
    # the overlay says what to do, and that nothing ran
    assert shell.overlay.status_line.text() == ("The microphone 'USB Mic' is not connected: "
                                                "connect it, or choose another · Not started")
    assert shell.overlay.status_line.status.icon == "unplugged"


def test_no_sound_server_says_what_to_do_in_the_overlay(qtbot, make_shell):
    script = Script([("raise", DeviceError(
        "No microphone found. Connect one, or check that the sound server (PulseAudio/PipeWire) "
        "is running; `captioner devices` lists inputs."))])
    shell = make_shell(script)
    shell.controller.start()
    qtbot.waitUntil(lambda: shell.controller.run_state == "failed", timeout=15000)
    assert shell.overlay.status_line.text() == (
        "No microphone found: connect one, or check that the sound server is running · "
        "Not started")
    assert shell.overlay.status_line.status.icon == "speaker-off"


def test_pause_and_resume_continue_the_same_session(qtbot, make_shell, journal_dir):
    script = Script([("state", State.LIVE), ("final", "First part.")])
    shell = make_shell(script)
    c = shell.controller
    c.start()
    qtbot.waitUntil(lambda: c.transcript is not None and len(c.transcript.finals) == 1,
                    timeout=15000)
    c.pause()
    qtbot.waitUntil(lambda: c.run_state == "paused", timeout=15000)
    assert shell.window.pause_button.text() == "Resume"
    assert c.journal is not None  # still open
    script.steps = [("state", State.LIVE), ("final", "Second part.")]
    c.toggle_pause()
    qtbot.waitUntil(lambda: len(c.transcript.finals) == 2, timeout=15000)
    first, second = c.transcript.finals
    assert second.start_ms >= first.end_ms  # time continues after the pause
    c.stop()
    qtbot.waitUntil(lambda: c.run_state == "stopped", timeout=15000)
    assert len(list_sessions(journal_dir)) == 1
    record = load_session(list_sessions(journal_dir)[0].path)
    assert [s.text for s in record.segments] == ["First part.", "Second part."]


def test_export_of_a_live_session_has_every_final_so_far(qtbot, make_shell, tmp_path):
    script = Script([("state", State.LIVE), ("final", "One."), ("final", "Two."),
                     ("partial", "thr")])
    shell = make_shell(script)
    shell.controller.start()
    qtbot.waitUntil(lambda: shell.window.transcript.final_count == 2, timeout=15000)
    target = tmp_path / "out.srt"
    shell.window.ask_save_path = lambda suggested, filters: str(target)
    written = shell.window.export_as("srt")
    assert written == target
    text = target.read_text()
    assert "One." in text and "Two." in text and "thr" not in text
    assert "Saved the transcript" in shell.window.banners.banners["export"].label.text()


def test_announces_finals_when_opted_in(qtbot, make_shell, settings, monkeypatch):
    said = []
    monkeypatch.setattr("captioner.gui.controller.announce", lambda target, text: said.append(
        text))
    settings.set(Key.ANNOUNCE_FINALS, True)
    script = Script([("state", State.LIVE), ("partial", "hel"), ("final", "Hello.")])
    shell = make_shell(script)
    shell.controller.start()
    qtbot.waitUntil(lambda: said == ["Hello."], timeout=15000)


def test_actions_drive_the_overlay(qtbot, make_shell, settings):
    shell = make_shell(Script([]))
    size = settings.get(Key.OVERLAY_FONT_PT)
    shell.actions.font_bigger.trigger()
    assert settings.get(Key.OVERLAY_FONT_PT) == size + 2
    assert shell.overlay.caption_style.font_pt == size + 2
    shell.actions.font_smaller.trigger()
    assert shell.overlay.caption_style.font_pt == size
    shell.actions.click_through.trigger()
    assert shell.overlay.click_through and settings.get(Key.OVERLAY_CLICK_THROUGH)
    shell.actions.click_through.trigger()
    assert not shell.overlay.click_through
    shell.actions.toggle_overlay.trigger()
    assert not shell.overlay.isVisible() and not settings.get(Key.OVERLAY_VISIBLE)
    shell.actions.toggle_overlay.trigger()
    assert shell.overlay.isVisible()


def test_every_action_has_a_name_and_shortcuts_are_app_wide(make_shell):
    from PySide6.QtCore import Qt

    from captioner.gui.actions import APP_WIDE

    shell = make_shell(Script([]))
    for name, action in shell.actions.by_name.items():
        assert action.text() and action.statusTip(), name
        if name in APP_WIDE:
            assert action.shortcutContext() == Qt.ShortcutContext.ApplicationShortcut
    assert shell.actions.shortcut_text("start_stop") == "Ctrl+Shift+Space"
    assert shell.actions.shortcut_text("click_through") == "Ctrl+Shift+T"


def test_window_widgets_are_named_for_screen_readers(make_shell):
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit

    shell = make_shell(Script([]))
    unnamed = []
    for cls in (QAbstractButton, QComboBox, QLineEdit):
        for widget in shell.window.findChildren(cls):
            if not widget.isVisibleTo(shell.window) or isinstance(widget.parent(), QComboBox):
                continue
            label = widget.accessibleName() or (widget.text() if isinstance(
                widget, QAbstractButton) else "")
            if not label.strip():
                unnamed.append(f"{type(widget).__name__} {widget.objectName()}")
    assert unnamed == []


def test_devices_are_listed(qtbot, make_shell):
    shell = make_shell(Script([]))
    qtbot.waitUntil(lambda: shell.window.mic_combo.count() == 2, timeout=15000)
    assert shell.window.mic_combo.itemText(1) == "Desk microphone (default)"
    # "default" says which device that is now, in the sound server's words
    assert shell.window.mic_combo.itemText(0) == "Default microphone (Desk microphone)"
    assert shell.window.system_combo.itemText(0) == "Default system audio (Monitor of Speakers)"
    shell.window.mic_combo.setCurrentIndex(1)
    shell.window.on_mic_combo_activated(1)
    assert shell.settings.get(Key.MIC_DEVICE) == "pulse:mic1"
    shell.settings.set(Key.MIC_DEVICE, "pulse:alsa_input.usb-Yeti")  # unplugged since
    shell.window.refresh_devices()
    qtbot.waitUntil(lambda: shell.window.mic_combo.count() == 3, timeout=15000)
    assert shell.window.mic_combo.currentText() == "alsa_input.usb-Yeti (not connected)"


class FakeMeter:
    def __init__(self, peaks):
        self.peaks = list(peaks)

    def read(self):
        from captioner.audio.levels import Level

        return Level(self.peaks.pop(0), -40.0, 0.0) if self.peaks else None


class FakeCapture:
    def __init__(self, peaks):
        self.levels = FakeMeter(peaks)


class FakeLive:
    def __init__(self):
        self.captures = {"mic": FakeCapture([-50.0, -30.0, -8.0])}


def test_input_level_is_polled_into_the_overlay(qtbot, make_shell):
    shell = make_shell(Script([("state", State.LIVE)], live=FakeLive()))
    shell.controller.start()
    qtbot.waitUntil(lambda: shell.overlay.status_line.level_db == -8.0, timeout=15000)
    assert shell.overlay.status_line.lit_bars() == 5
    shell.controller.stop()
    qtbot.waitUntil(lambda: shell.overlay.status_line.level_db is None, timeout=15000)


def test_tray_menu_offers_the_way_back(qtbot, settings):
    from captioner.gui.actions import AppActions
    from captioner.gui.tray import Tray

    actions = AppActions(settings)
    tray = Tray(actions)
    texts = [a.text().replace("&", "") for a in tray.menu.actions() if a.text()]
    for wanted in ("Start captions", "Show caption overlay", "Click-through overlay", "Quit"):
        assert wanted in texts
    tray.on_controller_run_state_changed("live")
    assert not tray.icon.icon().isNull()


def test_shortcuts_work_from_the_control_window(qtbot, make_shell):
    from PySide6.QtCore import Qt

    shell = make_shell(Script([]))
    shell.window.activateWindow()
    qtbot.waitUntil(lambda: shell.window.isActiveWindow(), timeout=10000)
    qtbot.keyClick(shell.window.transcript.text_edit, Qt.Key.Key_T,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert shell.overlay.click_through
    qtbot.keyClick(shell.window.transcript.text_edit, Qt.Key.Key_T,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert not shell.overlay.click_through


def test_a_disk_whose_fsync_never_returns_delays_nothing(qtbot, make_shell, journal_dir,
                                                        monkeypatch):
    """The journal used to fsync on the stream's loop and under a lock the GUI's 1 s timer
    took, so a slow disk froze captions and audio pacing. Now only the syncer thread waits."""
    import os
    import threading

    stuck = threading.Event()
    real_fsync = os.fsync

    def fsync(fd):
        stuck.wait(30)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    script = Script([("state", State.LIVE)] + [("final", f"Line {i}.") for i in range(20)])
    shell = make_shell(script)
    shown = []
    shell.controller.segment_finalized.connect(lambda seg: shown.append(seg.text))
    try:
        shell.controller.start()
        qtbot.waitUntil(lambda: len(shown) == 20, timeout=15000)
        shell.controller.on_journal_timer_timeout()  # the 1 s timer: must not wait either
        texts = [r.get("text") for r in journal_lines(journal_dir) if r["type"] == "final"]
        assert texts == shown  # written (to the OS) before shown, fsync or not
        shell.controller.stop()
        qtbot.waitUntil(lambda: shell.controller.run_state == "stopped", timeout=15000)
        assert not stuck.is_set()
    finally:
        stuck.set()


@pytest.mark.parametrize("endpoint", ["ftp://example.org/v2", "ws://127.0.0.1:99999"])
def test_an_endpoint_that_can_never_work_is_a_banner_not_a_silent_start(
        qtbot, make_shell, settings, endpoint):
    """An ftp:// or port-99999 endpoint started "fine" and captioned nothing."""
    settings.set(Key.ENDPOINT_LOCAL, endpoint)
    script = Script([])
    shell = make_shell(script)
    shell.controller.start()
    banner = shell.window.banners.banners["run"]
    assert "endpoint" in banner.label.text() and "Preferences" in banner.label.text()
    assert script.requests == [] and shell.controller.run_state == "failed"
    # the overlay says it too (it used to say "Not captioning"), with the setting to fix
    assert shell.overlay.status_line.text() == (
        "The Offline engine endpoint is not valid: fix it in Preferences → Providers · "
        "Not started")


def test_a_mistyped_cloud_endpoint_names_the_setting_and_offers_the_offline_engine(
        qtbot, make_shell, settings):
    settings.set(Key.PROVIDER, "deepgram")
    settings.set(Key.ENDPOINT_DEEPGRAM, "ftp://api.deepgram.com/v1/listen?token=marker")
    script = Script([])
    shell = make_shell(script)
    shell.controller.start()
    text = shell.overlay.status_line.text()
    assert text == ("The Deepgram endpoint is not valid: fix it in Preferences → Providers, "
                    "or use the offline engine · Not started"), text
    assert shell.overlay.status_line.status.level == "error"
    banner = shell.window.banners.banners["run"]
    assert [b.text() for b in banner.buttons][-1] == "Use the offline engine"
    assert "marker" not in banner.label.text() and "?" not in banner.label.text()
    # fixed in Preferences: the problem goes at once
    settings.set(Key.ENDPOINT_DEEPGRAM, "")
    shell.controller.recheck()
    assert "run" not in shell.window.banners.banners
    assert "endpoint" not in shell.overlay.status_line.text()


def test_a_full_disk_is_said_in_the_overlay_and_goes_when_space_returns(
        qtbot, make_shell, journal_dir, monkeypatch):
    """The journal's "can't save" used to reach only the control window's banner; the
    overlay (all a deaf user watches) kept saying "Live" alone."""
    from tests.unit.test_journal import InjectedFullDisk

    disk = InjectedFullDisk(monkeypatch)
    script = Script([("state", State.LIVE), ("final", "Saved line."), ("wait",),
                     ("final", "Line said while the disk is full.")])
    shell = make_shell(script)
    try:
        shell.controller.start()
        qtbot.waitUntil(lambda: shell.overlay.status_line.text().startswith("Live"),
                        timeout=15000)
        disk.fill()
        script.release()
        qtbot.waitUntil(lambda: not shell.controller.journal.healthy, timeout=15000)
        shell.controller.on_journal_timer_timeout()
        text = shell.overlay.status_line.text()
        assert text.startswith("Disk full: transcript not saved yet, free some space"), text
        assert "Live" in text and shell.overlay.status_line.status.level == "warning"
        disk.free()
        shell.controller.on_journal_timer_timeout()  # retries, writes the backlog
        qtbot.waitUntil(lambda: shell.controller.journal.healthy, timeout=15000)
        shell.controller.on_journal_timer_timeout()
        assert shell.overlay.status_line.text().startswith("Live"), \
            shell.overlay.status_line.text()
        texts = [r.get("text") for r in journal_lines(journal_dir) if r["type"] == "final"]
        assert texts == ["Saved line.", "Line said while the disk is full."]
    finally:
        shell.controller.stop()
        qtbot.waitUntil(lambda: shell.controller.run_state == "stopped", timeout=15000)


def test_stopped_on_a_full_disk_the_overlay_says_so_until_it_is_written(
        qtbot, make_shell, journal_dir, monkeypatch):
    from tests.unit.test_journal import InjectedFullDisk

    disk = InjectedFullDisk(monkeypatch)
    script = Script([("state", State.LIVE), ("final", "Saved line."), ("wait",),
                     ("final", "Line said while the disk is full.")])
    shell = make_shell(script)
    shell.controller.start()
    qtbot.waitUntil(lambda: shell.overlay.status_line.text().startswith("Live"), timeout=15000)
    disk.fill()
    script.release()
    qtbot.waitUntil(lambda: not shell.controller.journal.healthy, timeout=15000)
    shell.controller.stop()
    qtbot.waitUntil(lambda: shell.controller.run_state == "stopped", timeout=10000)
    text = shell.overlay.status_line.text()
    assert text.startswith("Disk full: transcript not saved yet, free some space"), text
    disk.free()
    qtbot.waitUntil(lambda: "Disk full" not in shell.overlay.status_line.text(), timeout=10000)
    assert shell.overlay.status_line.text().startswith("Stopped"), \
        shell.overlay.status_line.text()
    texts = [r.get("text") for r in journal_lines(journal_dir) if r["type"] == "final"]
    assert texts == ["Saved line.", "Line said while the disk is full."]
