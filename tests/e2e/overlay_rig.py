"""The real app under the rig's X display, seen as a user sees it: its overlay's status line
read back from the app's log (when each status was first painted, in the app's own clock),
from the screen (a screenshot of the overlay, OCR by tesseract, the problem colour's pixels),
and cloud protocol fakes behind an outage proxy on 127.0.0.1 in a thread of the test.

Latencies are timestamps, not sleeps: the test notes the wall clock when it injects a
fault (or takes the app's own log line for an event the app detects itself), and the app
logs "status line shows …" when it paints a new status. Both clocks are the same machine's
``time.time()``; waiting uses generous polling timeouts so a loaded machine only slows it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from captioner.secrets import ENV_VARS
from captioner.testing.fakes import FakeServer
from captioner.testing.outage import OutageProxy
from tests.conftest import REPO
from tests.e2e.rig_helpers import stop_app
from tests.e2e.test_app_screenshot import geometry, window_ids
from tests.lifecycle import wait_for

ARTIFACTS = REPO / "test-artifacts" / "states"
TOOLS = ("xdotool", "xwininfo", "import", "convert", "tesseract", "paplay", "pactl", "gdbus")
_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (\w+) (\S+) (\S+): (.*)$")
_SHOWN = re.compile(r"^status line shows \[(\w+), ([\w-]+)\]: (.*)$")


@dataclass(frozen=True)
class LogLine:
    t: float  # wall clock (time.time())
    level: str
    logger: str
    message: str


@dataclass(frozen=True)
class Shown:
    """A status the overlay painted: when, its level (colour), icon and words."""

    t: float
    level: str
    icon: str
    text: str


class App:
    """``python -m captioner gui --start`` with its own config, data and log folders; with
    ``probe``, run by :mod:`tests.e2e.overlay_probe`, which writes each overlay paint there."""

    def __init__(self, tmp_path: Path, python: str, conf: str, probe: Path | None = None,
                 data_dir: Path | None = None, **env: str) -> None:
        missing = [t for t in TOOLS if shutil.which(t) is None]
        assert not missing, f"rig tools missing: {missing} (ci/system-packages --test)"
        assert os.environ.get("DISPLAY"), "the rig's X display is not set (source $RIG/env)"
        self.tmp = tmp_path
        config = tmp_path / "config" / "captioner"
        config.mkdir(parents=True)
        (config / "captioner.conf").write_text(conf)
        self.data_dir = data_dir or tmp_path / "data"  # another run's: its next start
        self.log_file = tmp_path / "log" / "captioner.log"
        self.env = dict(os.environ, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(config.parent),
                        CAPTIONER_DATA_DIR=str(self.data_dir),
                        CAPTIONER_LOG_DIR=str(self.log_file.parent), PYTHONUNBUFFERED="1",
                        QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1", **env)
        self.env.pop("PYTHON_KEYRING_BACKEND", None)  # the rig's own (empty) gnome-keyring
        for var in ENV_VARS.values():  # keys only as the test gives them
            if var not in env:
                self.env.pop(var, None)
        self._out = open(tmp_path / "app.out", "w")  # closed in close()
        program = ["tests.e2e.overlay_probe", str(probe)] if probe else ["captioner"]
        self.proc = subprocess.Popen([python, "-m", *program, "gui", "--start"], cwd=REPO,
                                     env=self.env, stdout=self._out, stderr=subprocess.STDOUT)

    # -- what it logged -------------------------------------------------------------------

    def log(self) -> list[LogLine]:
        if not self.log_file.exists():
            return []
        lines = []
        for raw in self.log_file.read_text(errors="replace").splitlines():
            m = _LOG_LINE.match(raw)
            if m:
                when = dt.datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                lines.append(LogLine(when, m[2], m[4], m[5]))
        return lines

    def logged(self, pattern: str, after: float = 0.0) -> LogLine | None:
        """The first log line at or after ``after`` whose message matches ``pattern``."""
        rx = re.compile(pattern)
        return next((ln for ln in self.log() if ln.t >= after - 0.001 and rx.search(ln.message)),
                    None)

    def shown(self) -> list[Shown]:
        out = []
        for ln in self.log():
            m = _SHOWN.match(ln.message) if ln.logger.endswith("status_line") else None
            if m:
                out.append(Shown(ln.t, m[1], m[2], m[3]))
        return out

    def wait_shown(self, what: str, check: Callable[[Shown], bool], after: float = 0.0,
                   timeout_s: float = 60.0) -> Shown:
        """The first status painted at or after ``after`` that passes ``check``."""

        def find() -> Shown | None:
            assert self.proc.poll() is None, f"the app exited:\n{self.output()}"
            return next((s for s in self.shown() if s.t >= after - 0.001 and check(s)), None)

        return wait_for(f"the overlay to show {what} (shown so far: "
                        f"{[s.text for s in self.shown()][-5:]})", find, timeout_s, 0.1)

    def wait_logged(self, what: str, pattern: str, after: float = 0.0,
                    timeout_s: float = 60.0) -> LogLine:
        def find() -> LogLine | None:
            assert self.proc.poll() is None, f"the app exited:\n{self.output()}"
            return self.logged(pattern, after)

        return wait_for(what, find, timeout_s, 0.1)

    def output(self) -> str:
        self._out.flush()
        return (self.tmp / "app.out").read_text(errors="replace")[-4000:]

    # -- what is on screen ----------------------------------------------------------------

    def overlay(self) -> int:
        return wait_for("the caption overlay window",
                        lambda: window_ids(self.proc.pid, "^Captions$"), 30)[0]  # type: ignore

    def screenshot(self, name: str) -> Path:
        """The overlay as on screen (cropped from a root-window screenshot)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        return window_shot(self.overlay(), ARTIFACTS / f"{name}.png")

    def accessible_status(self) -> str | None:
        """The status line's accessible description, as a screen reader gets it (AT-SPI)."""
        bus = _a11y_bus()
        me = next((n for n in re.findall(r"':[\d.]+'", _gdbus(bus, "org.freedesktop.DBus",
                   "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames"))
                   if f"uint32 {self.proc.pid}," in _gdbus(
                       bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                       "org.freedesktop.DBus.GetConnectionUnixProcessID", n.strip("'"))), None)
        if me is None:
            return None
        name, todo, seen = me.strip("'"), ["/org/a11y/atspi/accessible/root"], 0
        while todo and seen < 400:
            path = todo.pop(0)
            seen += 1
            if _atspi_property(bus, name, path, "Name") == "Captioning status":
                return _atspi_property(bus, name, path, "Description")
            children = _gdbus(bus, name, path, "org.a11y.atspi.Accessible.GetChildren")
            todo += re.findall(r"'(/org/a11y/atspi/accessible/\d+)'", children)
        return None

    def key(self, keys: str) -> None:
        """Press ``keys`` in the overlay (e.g. the start/stop shortcut)."""
        overlay = self.overlay()
        subprocess.run(["xdotool", "windowactivate", "--sync", str(overlay)], check=False,
                       timeout=10, capture_output=True)
        subprocess.run(["xdotool", "key", "--window", str(overlay), keys], check=True,
                       timeout=10)

    def close(self) -> int | None:
        code = stop_app(self.proc)
        self._out.close()
        return code


def window_shot(window: int, shot: Path) -> Path:
    """``window`` as on screen (with whatever covers it), cropped from a root-window
    screenshot into ``shot``."""
    x, y, w, h = geometry(window)
    root = shot.with_suffix(".root.png")
    subprocess.run(["import", "-window", "root", str(root)], check=True, timeout=30)
    subprocess.run(["convert", str(root), "-crop", f"{w}x{h}+{x}+{y}", "+repage", str(shot)],
                   check=True, timeout=30)
    root.unlink()
    return shot


def _gdbus(bus: str, dest: str, path: str, method: str, *args: str) -> str:
    return subprocess.run(["gdbus", "call", "--address", bus, "--dest", dest, "--object-path",
                           path, "--method", method, *args], capture_output=True, text=True,
                          timeout=10, check=False).stdout


def _a11y_bus() -> str:
    out = subprocess.run(["gdbus", "call", "--session", "--dest", "org.a11y.Bus",
                          "--object-path", "/org/a11y/bus", "--method", "org.a11y.Bus.GetAddress"],
                         capture_output=True, text=True, timeout=10, check=True).stdout
    return out.strip().strip("(),'")


def _atspi_property(bus: str, name: str, path: str, prop: str) -> str:
    out = _gdbus(bus, name, path, "org.freedesktop.DBus.Properties.Get",
                 "org.a11y.atspi.Accessible", prop)
    m = re.match(r"^\(<'(.*)'>,\)$", out.strip(), re.S) or re.match(
        r'^\(<"(.*)">,\)$', out.strip(), re.S)
    return m.group(1) if m else ""


def ocr(image: Path) -> str:
    """The words tesseract reads in ``image``: scaled up, inverted and thresholded (light
    text on a dark or coloured band becomes black on white), read as sparse text."""
    big = image.with_suffix(".ocr.png")
    subprocess.run(["convert", str(image), "-resize", "300%", "-colorspace", "Gray", "-negate",
                    "-threshold", "55%", str(big)], check=True, timeout=30)
    out = subprocess.run(["tesseract", str(big), "-", "--psm", "11"], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    big.unlink()
    return " ".join(out.split())


def read_words(text: str) -> str:
    """Lower-case letters and digits only, single-spaced, with the letters OCR confuses
    (I, l, 1) made one: OCR compared loosely."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower().translate(_LOOKALIKE)))


_LOOKALIKE = str.maketrans({"l": "i", "1": "i", "|": "i"})


def color_share(image: Path, color: str, tolerance: int = 24) -> float:
    """Share of ``image``'s pixels within ``tolerance`` of ``color`` (per channel)."""
    from PySide6.QtGui import QColor, QImage

    img = QImage(str(image))
    want = QColor(color)
    hits = total = 0
    for y in range(0, img.height(), 2):
        for x in range(0, img.width(), 2):
            c = img.pixelColor(x, y)
            total += 1
            hits += (abs(c.red() - want.red()) <= tolerance
                     and abs(c.green() - want.green()) <= tolerance
                     and abs(c.blue() - want.blue()) <= tolerance)
    return hits / max(total, 1)


class FakesInThread:
    """A cloud protocol fake behind an :class:`OutageProxy`, on a loop in a thread of the
    test (the app in another process connects to ``url``); cut and restore the network."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.proxy = OutageProxy(0)  # its target is set once the fake listens
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self.loop.run_until_complete,
                                        args=(self._serve(),), name="fakes")

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with self.server:
            self.proxy.target_port = self.server.port
            async with self.proxy:
                self._ready.set()
                await self._stop.wait()

    @property
    def url(self) -> str:
        return self.proxy.url

    def call(self, coro: Any, timeout_s: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def cut(self, silent: bool = False) -> None:
        self.call(self.proxy.cut(silent))

    def restore(self) -> None:
        self.call(self.proxy.restore())

    def audio_ms(self, connection: int = 0) -> float:
        """Audio the fake has received on ``connection`` so far (ms)."""
        logs = self.server.connections
        if len(logs) <= connection:
            return 0.0
        return logs[connection].audio_ms


@contextmanager
def fakes_in_thread(server: FakeServer) -> Iterator[FakesInThread]:
    fakes = FakesInThread(server)
    fakes._thread.start()
    try:
        assert fakes._ready.wait(15), "the protocol fake did not start"
        yield fakes
    finally:
        if fakes._stop is not None:
            fakes.loop.call_soon_threadsafe(fakes._stop.set)
        fakes._thread.join(15)
        fakes.loop.close()
