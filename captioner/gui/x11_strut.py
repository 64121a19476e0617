"""Reserving a band of the screen for the docked overlay on X11 (EWMH struts).

(And one question Qt can't answer on X11 either: is a mouse button held while the
window manager moves a window, :func:`button_held`.)

A window with ``_NET_WM_STRUT_PARTIAL`` (and the older ``_NET_WM_STRUT``) asks
the window manager to keep other windows out of a band along a screen edge:
maximized windows then end above (or below) the captions instead of under
them, and ``_NET_WORKAREA`` shrinks. Typed ``_NET_WM_WINDOW_TYPE_DOCK`` it is
treated like a panel. Qt has no API for either, so this sets the properties
through Xlib (``libX11`` via ctypes) on the overlay's native window. Anywhere
else (Wayland, Windows, macOS, no libX11) :func:`supported` is False and the
overlay just sits at the edge without reserving space.

Call :func:`set_dock_type` before the window is mapped (window managers read
the type when a window appears) and :func:`set_strut` whenever its place or
size changes. This opens its own X connection (Qt's is not reachable from
Python); each change is synchronous, so it is on the window before Qt's next
request.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os

log = logging.getLogger(__name__)

_XA_ATOM = 4
_XA_CARDINAL = 6
_PROP_MODE_REPLACE = 0
_ALL_DESKTOPS = 0xFFFFFFFF
_BUTTONS_MASK = 0x1F00  # Button1Mask ... Button5Mask


@functools.cache
def _xlib() -> tuple[ctypes.CDLL, int] | None:
    """libX11 and our own display connection, or None where there is no X11."""
    if not os.environ.get("DISPLAY"):
        return None
    name = ctypes.util.find_library("X11")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.XOpenDisplay.restype = ctypes.c_void_p
    lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    lib.XInternAtom.restype = ctypes.c_ulong
    lib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.XChangeProperty.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong,
                                    ctypes.c_ulong, ctypes.c_int, ctypes.c_int,
                                    ctypes.c_void_p, ctypes.c_int]
    lib.XDeleteProperty.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    lib.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.XDefaultRootWindow.restype = ctypes.c_ulong
    lib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    pointer = ctypes.c_void_p
    lib.XQueryPointer.argtypes = [pointer, ctypes.c_ulong, pointer, pointer, pointer, pointer,
                                  pointer, pointer, pointer]
    display = lib.XOpenDisplay(None)
    if not display:
        log.info("can't open the X display for struts")
        return None
    return lib, display


def supported() -> bool:
    """Whether struts can be set here (an X11 session with libX11)."""
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.platformName() == "xcb" and _xlib() is not None


def _atom(lib: ctypes.CDLL, display: int, name: str) -> int:
    return int(lib.XInternAtom(display, name.encode("ascii"), 0))


def _set_longs(window: int, prop: str, kind: int, values: list[int]) -> None:
    x = _xlib()
    if x is None:
        return
    lib, display = x
    array = (ctypes.c_long * len(values))(*values)
    lib.XChangeProperty(display, window, _atom(lib, display, prop), kind, 32,
                        _PROP_MODE_REPLACE, ctypes.cast(array, ctypes.c_void_p), len(values))
    # NB: a round trip, not a flush: this is another connection than Qt's, and the
    # property must be on the window before Qt's next request (the map) is handled
    lib.XSync(display, 0)


def strut_values(edge: str, band_px: int, left_px: int, right_px: int) -> list[int]:
    """The 12 ``_NET_WM_STRUT_PARTIAL`` cardinals for a band along the top or bottom edge.

    Args:
        edge: "top" or "bottom" (of the whole X screen, as EWMH measures).
        band_px: the band's height from that edge.
        left_px, right_px: the band's first and last x (inclusive).
    """
    values = [0] * 12
    if band_px <= 0:
        return values
    if edge == "top":
        values[2], values[8], values[9] = band_px, left_px, right_px
    else:
        values[3], values[10], values[11] = band_px, left_px, right_px
    return values


def set_strut(window: int, edge: str, band_px: int, left_px: int, right_px: int) -> bool:
    """Reserve (``band_px`` > 0) or release (0) a band along ``edge`` for ``window``."""
    x = _xlib()
    if x is None or not window:
        return False
    values = strut_values(edge, band_px, left_px, right_px)
    if band_px <= 0:
        lib, display = x
        for prop in ("_NET_WM_STRUT_PARTIAL", "_NET_WM_STRUT"):
            lib.XDeleteProperty(display, window, _atom(lib, display, prop))
        lib.XSync(display, 0)
        return True
    _set_longs(window, "_NET_WM_STRUT_PARTIAL", _XA_CARDINAL, values)
    _set_longs(window, "_NET_WM_STRUT", _XA_CARDINAL, values[:4])
    log.info("strut: %d px at the %s, x %d–%d", band_px, edge, left_px, right_px)
    return True


def button_held() -> bool:
    """Whether a mouse button is down now: the window manager may be moving or resizing
    the window (it has the pointer, so the window sees no release)."""
    x = _xlib()
    if x is None:
        return False
    lib, display = x
    root, child = ctypes.c_ulong(), ctypes.c_ulong()
    ints = [ctypes.c_int() for _ in range(4)]
    mask = ctypes.c_uint()
    lib.XQueryPointer(display, lib.XDefaultRootWindow(display), ctypes.byref(root),
                      ctypes.byref(child), *(ctypes.byref(i) for i in ints), ctypes.byref(mask))
    return bool(mask.value & _BUTTONS_MASK)


def set_dock_type(window: int, dock: bool) -> bool:
    """Type the window as a dock (a panel) or as the utility window Qt makes it."""
    x = _xlib()
    if x is None or not window:
        return False
    lib, display = x
    name = "_NET_WM_WINDOW_TYPE_DOCK" if dock else "_NET_WM_WINDOW_TYPE_UTILITY"
    _set_longs(window, "_NET_WM_WINDOW_TYPE", _XA_ATOM, [_atom(lib, display, name)])
    if dock:  # a panel is on every desktop, and reserves its band on each
        _set_longs(window, "_NET_WM_DESKTOP", _XA_CARDINAL, [_ALL_DESKTOPS])
    else:
        lib.XDeleteProperty(display, window, _atom(lib, display, "_NET_WM_DESKTOP"))
        lib.XSync(display, 0)
    return True
