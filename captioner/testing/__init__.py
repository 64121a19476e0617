"""Fake speech-vendor servers for tests and the demo mode (importable without pytest).

Each ``fake_<vendor>`` module holds a real WebSocket server on ``127.0.0.1``
that enforces that vendor's documented rules and replies with its real message
shapes; :mod:`captioner.testing.fakes` holds the shared machinery and the
script vocabulary (:class:`Utterance`, :class:`Send`, :class:`Notice`,
:class:`Fail`, :class:`Close`, :class:`Drop`).
"""

from captioner.testing.fakes import (
    Close,
    ConnectionLog,
    Drop,
    Fail,
    FakeServer,
    FrameLog,
    Notice,
    Send,
    Utterance,
)

__all__ = [
    "Close",
    "ConnectionLog",
    "Drop",
    "Fail",
    "FakeServer",
    "FrameLog",
    "Notice",
    "Send",
    "Utterance",
]
