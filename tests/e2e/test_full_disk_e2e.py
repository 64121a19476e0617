"""A full disk while the real app captions (rig): the sessions folder is a tiny tmpfs that the
test fills mid-session. The overlay says in plain words that the transcript is not being
saved and what to do, captions keep coming, and once space is back the journal writes what
waited in memory: every word captioned while the disk was full ends up on disk.

Needs root (the rig runs as root) to mount the tmpfs. Screenshots:
``test-artifacts/states/full-disk*.png``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from captioner.gui.status_line import BANDS
from tests.conftest import reference_text
from tests.e2e.overlay_rig import App, color_share, ocr, read_words
from tests.e2e.rig_helpers import DATA, VirtualDevices
from tests.e2e.test_app_screenshot import finals, recording_from, words
from tests.lifecycle import wait_for
from tests.unit.test_journal import TmpfsFullDisk

pytestmark = pytest.mark.rig

BEFORE = DATA / "librivox-0880.wav"  # "he was not an ill disposed young man"
WHILE_FULL = DATA / "meeting-2speakers.wav"  # 17 s: its finals fill the last page
OVERLAY = "[overlay]\ndock=bottom\nlines=3\nfont_pt=22\n"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/data/sessions`` on a 256 KiB tmpfs of its own."""
    sessions = tmp_path / "data" / "sessions"
    sessions.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs",
                              str(sessions)], capture_output=True, text=True, check=False)
    assert mounted.returncode == 0, f"this test needs root to mount a tmpfs: {mounted.stderr}"
    try:
        yield sessions
    finally:
        subprocess.run(["umount", "-l", str(sessions)], check=False)


def play(devices: VirtualDevices, wav: Path) -> None:
    subprocess.run(["paplay", f"--device={devices.mic_sink}", str(wav)], check=True, timeout=60)


def test_full_disk_is_shown_and_nothing_is_lost(tmp_path, python, virtual_devices, tiny_disk):
    conf = (f"[session]\nprovider=local\nsource=mic\nmic_device={virtual_devices.mic_id}\n"
            + OVERLAY)
    app = App(tmp_path, python, conf)
    try:
        app.wait_shown("Live", lambda s: s.text.startswith("Live"))
        wait_for("the app recording from the virtual microphone",
                 lambda: recording_from(virtual_devices.mic_source), 30)
        play(virtual_devices, BEFORE)
        before = words(reference_text(BEFORE.name))
        wait_for("the first words in the journal",
                 lambda: len(words(" ".join(finals(app.data_dir))) & before) >= 5, 60, 0.2)
        saved_before = finals(app.data_dir)

        disk = TmpfsFullDisk(tiny_disk)
        disk.fill()
        # the journal's last page still takes a few lines: speak until they no longer fit
        for _ in range(6):
            play(virtual_devices, WHILE_FULL)
            if any("Disk full" in s.text for s in app.shown()):
                break
        shown = app.wait_shown("the full disk", lambda s: "Disk full" in s.text, timeout_s=60)
        assert shown.level == "warning", shown
        assert "free some space" in shown.text and shown.text.endswith("Offline engine"), shown
        assert "Live" in shown.text, shown  # captioning goes on: it is live
        play(virtual_devices, BEFORE)  # said while the disk is full: waits in memory

        def on_screen() -> tuple[Path, str] | None:
            shot = app.screenshot("full-disk")
            text = read_words(ocr(shot))
            return (shot, text) if "disk fuii" in text and "free some space" in text else None

        shot, text = wait_for("the full-disk status on screen", on_screen, 30, 0.3)
        assert color_share(shot, BANDS["warning"]) > 0.03, "no warning band on the overlay"
        print(f"full disk: OCR {text!r}")
        assert finals(app.data_dir)[:len(saved_before)] == saved_before  # nothing lost

        disk.free()  # space is back
        back = app.wait_shown("the status without the disk problem",
                              lambda s: s.t > shown.t and "Disk full" not in s.text,
                              timeout_s=30)
        assert "Live" in back.text, back  # (after 10 s of silence "No audio …" may lead)
        wait_for("what was said while the disk was full, on disk",
                 # the engine commits a sentence in several small finals: all since the fill
                 lambda: len(words(" ".join(finals(app.data_dir)[len(saved_before):]))
                             & before) >= 5,
                 30, 0.2)
        app.screenshot("full-disk-recovered")
    finally:
        code = app.close()
    output = (tmp_path / "app.out").read_text(errors="replace")
    assert code == 0, output
    assert "Traceback" not in output
    closing = app.logged(r"journal \S+ closing \((\d+) finals\)")
    assert closing is not None
    appended = int(closing.message.split("(")[1].split()[0])
    on_disk = finals(app.data_dir)
    assert len(on_disk) == appended, (len(on_disk), appended)  # every final it had is saved
    journal = next(tiny_disk.glob("*.jsonl"))
    assert journal.read_bytes().endswith(b"\n")  # no line cut short
