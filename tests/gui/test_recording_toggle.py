"""Recording in the app: off by default, a preference and a per-session toggle, "REC" in the
overlay's status line, FLAC files beside the journal that line up with the session's clock."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from captioner.audio.recorder import TappedBuffer, read_pcm
from captioner.gui.shell import AppShell
from captioner.settings import Key
from captioner.stream import State, StateChanged
from captioner.transcript import codec

SECOND = b"\x01\x00" * 16_000


class AudioScript:
    """Each run puts ``SECOND`` of audio through the run's recorder tap, as capture does."""

    def __init__(self) -> None:
        self.fed = threading.Event()
        self.requests: list[Any] = []

    def factory(self, request: Any, transcript: Any, register: Any) -> Any:
        self.requests.append(request)

        async def run(listener: Any, stop: asyncio.Event) -> None:
            listener(StateChanged("mic", State.LIVE))
            buffer = TappedBuffer(request.recorder.tap("mic", transcript.base_ms))
            for pos in range(0, len(SECOND), 1600):
                buffer.put(SECOND[pos:pos + 1600])
            self.fed.set()
            await stop.wait()
            buffer.close()
            listener(StateChanged("mic", State.STOPPED))

        return run


def _run_once(qtbot, shell: AppShell, script: AudioScript) -> None:
    script.fed.clear()
    shell.controller.start()
    qtbot.waitUntil(script.fed.is_set, timeout=15000)
    qtbot.waitUntil(lambda: shell.controller.run_state == "live", timeout=15000)


def _stop(qtbot, shell: AppShell) -> None:
    with qtbot.waitSignal(shell.controller.run_state_changed, timeout=15000,
                          check_params_cb=lambda state: state == "stopped"):
        shell.controller.stop()


def test_off_by_default_then_switched_on_for_one_session(qtbot, make_shell, journal_dir: Path):
    script = AudioScript()
    shell = make_shell(script)
    action = shell.actions.record
    assert not shell.controller.recording and not action.isChecked()
    _run_once(qtbot, shell, script)
    assert not shell.overlay.status_line.text().startswith("REC")
    _stop(qtbot, shell)
    [first] = journal_dir.glob("*.jsonl")
    assert codec.audio_parts(journal_dir, first.stem) == []

    action.trigger()  # Captions → Record audio, before the next session
    assert shell.controller.recording
    _run_once(qtbot, shell, script)
    status = shell.overlay.status_line
    assert status.text().startswith("REC · Live")
    assert "REC" in status.accessibleDescription()
    _stop(qtbot, shell)
    assert not status.text().startswith("REC")
    [journal] = set(journal_dir.glob("*.jsonl")) - {first}  # ids of one second sort at random
    [(source, start_ms, path)] = codec.audio_parts(journal_dir, journal.stem)
    assert (source, start_ms) == ("mic", 0)
    assert read_pcm(path) == SECOND
    assert not shell.controller.recording and not action.isChecked()  # back to the preference


def test_preference_records_and_resumed_runs_line_up(qtbot, make_shell, settings,
                                                     journal_dir: Path):
    settings.set(Key.RECORD_AUDIO, True)
    script = AudioScript()
    shell = make_shell(script)
    assert shell.actions.record.isChecked()
    _run_once(qtbot, shell, script)
    with qtbot.waitSignal(shell.controller.run_state_changed, timeout=15000,
                          check_params_cb=lambda state: state == "paused"):
        shell.controller.pause()
    script.fed.clear()
    shell.controller.resume()
    qtbot.waitUntil(script.fed.is_set, timeout=15000)
    base_ms = shell.controller.transcript.base_ms
    assert base_ms > 0  # (wall-clock time: this script feeds its second at once)
    shell.actions.record.trigger()  # off mid-session: REC goes, the stretch ends
    assert not shell.overlay.status_line.text().startswith("REC")
    _stop(qtbot, shell)
    journal = max(journal_dir.glob("*.jsonl"))
    parts = codec.audio_parts(journal_dir, journal.stem)
    assert [(s, start) for s, start, _p in parts] == [("mic", 0), ("mic", base_ms)]
    assert all(read_pcm(p) == SECOND for _s, _start, p in parts)
    assert shell.actions.record.isChecked()  # the next session records again


def test_the_preference_is_a_checkbox_in_general(qtbot, settings, store):
    from captioner.gui.preferences import PreferencesDialog

    dialog = PreferencesDialog(settings, store)
    qtbot.addWidget(dialog)
    check = dialog.general_page.record_check
    assert not check.isChecked()  # off by default
    check.setChecked(True)
    assert dialog.apply()
    assert settings.get(Key.RECORD_AUDIO)
    reopened = PreferencesDialog(settings, store)
    qtbot.addWidget(reopened)
    assert reopened.general_page.record_check.isChecked()


def test_a_recording_that_cannot_be_written_is_a_warning_not_a_stop(qtbot, make_shell, settings,
                                                                   monkeypatch):
    import errno

    from captioner.audio import recorder as rec

    def no_space(self, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rec._Part, "__init__", no_space)
    settings.set(Key.RECORD_AUDIO, True)
    script = AudioScript()
    shell = make_shell(script)
    problems = []
    shell.controller.problem_posted.connect(problems.append)
    _run_once(qtbot, shell, script)
    qtbot.waitUntil(lambda: any(p.key == "recording" for p in problems), timeout=15000)
    [problem] = [p for p in problems if p.key == "recording"]
    assert problem.level == "warning"
    assert problem.message.startswith("The recording stopped: the disk is full.")
    assert shell.controller.run_state == "live"  # captioning goes on
    _stop(qtbot, shell)
