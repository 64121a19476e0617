"""The overlay on a real screen (the rig's Xvfb 1280×720 + openbox + xcompmgr): it stays
whole on the screen at 96 pt × 10 lines, it is readable over a busy window by default
(WCAG AA, measured on screenshot pixels), docking reserves the screen's edge
(``_NET_WORKAREA``) and undocking gives it back, and on first run it floats clear of the
control window.

Screenshots: ``test-artifacts/overlay-*.png`` (copies in ``docs/``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import reference_text
from tests.e2e.overlay_shots import (
    TOOLS,
    busy_window,
    client_rect,
    frame_rect,
    launched,
    luminance,
    ocr,
    overlaps,
    run,
    screenshot,
    text_contrast,
    windows,
    workarea,
    workareas,
    write_settings,
)
from tests.e2e.rig_helpers import DATA, VirtualDevices
from tests.e2e.test_app_screenshot import finals, recording_from, words
from tests.lifecycle import wait_for

pytestmark = pytest.mark.rig

WAV = DATA / "librivox-0870.wav"
SCREEN = (0, 0, 1280, 720)
STATUS_ROW_PX = 44  # the status line at the overlay's bottom (at most 34 px) and a margin


@pytest.fixture(autouse=True)
def _x_tools() -> None:
    import shutil

    missing = [t for t in TOOLS if shutil.which(t) is None]
    assert not missing, f"rig tools missing: {missing} (ci/system-packages installs them)"
    assert os.environ.get("DISPLAY"), "the rig's X display is not set (source $RIG/env)"
    assert workarea() == SCREEN, "another window reserves space on the rig's display"


def overlay_window(app: subprocess.Popen) -> int:
    return wait_for("the caption overlay", lambda: windows(app.pid, "^Captions$"), 30)[0]


def settled(window: int) -> tuple[int, int, int, int]:
    """The window's place once two readings agree (the window manager has placed it)."""
    last: list[tuple[int, int, int, int]] = []

    def same() -> tuple[int, int, int, int] | None:
        rect = client_rect(window)
        ok = rect if last and last[-1] == rect else None
        last.append(rect)
        return ok

    return wait_for("the window to settle", same, 10, 0.2)


def speak(app: subprocess.Popen, tmp_path: Path, devices: VirtualDevices) -> str:
    """Play the WAV into the app's microphone; the finals it captioned."""
    wait_for("the app to record from the virtual microphone",
             lambda: recording_from(devices.mic_source), 30)
    subprocess.run(["paplay", f"--device={devices.mic_sink}", str(WAV)], check=True, timeout=60)
    expected = words(reference_text(WAV.name))
    data = tmp_path / "data"
    wait_for("the spoken words in the journal",
             lambda: len(words(" ".join(finals(data))) & expected) >= 0.7 * len(expected), 60,
             0.2)
    assert app.poll() is None, (tmp_path / "app.out").read_text()
    return " ".join(finals(data))


def context_menu(app: subprocess.Popen, overlay: int, *keys: str) -> None:
    """Right-click the overlay and pick from its menu by keyboard (mnemonics)."""
    def shown() -> int:
        return len(run("xdotool", "search", "--all", "--onlyvisible", "--pid", str(app.pid),
                       "--name", ".*").split())

    x, y, w, h = client_rect(overlay)
    before = shown()
    run("xdotool", "mousemove", str(x + w // 2), str(y + h // 3), "click", "3")
    wait_for("the overlay's menu", lambda: shown() > before, 10)
    for key in keys:
        run("xdotool", "key", key)


def drag(window: int, grab: tuple[int, int], by: tuple[int, int],
         moved: Callable[[tuple[int, int, int, int]], bool]) -> tuple[int, int, int, int]:
    """Drag ``window`` with the mouse from ``grab`` by ``by`` until ``moved(its rect)``;
    the rect it had when the button was released."""
    steps = iter(range(10_000))

    def dragged() -> tuple[int, int, int, int] | None:
        # NB: a window manager takes the pointer some time after the press; the pointer
        # keeps moving (by a pixel either way) until the window follows, and the press is
        # tried again now and then (one can come before the window is ready for it)
        step = next(steps)
        if step % 10 == 0:
            run("xdotool", "mouseup", "1", "mousemove", str(grab[0]), str(grab[1]),
                "mousedown", "1")
        run("xdotool", "mousemove", str(grab[0] + by[0] + step % 2), str(grab[1] + by[1]))
        rect = client_rect(window)
        return rect if moved(rect) else None

    try:
        return wait_for("the window to follow the mouse", dragged, 10, 0.1)
    finally:
        run("xdotool", "mouseup", "1")


def shortcut(window: int, keys: str) -> None:
    """Press ``keys`` in ``window`` (the app's shortcuts work in any of its windows)."""
    run("xdotool", "windowactivate", "--sync", str(window))
    run("xdotool", "key", "--window", str(window), "--clearmodifiers", keys)


def strut(window: int) -> list[int]:
    return [int(v) for v in re.findall(r"\d+", run("xprop", "-id", str(window),
                                                   "_NET_WM_STRUT_PARTIAL"))]


def test_docking_reserves_the_screen_edge_and_undocking_gives_it_back(tmp_path, python,
                                                                      virtual_devices):
    write_settings(tmp_path, {"session/provider": "local", "session/source": "mic",
                              "session/mic_device": virtual_devices.mic_id,
                              "overlay/dock": "bottom", "overlay/lines": 3,
                              "overlay/font_pt": 26})
    with busy_window(python, "meeting-maximized", "maximized") as meeting, \
            launched(tmp_path, python, start=True) as app:
        overlay = overlay_window(app)
        speak(app, tmp_path, virtual_devices)
        area = wait_for("the work area to shrink", lambda: (a := workarea())[3] < 720 and a, 10)
        x, y, w, h = settled(overlay)
        assert (x, w, y + h) == (0, 1280, 720), "docked: a full-width band at the bottom"
        assert area == (0, 0, 1280, y), f"work area {area} should end at the overlay's top {y}"
        desktops = workareas()
        assert len(desktops) > 1 and set(desktops) == {area}, f"on every desktop: {desktops}"
        assert "_NET_WM_WINDOW_TYPE_DOCK" in run("xprop", "-id", str(overlay),
                                                 "_NET_WM_WINDOW_TYPE")
        assert strut(overlay)[3] == h
        # the maximized meeting app ends above the captions instead of under them
        wait_for("the maximized window to end above the overlay",
                 lambda: (f := frame_rect(meeting))[1] + f[3] <= y, 10, 0.2)
        path, image = wait_for(
            "the docked screenshot",
            lambda: (s := screenshot("overlay-docked.png"))
            and float(np.median(luminance(s[1][y + 10:y + h - 10, 20:1260]))) < 0.1 and s,
            10, 0.3)
        above = luminance(image[y - 60:y - 2, :])
        assert above.max() > 0.9, "the meeting app (white) right above the overlay"

        # hidden, the overlay gives the band back; shown again, it takes it again
        control = windows(app.pid, "^captioner$")[0]
        shortcut(control, "ctrl+shift+h")
        wait_for("the band given back while hidden", lambda: workarea() == SCREEN, 10)
        shortcut(control, "ctrl+shift+h")
        wait_for("the band reserved again", lambda: workarea() == area, 10)
        # click-through (new window flags; Qt may make a new native window): still a dock,
        # still reserving the band
        def status_says(word: str) -> bool:
            shot, _ = screenshot("overlay-docked-status.png")
            row = (0, 720 - STATUS_ROW_PX, 900, STATUS_ROW_PX)
            return word in ocr(shot, row, tmp_path, scale=3).lower()

        for turned in ("on", "off"):
            shortcut(control, "ctrl+shift+t")
            wait_for(f"click-through {turned} in the status line",
                     lambda t=turned: status_says("click") == (t == "on"), 15, 0.3)
            overlay = overlay_window(app)
            assert "_NET_WM_WINDOW_TYPE_DOCK" in run("xprop", "-id", str(overlay),
                                                     "_NET_WM_WINDOW_TYPE")
            assert strut(overlay)[3] == h and workarea() == area

        # undock from the overlay's own menu: Position → Floating
        context_menu(app, overlay, "n", "f")
        wait_for("the work area to come back", lambda: workarea() == (0, 0, 1280, 720), 10)
        overlay = overlay_window(app)
        assert strut(overlay) == []
        assert "_NET_WM_WINDOW_TYPE_UTILITY" in run("xprop", "-id", str(overlay),
                                                    "_NET_WM_WINDOW_TYPE")
        wait_for("the maximized window to take the whole screen again",
                 lambda: (f := frame_rect(meeting))[1] + f[3] == 720, 10, 0.2)

        # and dock again, at the top this time
        context_menu(app, overlay, "n", "t")
        top = wait_for("the work area to start under the overlay",
                       lambda: (a := workarea())[1] > 0 and a, 10)
        overlay = overlay_window(app)
        x, y, w, h = settled(overlay)
        assert (x, y, w) == (0, 0, 1280) and top == (0, h, 1280, 720 - h)
        wait_for("the maximized window to start under the overlay",
                 lambda: frame_rect(meeting)[1] >= h, 10, 0.2)
    print(f"docked: work area {area}, overlay band {h} px; at the top: work area {top}; "
          f"screenshot {path}")


def test_dragging_the_docked_overlay_undocks_it(tmp_path, python):
    write_settings(tmp_path, {"session/provider": "local", "overlay/dock": "bottom"})
    with launched(tmp_path, python, start=False) as app:
        overlay = overlay_window(app)
        wait_for("the work area to shrink", lambda: workarea()[3] < 720, 10)
        x, y, w, h = settled(overlay)
        # NB: window managers don't move dock windows; the overlay moves itself
        dropped = drag(overlay, (640, y + h // 3), (-100, -200), lambda r: r[1] < y - 150)
        wait_for("the band given back", lambda: workarea() == SCREEN, 10)
        overlay = overlay_window(app)
        wait_for("a floating window again", lambda: "_NET_WM_WINDOW_TYPE_UTILITY" in run(
            "xprop", "-id", str(overlay), "_NET_WM_WINDOW_TYPE"), 10)
        kept = settled(overlay)
        assert kept[1] == dropped[1] and kept[1] + kept[3] <= 720, (dropped, kept)
        assert strut(overlay) == []
    print(f"docked at {(x, y, w, h)}, dragged to {dropped}, floating at {kept}")


def test_first_run_floats_clear_of_the_control_window(tmp_path, python):
    with launched(tmp_path, python, start=False) as app:
        overlay = overlay_window(app)
        control = wait_for("the control window", lambda: windows(app.pid, "^captioner$"), 30)
        window = frame_rect(control[0])
        wait_for("both windows placed", lambda: frame_rect(control[0])[2] > 100, 10)
        box = settled(overlay)
        window = frame_rect(control[0])
        assert workarea() == SCREEN  # floating: nothing reserved
        assert "_NET_WM_WINDOW_TYPE_DOCK" not in run("xprop", "-id", str(overlay),
                                                     "_NET_WM_WINDOW_TYPE")
        assert not overlaps(box, window), f"overlay {box} covers the control window {window}"
        for x, y, w, h in (box, window):
            assert x >= 0 and y >= 0 and x + w <= 1280 and y + h <= 720, (x, y, w, h)
        path, image = screenshot("overlay-first-run.png")
        # the control window's bottom rows (Export buttons, status bar) are not under the panel
        wx, wy, ww, wh = window
        bottom = luminance(image[wy + wh - 40:wy + wh - 4, wx + 10:wx + ww - 10])
        assert bottom.mean() > 0.5, "the control window's bottom rows are covered"

        # dragged with the mouse past the bottom and right edges, it comes back whole
        x, y, w, h = box
        dropped = drag(overlay, (x + w // 2, y + h // 3), (500, 100),
                       lambda r: r[0] > x + 400 and r[1] + r[3] > 720)
        back = wait_for("the overlay whole on the screen again",
                        lambda: (r := settled(overlay))[0] + r[2] <= 1280
                        and r[1] + r[3] <= 720 and r, 10, 0.2)
        assert back[0] > x and back[1] >= y, "it stays where it was dropped, as far as fits"
    print(f"overlay {box}, control window {window}; dropped at {dropped}, kept at {back}; "
          f"screenshot {path}")


def _screen_key(python: str) -> str:
    code = ("from PySide6.QtGui import QGuiApplication; app = QGuiApplication([]); "
            "from captioner.gui.overlay_place import screen_key; "
            "print(screen_key(app.primaryScreen()))")
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True,
                          env=dict(os.environ, QT_QPA_PLATFORM="xcb"), timeout=30).stdout.strip()


def test_96_pt_and_10_lines_keep_the_newest_line_and_the_status_on_screen(
        tmp_path, python, virtual_devices):
    key = _screen_key(python)
    # a place saved on a bigger screen (same name and size here): past the bottom right
    saved = {"last": key, "screens": {key: [1500, 900, 2400, 1400]}}
    write_settings(tmp_path, {"session/provider": "local", "session/source": "mic",
                              "session/mic_device": virtual_devices.mic_id,
                              "overlay/dock": "floating", "overlay/lines": 10,
                              "overlay/font_pt": 96, "overlay/geometry": json.dumps(saved)})
    with launched(tmp_path, python, start=True) as app:
        overlay = overlay_window(app)
        heard = speak(app, tmp_path, virtual_devices)
        x, y, w, h = settled(overlay)
        assert x >= 0 and y >= 0 and x + w <= 1280 and y + h <= 720, (x, y, w, h)
        # the newest line, at the bottom of the captions: the end of the last final
        last_word = re.findall(r"[a-z']+", heard.lower())[-1]
        seen: list[list[str]] = []

        def newest_on_screen() -> Path | None:
            path, _image = screenshot("overlay-96pt.png")
            captions = ocr(path, (x, y, w, h - STATUS_ROW_PX), tmp_path)
            seen.append([line for line in captions.splitlines() if line.strip()])
            return path if last_word in words(" ".join(seen[-1][-2:])) else None

        try:
            path = wait_for(f"{last_word!r} at the bottom of the overlay", newest_on_screen,
                            20, 0.5)
        except AssertionError as e:
            raise AssertionError(f"{e}; read: {seen[-3:]}") from None
        assert client_rect(overlay) == (x, y, w, h)
    read = seen[-1]
    status = ocr(path, (x, y + h - STATUS_ROW_PX, w // 2, STATUS_ROW_PX), tmp_path, scale=3)
    assert re.search(r"live|offline", status.lower()), f"no status line: {status!r}"
    print(f"overlay {x},{y} {w}x{h}; OCR: {read} / {status.strip()!r}; "
          f"last final: {heard[-60:]!r}")


@pytest.mark.parametrize("look", ["default", "previous"])
def test_the_default_look_over_a_busy_window_meets_wcag_aa(tmp_path, python, virtual_devices,
                                                           look):
    values: dict[str, object] = {"session/provider": "local", "session/source": "mic",
                                 "session/mic_device": virtual_devices.mic_id,
                                 "overlay/lines": 3, "overlay/font_pt": 26}
    if look == "previous":
        values["overlay/bg_opacity"] = 0.6  # the "Translucent (previous look)" preset
    write_settings(tmp_path, values)
    with busy_window(python, "busy-meeting-app"), launched(tmp_path, python, start=True) as app:
        overlay = overlay_window(app)
        speak(app, tmp_path, virtual_devices)
        x, y, w, h = settled(overlay)
        path, image = screenshot(f"overlay-busy-{look}.png")
    assert tuple(image[10, 10]) == (0xE9, 0x1E, 0x63), "the busy window is not on screen"
    inset = 16  # inside the rounded corners; the captions only, not the status line
    figures = text_contrast(image[y + inset:y + h - STATUS_ROW_PX, x + inset:x + w - inset])
    print(f"{look}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()) + f"; {path}")
    if look == "default":
        assert figures["contrast"] >= 4.5, figures  # WCAG AA for caption text
        assert figures["show_through"] < 1.5, figures  # what is behind doesn't show
    else:
        assert figures["show_through"] > 2.0, figures  # it does show through the old look
