"""The small interface between the offline recognizer and the engine server.

A recognizer is fed 16 kHz mono s16le PCM in arbitrary-size blocks and returns
hypotheses: partials (may change; each replaces the previous one) and finals
(fixed; the partial is cleared). Times are ms from the first sample fed. It is
not thread-safe: one recognizer serves one session, driven from one thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from captioner.providers.base import Word


class ModelUnavailableError(RuntimeError):
    """A speech model is missing, unknown or does not match its checksum; says what to install."""


@dataclass(frozen=True)
class Hypothesis:
    """A recognizer result.

    Attributes:
        text: punctuated, cased text as the model gives it.
        start_ms, end_ms: span of audio it covers, from the first sample fed.
        words: per-word times when the model gives them.
        is_final: True when this text will not change.
        language: the language it was recognized in.
    """

    text: str
    start_ms: int
    end_ms: int
    words: tuple[Word, ...] = ()
    is_final: bool = False
    language: str = "en"


class Recognizer(Protocol):
    """Streaming speech recognizer."""

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        """Feed audio; return any new partial/final hypotheses (in order)."""
        ...

    def finish(self) -> list[Hypothesis]:
        """End of stream: finalize whatever is pending and return the finals."""
        ...
