"""SessionThread: a Stop is never lost, however early it comes."""

from __future__ import annotations

from captioner.bridge import SessionThread
from captioner.stream import State
from tests.gui.scripted import Script


def test_a_stop_before_the_loop_exists_is_honoured(qtbot) -> None:
    async def runner(_listener, stop) -> str:
        await stop.wait()
        return "ended"

    thread = SessionThread(runner)
    thread.request_stop()  # Start and Stop at once: the thread has no loop yet
    with qtbot.waitSignal(thread.run_finished, timeout=10000) as finished:
        thread.start()
    assert finished.args == ["ended"]
    assert thread.wait(5000)


def test_stop_right_after_start_stops(qtbot, make_shell) -> None:
    """Ctrl+Shift+Space twice in a row: it used to stay "Stopping…" for good."""
    shell = make_shell(Script([("state", State.LIVE), ("wait",)]))
    shell.controller.start()
    shell.controller.stop()
    qtbot.waitUntil(lambda: shell.controller.run_state == "stopped", timeout=15000)
    assert shell.overlay.status_line.text().startswith("Stopped")
