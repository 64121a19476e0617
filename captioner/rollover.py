"""De-duplication by time for an overlapping session rollover: which words each session keeps.

Before a vendor's session cap, :class:`~captioner.stream.VendorStream` opens
the next vendor session while the current one is still running and sends the
live audio to both (no gap, no catch-up: the new session starts at the live
position). The two sessions then hear the same speech for a while, so their
finals would say it twice. The boundary is the end of the first final of the
old session that reaches past where the new session's audio starts — a
point where the old session's recognizer itself ended an utterance:

* the old session keeps its finals up to that boundary (everything after it
  is dropped, and the old session is ended);
* the new session keeps only the words that *start* at or after it (its
  first words, cut in the middle of an utterance, are dropped);

so every spoken word, having one start time, is kept exactly once. If the old
session delivers no such final before the cap, it is told to finalize and
end, and the boundary is the end of its last final (or where the new
session's audio starts, if later).

The new session's finals are held back until the boundary is known (the old
session's captions are on screen meanwhile, so nothing is late for the
reader) and its partials are not shown until then.
"""

from __future__ import annotations

from dataclasses import replace

from captioner.providers.base import Final, Partial

Hypothesis = Partial | Final


def overlap_window_s(cap_s: float, overlap_s: float) -> float:
    """How long before the cap the next session is opened (at most half the session)."""
    return min(overlap_s, cap_s / 2)


def keep_from(event: Hypothesis, offset_ms: int, floor_ms: int) -> Hypothesis | None:
    """The part of ``event`` (times relative to ``offset_ms``) that starts at or after
    ``floor_ms`` (session time); None if nothing is left.

    With word timings, words are kept by their start. Without them, a final is kept
    whole if most of its span is past the floor; a partial if any of it is.
    """
    floor_rel = floor_ms - offset_ms
    if event.start_ms >= floor_rel:
        return event
    if not event.words:
        if isinstance(event, Partial):
            return event if event.end_ms > floor_rel else None
        return event if (event.start_ms + event.end_ms) / 2 >= floor_rel else None
    words = tuple(w for w in event.words if w.start_ms >= floor_rel)
    if not words:
        return None
    if len(words) == len(event.words):
        return event
    text = " ".join(w.text for w in words)
    return replace(event, text=text, start_ms=words[0].start_ms, words=words)
