"""Workarounds for bugs in the Qt bindings, applied once by :func:`captioner.app.run_app`
before the QApplication exists.

PySide6 6.12.0 on CPython 3.11: methods returning ``void`` (``QWidget.update``,
``QPainter.fillPath``, ``QTextLine.setPosition``, …) hand back ``None``
without a new reference, and a few others drop a reference to ``True`` /
``False``. Python 3.12+ doesn't care (PEP 683 made them immortal), but on
3.11 each such call lowers their reference count until the interpreter aborts
with "none_dealloc: deallocating None" (or bool_dealloc) — after a few thousand
calls, i.e. within minutes of live captions. Verified here: 6.11.3 on the same
Python has no such leak. The real fix is a PySide6 without the bug (pin
``PySide6-Essentials<6.12`` or run on Python 3.12+); until then the counts of
the three singletons are raised far beyond anything a process can use up.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

HEADROOM = 1 << 40  # references; ~10^12 leaked calls
_applied = False


def affected(pyside_version: str, python: tuple[int, int] = sys.version_info[:2]) -> bool:
    return python < (3, 12) and pyside_version.startswith("6.12.")


def pin_singletons() -> bool:
    """Apply the workaround where needed; returns True if it was applied (now or before)."""
    global _applied
    if _applied:
        return True
    import PySide6

    if not affected(PySide6.__version__) or sys.implementation.name != "cpython":
        return False
    import ctypes

    # WORKAROUND PySide6 6.12.0 + CPython 3.11 returns Py_None without Py_INCREF (see above).
    # NB: on CPython < 3.12 ob_refcnt is the first field of every object.
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += HEADROOM
    _applied = True
    log.info("PySide6 %s on Python %s: applied the None/bool reference-count workaround",
             PySide6.__version__, sys.version.split()[0])
    return True
