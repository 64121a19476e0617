"""Start captioner at login, already captioning (``captioner --start``).

Linux and other XDG desktops: a ``captioner.desktop`` entry in
``$XDG_CONFIG_HOME/autostart`` (``~/.config/autostart``), the freedesktop
Autostart spec that GNOME, KDE, Xfce, Cinnamon and MATE follow. Elsewhere
(Windows, macOS) it is not implemented yet: :func:`set_enabled` does nothing
and returns a message saying how to do it by hand. No Qt here.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "captioner.desktop"


def supported(platform: str | None = None) -> bool:
    platform = platform or sys.platform
    return not (platform.startswith("win") or platform == "darwin")


def autostart_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    config = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart"


def entry_path(environ: dict[str, str] | None = None) -> Path:
    return autostart_dir(environ) / FILE_NAME


def command() -> list[str]:
    """What to run at login: this bundle, the installed ``captioner`` script, else this Python."""
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: its binary is the CLI
        return [sys.executable, "--start"]
    exe = shutil.which("captioner")
    if exe:
        return [exe, "--start"]
    return [sys.executable, "-m", "captioner", "--start"]


def icon() -> str:
    """The app icon by absolute path (a pip install puts nothing in the icon theme)."""
    path = Path(__file__).resolve().parent / "resources" / "icons" / "captioner-256.png"
    return str(path) if path.exists() else "captioner"


def desktop_entry(argv: list[str] | None = None) -> str:
    exec_line = " ".join(_quote(arg) for arg in (argv or command()))
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=captioner\n"
        "GenericName=Live captions\n"
        "Comment=Real-time live captions over any window\n"
        f"Exec={exec_line}\n"
        f"Icon={icon()}\n"
        "Terminal=false\n"
        "Categories=Utility;Accessibility;AudioVideo;\n"
        "X-GNOME-Autostart-enabled=true\n"
        "X-GNOME-Autostart-Delay=3\n"
    )


def _quote(arg: str) -> str:
    # the Exec key's quoting: like the shell's double quotes, with % doubled
    arg = arg.replace("%", "%%")
    if not arg or any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return '"' + arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`") \
            .replace("$", "\\$") + '"'
    return arg


def is_enabled(environ: dict[str, str] | None = None) -> bool:
    return supported() and entry_path(environ).is_file()


def unsupported_message() -> str:
    """What to do by hand where start at login isn't automatic."""
    where = ("Settings → Apps → Startup (or a shortcut to `captioner --start` in "
             "shell:startup)" if sys.platform.startswith("win")
             else "System Settings → General → Login Items (add captioner)")
    return f"Start at login isn't automatic on this system yet. Add it in {where}."


def set_enabled(enabled: bool, environ: dict[str, str] | None = None) -> str:
    """Turn start-at-login on or off.

    Returns:
        "" when done; otherwise a message for the user (unsupported platform,
        or the folder isn't writable). Never raises.
    """
    if not supported():
        return unsupported_message() if enabled else ""
    path = entry_path(environ)
    try:
        if enabled:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(desktop_entry(), encoding="utf-8")
            os.replace(tmp, path)
            log.info("start at login: wrote %s", path)
        else:
            path.unlink(missing_ok=True)
            log.info("start at login: removed %s", path)
    except OSError as exc:
        log.warning("start at login: %s", exc)
        return f"Couldn't change start at login ({exc.strerror or exc}) in {path.parent}."
    return ""
