"""SIGTERM of the real app while a cloud session is reconnecting (hot standby off) or has
the offline engine standing in (on), under the rig: the app exits 0 at once (no
"Finishing the last words…" wait for a network that is gone), the journal is complete
(every final it had is on disk and the session is closed with its ``end`` line), and the
next start has nothing to recover and asks nothing. (SIGTERM while live on the offline
engine is ``test_app_signals_e2e.py``.) Screenshots: ``test-artifacts/states/term-*.png``."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from captioner.testing import Utterance
from captioner.testing.fake_revai import FakeRevAi
from captioner.transcript.store import find_unfinished, list_sessions
from tests.conftest import reference_text
from tests.e2e.overlay_rig import App, fakes_in_thread
from tests.e2e.rig_helpers import DATA
from tests.e2e.test_app_screenshot import finals, recording_from, words
from tests.e2e.test_network_loss_e2e import KEY, cloud_conf
from tests.e2e.test_overlay_states_e2e import local_conf
from tests.lifecycle import wait_for

pytestmark = pytest.mark.rig

A = DATA / "librivox-0880.wav"  # the cloud's final
B = DATA / "librivox-0890.wav"  # said after the network went (the offline engine's, if on)
EXIT_WITHIN_S = 10.0


def play(sink: str, wav) -> None:
    subprocess.run(["paplay", f"--device={sink}", str(wav)], check=True, timeout=60)


@pytest.mark.parametrize("standby", [False, True], ids=["reconnecting", "standby"])
def test_sigterm_while_the_cloud_is_gone_keeps_the_journal_whole(
        tmp_path, python, virtual_devices, standby):
    a_text = reference_text(A.name)
    script = {0: [Utterance(a_text.capitalize() + ".", 0, 6000)]}
    fake = FakeRevAi(lambda index: script.get(index, []), keys=(KEY,))
    with fakes_in_thread(fake) as fakes:
        app = App(tmp_path, python, cloud_conf(virtual_devices, fakes.url, standby=standby),
                  REV_ACCESS_TOKEN=KEY)
        try:
            app.wait_shown("Live on Rev AI", lambda s: s.text == "Live · Rev AI")
            wait_for("the app recording from the virtual microphone",
                     lambda: recording_from(virtual_devices.mic_source), 30)
            if standby:
                app.wait_logged("the offline engine readied",
                                r"^offline engine ready for hot standby", timeout_s=90)
            play(virtual_devices.mic_sink, A)
            wait_for("the cloud's final in the journal", lambda: finals(app.data_dir), 60, 0.1)
            t_cut = time.time()
            fakes.cut()
            if standby:
                app.wait_shown("the offline engine standing in",
                               lambda s: s.text.startswith("Live on the offline engine"),
                               after=t_cut)
                play(virtual_devices.mic_sink, B)
                b_words = words(reference_text(B.name))
                wait_for("the offline engine's final for B", lambda: len(
                    words(" ".join(finals(app.data_dir))) & b_words) >= 4, 60, 0.1)
            else:
                app.wait_shown("reconnecting", lambda s: s.text.startswith(
                    "Reconnecting to Rev AI"), after=t_cut)
                play(virtual_devices.mic_sink, B)  # not captioned: the network is gone
            app.screenshot(f"term-{'standby' if standby else 'reconnecting'}")
            had = finals(app.data_dir)
            t_term = time.time()
            app.proc.send_signal(signal.SIGTERM)
            code = app.proc.wait(30)
            exit_s = time.time() - t_term
        finally:
            app.close()
    output = (tmp_path / "app.out").read_text(errors="replace")
    print(f"standby={standby}: exit {code} {exit_s:.2f} s after SIGTERM; {len(had)} finals")
    assert code == 0 and "Traceback" not in output, output
    assert exit_s <= EXIT_WITHIN_S, exit_s
    kept = finals(app.data_dir)
    assert kept[:len(had)] == had, (had, kept)  # every final it had, in order
    closing = app.logged(r"journal \S+ closing \((\d+) finals\)")
    assert closing is not None and f"({len(kept)} finals)" in closing.message
    journal = next((app.data_dir / "sessions").glob("*.jsonl"))
    last = json.loads(journal.read_text().splitlines()[-1])
    assert last["type"] == "end", last  # closed normally: nothing to recover
    if not standby:  # what was said while nothing captioned is marked, not silently lost
        gaps = [json.loads(line) for line in journal.read_text().splitlines()
                if '"type":"gap"' in line]
        assert gaps and gaps[-1]["reason"] == "stopped while reconnecting", gaps
    assert find_unfinished(app.data_dir / "sessions") == []

    # the next start: nothing to recover, nothing asked, the old session listed as it was
    again = App(tmp_path / "next", python, local_conf(virtual_devices), data_dir=app.data_dir)
    try:
        again.wait_shown("Live", lambda s: s.text.startswith("Live"))
        assert again.logged(r"asking whether to recover|recovered") is None
    finally:
        assert again.close() == 0, again.output()
    sessions = list_sessions(app.data_dir / "sessions")
    old = [s for s in sessions if s.path == journal]
    assert old and old[0].ended and not old[0].recovered, sessions
