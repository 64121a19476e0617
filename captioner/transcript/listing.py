"""What a saved session's line in the history says, in words (the app's Past sessions and
``captioner sessions`` alike): the providers it actually ran on, its status, whether it is
worth listing, and whether it matches a search.

Sessions with no words (started and stopped before anyone spoke) stay on disk until the
retention setting prunes them, but are not listed.
"""

from __future__ import annotations

import logging

from captioner.transcript.store import SessionSummary, load_session
from captioner.vendors import title as vendor_title

log = logging.getLogger(__name__)

ROLE_WORDS = {"fallback": "fallback", "standby": "while reconnecting"}


def providers_text(used: tuple[tuple[str, str], ...]) -> str:
    """``"Deepgram → Offline engine (fallback)"`` from ``SessionSummary.providers``; the chosen
    provider alone when it did it all."""
    if not used:
        return "?"
    parts = []
    for provider, role in used:
        word = ROLE_WORDS.get(role, role)
        parts.append(f"{vendor_title(provider)} ({word})" if word else vendor_title(provider))
    return " → ".join(parts)


STATES = {"live": "In progress", "recovered": "Recovered after a crash", "complete": "Complete",
          "unfinished": "Unfinished (the app stopped; recovered when opened or exported)"}


def state_of(summary: SessionSummary) -> str:
    """``"live"``, ``"recovered"``, ``"complete"`` or ``"unfinished"`` (the CLI's words)."""
    if summary.live:
        return "live"
    if summary.recovered:
        return "recovered"
    return "complete" if summary.ended else "unfinished"


def extras_of(summary: SessionSummary) -> list[str]:
    """``["recorded", "improved"]``, what it has besides its live captions."""
    return [what for what, yes in (("recorded", summary.recorded),
                                   ("improved", summary.improved)) if yes]


def status_text(summary: SessionSummary) -> str:
    """``"Complete"``, ``"In progress"``, ``"Recovered after a crash · Improved"``, …"""
    extras = extras_of(summary)
    state = STATES[state_of(summary)]
    return f"{state} · {extras[-1].capitalize()}" if extras else state


def listed(summaries: list[SessionSummary]) -> tuple[list[SessionSummary], int]:
    """The sessions worth listing (with words, or in progress) and how many were left out."""
    shown = [s for s in summaries if s.word_count > 0 or s.live]
    return shown, len(summaries) - len(shown)


def session_text(summary: SessionSummary) -> str:
    """Everything a search looks at: its title or input file and its transcript."""
    try:
        record = load_session(summary.path)
    except OSError as exc:
        log.info("can't read %s for a search: %s", summary.path, exc)
        return ""
    meta = record.meta
    head = " ".join(str(meta.get(k) or "") for k in ("title", "input"))
    return " ".join([head, *(seg.text for seg in record.segments)])


def matches(query: str, *texts: str) -> bool:
    """Whether every word of ``query`` is in one of ``texts`` (case-insensitive)."""
    haystack = " ".join(texts).casefold()
    return all(word in haystack for word in query.casefold().split())
