"""The one place that imports ``sounddevice``: a missing PortAudio becomes a clear message.

``import sounddevice`` raises ``OSError`` when the PortAudio shared library is not
installed (Linux wheels don't bundle it). Every module that needs sounddevice
calls :func:`import_sounddevice`, which turns that into a :class:`UserFacingError`
naming the package to install on the user's system.
"""

from __future__ import annotations

import logging
import sys
from types import ModuleType

from captioner.errors import UserFacingError

log = logging.getLogger(__name__)


class PortAudioMissing(UserFacingError):
    """The PortAudio library could not be loaded."""


def install_hint(platform: str | None = None) -> str:
    """How to install PortAudio on ``platform`` (``sys.platform`` by default)."""
    platform = platform or sys.platform
    if platform == "darwin":
        return "Install it with Homebrew: brew install portaudio"
    if platform.startswith("win"):
        return ("Reinstall captioner: on Windows, PortAudio ships inside the sounddevice "
                "package (pip install --force-reinstall sounddevice).")
    return ("Install it with your package manager: Debian/Ubuntu: sudo apt install libportaudio2; "
            "Fedora: sudo dnf install portaudio; Arch: sudo pacman -S portaudio")


def import_sounddevice() -> ModuleType:
    """``import sounddevice``, or a :class:`PortAudioMissing` that says what to install.

    Raises:
        PortAudioMissing: the PortAudio shared library is not installed.
    """
    try:
        import sounddevice
    except OSError as exc:
        log.info("sounddevice import failed: %s", exc)
        raise PortAudioMissing("Audio capture needs the PortAudio library, which is not "
                               f"installed. {install_hint()}") from exc
    return sounddevice
