"""Announcing new caption lines to screen readers (opt-in).

Qt 6.8+ has ``QAccessibleAnnouncementEvent``: screen readers (Orca via
AT-SPI, NVDA/JAWS/Narrator via UI Automation, VoiceOver) speak the message
without moving focus. Announcements are "polite" so they queue behind what
the reader is saying. Where the class is missing (older Qt), the target's
accessible description is updated instead, which readers that watch a live
region pick up.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject
from PySide6.QtGui import QAccessible

log = logging.getLogger(__name__)

try:
    from PySide6.QtGui import QAccessibleAnnouncementEvent
except ImportError:  # pragma: no cover - Qt < 6.8
    QAccessibleAnnouncementEvent = None  # type: ignore[assignment,misc]


def announce(target: QObject, text: str) -> bool:
    """Ask assistive technology to read ``text``; returns True if an announcement was sent."""
    text = text.strip()
    if not text:
        return False
    if QAccessibleAnnouncementEvent is not None:
        event = QAccessibleAnnouncementEvent(target, text)
        event.setPoliteness(QAccessible.AnnouncementPoliteness.Polite)
        QAccessible.updateAccessibility(event)
        return True
    set_description = getattr(target, "setAccessibleDescription", None)
    if set_description is not None:
        set_description(text)
    return False
