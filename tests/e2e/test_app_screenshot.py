"""The real app under the rig's X display (Xvfb + openbox + xcompmgr): captions from the
virtual microphone appear in the overlay, which stays above another window raised over it.

Launches ``python -m captioner gui --start`` (offline engine, this session's private virtual
microphone), plays a speech WAV into the microphone, waits for the finals in the journal,
raises an ``xmessage`` window over the whole screen, then checks the window manager's
stacking and ``_NET_WM_STATE_ABOVE``, and the pixels of a root-window screenshot
(``test-artifacts/overlay.png``). SIGTERM then ends the app cleanly (journal closed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, reference_text
from tests.e2e.rig_helpers import DATA, VirtualDevices, journal_finals, stop_app
from tests.lifecycle import wait_for

pytestmark = pytest.mark.rig

WAV = DATA / "librivox-0870.wav"
ARTIFACTS = REPO / "test-artifacts"
COVER_BG = "#2e7d32"  # the "meeting app" raised over the overlay
TOOLS = ("xdotool", "xprop", "xwininfo", "import", "xmessage", "paplay", "pactl")


def run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=False).stdout.strip()


def window_ids(pid: int, name: str) -> list[int]:
    # NB: xdotool ORs its criteria unless told --all
    out = run("xdotool", "search", "--all", "--pid", str(pid), "--name", name)
    return [int(w) for w in out.split()]


def geometry(window: int) -> tuple[int, int, int, int]:
    info = run("xwininfo", "-id", str(window))
    get = {k: int(re.search(rf"{k}:\s+(-?\d+)", info).group(1))  # type: ignore[union-attr]
           for k in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height")}
    return (get["Absolute upper-left X"], get["Absolute upper-left Y"], get["Width"],
            get["Height"])


def stacking() -> list[int]:
    """Client windows bottom to top, as the window manager stacks them."""
    out = run("xprop", "-root", "_NET_CLIENT_LIST_STACKING")
    return [int(h, 16) for h in re.findall(r"0x[0-9a-f]+", out)]


def recording_from(source: str) -> bool:
    """Whether some stream records from the PulseAudio source ``source``."""
    sources = {line.split("\t")[0]: line.split("\t")[1]
               for line in run("pactl", "list", "short", "sources").splitlines()}
    for line in run("pactl", "list", "short", "source-outputs").splitlines():
        cols = line.split("\t")
        if len(cols) > 1 and sources.get(cols[1]) == source:
            return True
    return False


def finals(data_dir: Path) -> list[str]:
    return [record["text"] for record in journal_finals(data_dir)]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


@pytest.fixture
def app_env(tmp_path: Path, virtual_devices: VirtualDevices) -> dict[str, str]:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    assert not missing, f"rig tools missing: {missing} (ci/system-packages installs them)"
    assert os.environ.get("DISPLAY"), "the rig's X display is not set (source $RIG/env)"
    config = tmp_path / "config" / "captioner"
    config.mkdir(parents=True)
    # the saved settings --start uses: our private microphone, overlay docked at the bottom
    (config / "captioner.conf").write_text(
        "[session]\nprovider=local\nsource=mic\n"
        f"mic_device={virtual_devices.mic_id}\n"
        "[overlay]\ndock=bottom\nlines=3\nfont_pt=26\n")
    return dict(os.environ, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"),
                CAPTIONER_DATA_DIR=str(tmp_path / "data"),
                CAPTIONER_LOG_DIR=str(tmp_path / "log"), PYTHONUNBUFFERED="1")


@pytest.fixture
def app(app_env: dict[str, str], tmp_path: Path, python: str) -> Iterator[subprocess.Popen]:
    log = open(tmp_path / "app.out", "w")
    proc = subprocess.Popen([python, "-m", "captioner", "gui", "--start"], cwd=REPO,
                            env=app_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop_app(proc)
        log.close()


@pytest.fixture
def cover_window() -> Iterator[Callable[[], int]]:
    procs: list[subprocess.Popen] = []

    def open_cover() -> int:
        proc = subprocess.Popen(["xmessage", "-name", "meeting-app", "-title", "meeting-app",
                                 "-bg", COVER_BG, "-fg", "white", "-geometry",
                                 "1280x720+0+0", "A meeting app, raised over the captions"])
        procs.append(proc)
        # NB: xmessage (Xt) sets no _NET_WM_PID; its title is unique enough
        window = wait_for("the meeting-app window",
                          lambda: run("xdotool", "search", "--name", "^meeting-app$").split(), 10)
        return int(window[0])  # type: ignore[index]

    yield open_cover
    for proc in procs:
        proc.terminate()
        proc.wait(5)


def test_overlay_stays_on_top_with_the_spoken_words(app, app_env, virtual_devices,
                                                    cover_window, tmp_path):
    data_dir = Path(app_env["CAPTIONER_DATA_DIR"])
    overlay = wait_for("the caption overlay window",
                       lambda: window_ids(app.pid, "^Captions$"), 30)[0]  # type: ignore[index]
    wait_for("the app to record from the virtual microphone",
             lambda: recording_from(virtual_devices.mic_source), 30)
    subprocess.run(["paplay", f"--device={virtual_devices.mic_sink}", str(WAV)], check=True,
                   timeout=60)
    expected = words(reference_text(WAV.name))
    wait_for("the spoken words in the journal",
             lambda: len(words(" ".join(finals(data_dir))) & expected) >= 0.7 * len(expected),
             60, 0.2)
    heard = " ".join(finals(data_dir))
    assert app.poll() is None, (tmp_path / "app.out").read_text()

    cover = cover_window()
    subprocess.run(["xdotool", "windowraise", str(cover)], check=False)
    subprocess.run(["xdotool", "windowactivate", "--sync", str(cover)], check=False)
    # the window manager says: the overlay is above the window raised over it
    state = run("xprop", "-id", str(overlay), "_NET_WM_STATE")
    assert "_NET_WM_STATE_ABOVE" in state, state
    order = wait_for("both windows in the stacking list",
                     lambda: (lambda s: s if overlay in s and cover in s else None)(stacking()), 5)
    assert order.index(overlay) > order.index(cover)  # type: ignore[union-attr]

    from PySide6.QtGui import QColor, QImage

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "overlay.png"
    x, y, w, h = geometry(overlay)
    cover_color = QColor(COVER_BG)

    def screenshot() -> QImage | None:
        subprocess.run(["import", "-window", "root", str(shot)], check=True, timeout=30)
        image = QImage(str(shot))
        # wait until the compositor shows the raised window (outside the overlay)
        outside = image.pixelColor(image.width() // 2, y // 2)
        return image if _close(outside, cover_color) else None

    image: QImage = wait_for("the meeting app on screen", screenshot, 10, 0.3)  # type: ignore
    assert image.width() >= x + w and image.height() >= y + h
    # inside the overlay's rectangle the screen is the overlay, not the meeting app
    inside = [image.pixelColor(px, py) for px in range(x + 4, x + w - 4, 7)
              for py in range(y + 4, y + h - 4, 5)]
    covered = sum(_close(c, cover_color) for c in inside) / len(inside)
    assert covered < 0.02, f"{covered:.0%} of the overlay shows the window below it"
    bright = sum(c.lightness() > 200 for c in inside) / len(inside)
    assert bright > 0.03, "no caption text drawn in the overlay"
    print(f"heard: {heard!r}\noverlay at {x},{y} {w}x{h}; screenshot {shot}")

    # SIGTERM ends it cleanly: the session's journal gets its end line
    app.send_signal(signal.SIGTERM)
    assert app.wait(30) == 0
    last = [json.loads(line) for p in (data_dir / "sessions").glob("*.jsonl")
            for line in p.read_text().splitlines()][-1]
    assert last["type"] == "end"


def _close(a, b, tolerance: int = 12) -> bool:
    return (abs(a.red() - b.red()) <= tolerance and abs(a.green() - b.green()) <= tolerance
            and abs(a.blue() - b.blue()) <= tolerance)
