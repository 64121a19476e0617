"""Keeping a window out of screen sharing and recordings, where the OS offers it.

* Windows 10 2004+: ``SetWindowDisplayAffinity(hwnd, WDA_EXCLUDEFROMCAPTURE)``
  (through ctypes). The window stays visible to the user; captures show nothing
  there.
* macOS: ``[NSWindow setSharingType:NSWindowSharingNone]`` through the
  Objective-C runtime with ctypes (no PyObjC). Honoured by the legacy capture
  APIs; ScreenCaptureKit-based recorders on macOS 15+ may still show it.
* X11 and Wayland: not possible. Any client may read the screen on X11, and
  Wayland compositors give apps no such flag. The function says so.
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

WDA_NONE = 0x0
WDA_EXCLUDEFROMCAPTURE = 0x11
NS_WINDOW_SHARING_NONE = 0
NS_WINDOW_SHARING_READ_ONLY = 1

UNSUPPORTED = ("This system can't hide a window from screen sharing: on Linux (X11 or Wayland) "
               "any screen capture shows the captions. Hide the overlay before sharing "
               "your screen if others shouldn't see them.")


def supported(platform: str | None = None) -> bool:
    platform = platform or sys.platform
    return platform.startswith("win") or platform == "darwin"


def set_hidden_from_capture(widget: QWidget, hidden: bool) -> tuple[bool, str]:
    """Ask the OS to leave ``widget``'s window out of (or back in) screen captures.

    Returns:
        (done, message): message explains a failure or an unsupported platform.
    """
    if not supported():
        return False, UNSUPPORTED if hidden else ""
    window_id = int(widget.winId())
    try:
        if sys.platform.startswith("win"):
            return _windows(window_id, hidden)
        return _macos(window_id, hidden)
    except (OSError, AttributeError, ValueError) as exc:
        log.warning("hiding from capture failed: %s", exc)
        return False, "The system refused to hide the captions from screen sharing."


def _windows(hwnd: int, hidden: bool) -> tuple[bool, str]:
    user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
    user32.SetWindowDisplayAffinity.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    user32.SetWindowDisplayAffinity.restype = ctypes.c_int
    ok = user32.SetWindowDisplayAffinity(ctypes.c_void_p(hwnd),
                                         WDA_EXCLUDEFROMCAPTURE if hidden else WDA_NONE)
    if not ok:
        err = ctypes.get_last_error()  # type: ignore[attr-defined]
        log.warning("SetWindowDisplayAffinity failed: error %s", err)
        return False, ("Windows refused to hide the captions from screen sharing "
                       "(needs Windows 10 version 2004 or newer).")
    return True, ""


def _macos(nsview: int, hidden: bool) -> tuple[bool, str]:
    objc = ctypes.cdll.LoadLibrary("/usr/lib/libobjc.A.dylib")
    objc.sel_registerName.restype = ctypes.c_void_p
    objc.sel_registerName.argtypes = [ctypes.c_char_p]
    send = objc.objc_msgSend
    send.restype = ctypes.c_void_p
    send.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    window = send(ctypes.c_void_p(nsview), objc.sel_registerName(b"window"))
    if not window:
        return False, "The captions window isn't ready yet; try again."
    set_sharing = ctypes.cast(objc.objc_msgSend, ctypes.CFUNCTYPE(
        None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulong))
    set_sharing(window, objc.sel_registerName(b"setSharingType:"),
                NS_WINDOW_SHARING_NONE if hidden else NS_WINDOW_SHARING_READ_ONLY)
    return True, ""
