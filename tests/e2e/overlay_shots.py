"""Helpers for the overlay's rig tests: launching the app with given settings, X window
geometry and the work area read with the X tools, screenshots as numpy arrays, WCAG
contrast of caption text over what is behind the panel."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from tests.conftest import REPO
from tests.e2e.rig_helpers import stop_app
from tests.lifecycle import wait_for

ARTIFACTS = REPO / "test-artifacts"
BUSY = Path(__file__).parent / "busy_window.py"
TOOLS = ("xdotool", "xprop", "xwininfo", "import", "tesseract", "convert", "paplay")
GLYPH_L = 0.5  # relative luminance above which a pixel is caption text (light on dark)
NEAR_GLYPH_PX = 5  # outline and anti-aliasing around the letters: neither text nor behind


def run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=False).stdout.strip()


def workareas() -> list[tuple[int, int, int, int]]:
    """Each desktop's work area (x, y, w, h), as the window manager says."""
    values = [int(v) for v in re.findall(r"\d+", run("xprop", "-root", "_NET_WORKAREA"))]
    return [(values[i], values[i + 1], values[i + 2], values[i + 3])
            for i in range(0, len(values) - 3, 4)]


def workarea() -> tuple[int, int, int, int]:
    """The first desktop's work area."""
    return workareas()[0]


def windows(pid: int, name: str) -> list[int]:
    out = run("xdotool", "search", "--all", "--onlyvisible", "--pid", str(pid), "--name", name)
    return [int(w) for w in out.split()]


def client_rect(window: int) -> tuple[int, int, int, int]:
    info = run("xwininfo", "-id", str(window))
    get = {k: int(m.group(1)) for k in ("Absolute upper-left X", "Absolute upper-left Y",
                                        "Width", "Height")
           if (m := re.search(rf"{k}:\s+(-?\d+)", info))}
    return (get["Absolute upper-left X"], get["Absolute upper-left Y"], get["Width"],
            get["Height"])


def frame_rect(window: int) -> tuple[int, int, int, int]:
    """The window with its decorations (``_NET_FRAME_EXTENTS``)."""
    x, y, w, h = client_rect(window)
    extents = [int(v) for v in re.findall(r"\d+", run("xprop", "-id", str(window),
                                                      "_NET_FRAME_EXTENTS"))] or [0, 0, 0, 0]
    left, right, top, bottom = extents[:4]
    return x - left, y - top, w + left + right, h + top + bottom


def overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def app_env(tmp_path: Path) -> dict[str, str]:
    assert os.environ.get("DISPLAY"), "the rig's X display is not set (source $RIG/env)"
    return dict(os.environ, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"),
                CAPTIONER_DATA_DIR=str(tmp_path / "data"),
                CAPTIONER_LOG_DIR=str(tmp_path / "log"), PYTHONUNBUFFERED="1")


def write_settings(tmp_path: Path, values: dict[str, object]) -> None:
    """The app's settings file, written by QSettings itself (values with commas, JSON)."""
    from PySide6.QtCore import QSettings

    from captioner.settings import SETTINGS_VERSION

    path = tmp_path / "config" / "captioner" / "captioner.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    q = QSettings(str(path), QSettings.Format.IniFormat)
    q.setValue("settings_version", SETTINGS_VERSION)
    for key, value in values.items():
        q.setValue(key, value)
    q.sync()


@contextmanager
def launched(tmp_path: Path, python: str, *, start: bool) -> Iterator[subprocess.Popen]:
    """``captioner gui`` (with ``--start``: captioning at once) on the rig's display."""
    args = [python, "-m", "captioner", "gui"] + (["--start"] if start else [])
    with open(tmp_path / "app.out", "w") as log:
        proc = subprocess.Popen(args, cwd=REPO, env=app_env(tmp_path), stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            stop_app(proc)


@contextmanager
def busy_window(python: str, title: str, *extra: str) -> Iterator[int]:
    """The busy stand-in meeting app; yields its X window."""
    proc = subprocess.Popen([python, str(BUSY), title, *extra],
                            env=dict(os.environ, QT_QPA_PLATFORM="xcb"))
    try:
        window = wait_for(f"the {title} window",
                          lambda: run("xdotool", "search", "--onlyvisible", "--name",
                                      f"^{title}$").split(), 20)
        yield int(window[0])  # type: ignore[index]
    finally:
        proc.terminate()
        proc.wait(10)


def screenshot(name: str) -> tuple[Path, np.ndarray]:
    """The whole screen as an (h, w, 3) uint8 RGB array, also saved as ``name``."""
    from PySide6.QtGui import QImage

    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=30)
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height)
    return path, raw.reshape(height, stride)[:, :width * 3].reshape(height, width, 3).copy()


def luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB pixels."""
    c = rgb.astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def contrast(a: float, b: float) -> float:
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    out = mask.copy()
    h, w = mask.shape
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h),
                                                                      slice(0, h + dy))
            xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w),
                                                                      slice(0, w + dx))
            out[yd, xd] |= mask[ys, xs]
    return out


def text_contrast(panel: np.ndarray) -> dict[str, float]:
    """Light caption text over the panel and what shows through it.

    Returns the text's luminance (median of its pixels), the worst (lightest) and the
    darkest pixel behind the text (farther than the outline from any letter), the text's
    contrast against the worst one (WCAG: AA needs 4.5) and the show-through: the
    contrast between the lightest and darkest pixels behind (1.0: nothing shows through).
    """
    lum = luminance(panel)
    glyph = lum > GLYPH_L
    behind = ~_dilate(glyph, NEAR_GLYPH_PX)
    assert glyph.sum() > 200, "no caption text in the panel"
    assert behind.sum() > 1000, "no panel around the text"
    text_l = float(np.median(lum[glyph]))
    worst, darkest = float(lum[behind].max()), float(lum[behind].min())
    return {"text_l": text_l, "worst_behind_l": worst, "darkest_behind_l": darkest,
            "contrast": contrast(text_l, worst), "show_through": contrast(worst, darkest),
            "glyph_px": float(glyph.sum()), "behind_px": float(behind.sum())}


def ocr(image_path: Path, rect: tuple[int, int, int, int], tmp_path: Path,
        scale: int = 1) -> str:
    """Tesseract's reading of ``rect`` of a screenshot (light text on dark: negated;
    small text enlarged ``scale`` times)."""
    x, y, w, h = rect
    crop = tmp_path / "ocr.png"
    subprocess.run(["convert", str(image_path), "-crop", f"{w}x{h}+{x}+{y}", "+repage",
                    "-resize", f"{scale * 100}%", "-colorspace", "gray", "-negate", str(crop)],
                   check=True, timeout=30)
    out = subprocess.run(["tesseract", str(crop), "-", "--psm", "6"], capture_output=True,
                         text=True, check=False, timeout=60)
    return out.stdout
