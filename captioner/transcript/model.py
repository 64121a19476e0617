"""The session transcript: immutable final segments and one live partial per source.

Pure (no Qt, no I/O). Providers' events are turned into :class:`Segment` objects
by :meth:`Transcript.apply`; a new partial replaces the old one for its source,
a final is inserted in time order and clears that source's partial. Finals are
never changed once added. Gaps record stretches of audio that never reached the
recognizer (dropped connection, overflow), so exports can mark them.

Live translations are kept per target language beside the finals: a partial
translation replaces the previous one of its source and language, a final one
is appended. They arrive separately and later than the finals they translate
and are tied to them by time (:func:`attach_translations`).
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from captioner.providers.base import (
    Event,
    Final,
    FinalTranslation,
    Partial,
    TranslationEvent,
    Word,
)

SOURCES = ("mic", "system")
SOURCE_LABELS = {"mic": "Me", "system": "Others"}


@dataclass(frozen=True)
class Segment:
    """One caption segment.

    Attributes:
        id: unique within the transcript (``"mic-3"``).
        text: the words, punctuated as the provider gave them.
        start_ms, end_ms: times in ms from the session start.
        speaker: the vendor's speaker label, if any (``"S1"``).
        source: ``"mic"`` or ``"system"``.
        words: per-word timing when the provider gives it.
        is_final: False for the live partial.
        language: the language it was recognised in, when the provider says (``"es"``).
    """

    id: str
    text: str
    start_ms: int
    end_ms: int
    speaker: str | None = None
    source: str = "mic"
    words: tuple[Word, ...] = ()
    is_final: bool = True
    language: str | None = None


@dataclass(frozen=True)
class Gap:
    """Audio that could not be delivered to the recognizer."""

    start_ms: int
    end_ms: int
    source: str = "mic"
    reason: str = ""


@dataclass(frozen=True)
class Translation:
    """Translated text for a stretch of one source's speech.

    Attributes:
        language: the target language code (``"es"``).
        text: the translation; ``""`` on a partial means "no partial any more".
        start_ms, end_ms: the span of source audio it translates (session time).
        source: ``"mic"`` or ``"system"``.
        speaker: the vendor's speaker label, if any.
        is_final: False for a live partial translation.
    """

    language: str
    text: str
    start_ms: int
    end_ms: int
    source: str = "mic"
    speaker: str | None = None
    is_final: bool = True


@dataclass(frozen=True)
class Change:
    """What one :meth:`Transcript.apply` did, for views to redraw cheaply.

    Attributes:
        segment: the partial or final that changed, or None if nothing did.
        index: for a final, its position in :attr:`Transcript.finals`.
        cleared_partial: the source whose partial was removed, if any.
        translation: a translation that arrived (a partial one replaces the
            partial of its source and language).
    """

    segment: Segment | None = None
    index: int | None = None
    cleared_partial: str | None = None
    translation: Translation | None = None


def _shift_words(words: Iterable[Word], offset_ms: int) -> tuple[Word, ...]:
    if not offset_ms:
        return tuple(words)
    return tuple(
        replace(w, start_ms=w.start_ms + offset_ms, end_ms=w.end_ms + offset_ms) for w in words
    )


class Transcript:
    """Finals in time order plus at most one partial per source.

    Thread-safe for one writer and many readers: readers get tuples.
    """

    def __init__(self) -> None:
        self._finals: list[Segment] = []
        self._keys: list[tuple[int, int]] = []  # (start_ms, seq) parallel to _finals
        self._partials: dict[str, Segment] = {}
        self._gaps: list[Gap] = []
        self._translations: list[Translation] = []  # finals, by start_ms
        self._partial_translations: dict[tuple[str, str], Translation] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def finals(self) -> tuple[Segment, ...]:
        with self._lock:
            return tuple(self._finals)

    @property
    def partials(self) -> dict[str, Segment]:
        with self._lock:
            return dict(self._partials)

    @property
    def gaps(self) -> tuple[Gap, ...]:
        with self._lock:
            return tuple(self._gaps)

    @property
    def translations(self) -> tuple[Translation, ...]:
        """Final translations of every language, by start time."""
        with self._lock:
            return tuple(self._translations)

    @property
    def partial_translations(self) -> dict[tuple[str, str], Translation]:
        """``{(source, language): partial translation}``."""
        with self._lock:
            return dict(self._partial_translations)

    @property
    def languages(self) -> tuple[str, ...]:
        """Target languages with a final translation, in order of first arrival."""
        with self._lock:
            return tuple(dict.fromkeys(t.language for t in self._translations))

    def __len__(self) -> int:
        return len(self._finals)

    def apply(self, event: Event, source: str = "mic", offset_ms: int = 0) -> Change:
        """Apply a provider event; other event types change nothing.

        Args:
            event: a ``Partial`` or ``Final`` (others are ignored).
            source: which audio stream it came from.
            offset_ms: added to the event's times (vendor session start in
                transcript time, so reconnects stay continuous).
        """
        if isinstance(event, Partial):
            if not event.text.strip():
                return self.clear_partial(source)
            seg = Segment(
                id=f"{source}-partial",
                text=event.text.strip(),
                start_ms=event.start_ms + offset_ms,
                end_ms=event.end_ms + offset_ms,
                speaker=event.speaker,
                source=source,
                words=_shift_words(event.words, offset_ms),
                is_final=False,
                language=event.language,
            )
            with self._lock:
                self._partials[source] = seg
            return Change(segment=seg)
        if isinstance(event, Final):
            text = event.text.strip()
            if not text:
                return self.clear_partial(source)
            seg = Segment(
                id=f"{source}-{next(self._ids)}",
                text=text,
                start_ms=event.start_ms + offset_ms,
                end_ms=max(event.end_ms, event.start_ms) + offset_ms,
                speaker=event.speaker,
                source=source,
                words=_shift_words(event.words, offset_ms),
                is_final=True,
                language=event.language,
            )
            return self.add_final(seg)
        if isinstance(event, TranslationEvent):
            return self.add_translation(Translation(
                language=event.language,
                text=event.text.strip(),
                start_ms=event.start_ms + offset_ms,
                end_ms=max(event.end_ms, event.start_ms) + offset_ms,
                source=source,
                speaker=event.speaker,
                is_final=isinstance(event, FinalTranslation),
            ))
        return Change()

    def add_translation(self, tr: Translation) -> Change:
        """Append a final translation (in time order) or replace a partial one.

        A final translation also drops its language's partial when the final
        reaches as far, so the same words are never shown twice; one equal to a
        translation already kept (replayed audio after a reconnect) is dropped.
        """
        key = (tr.source, tr.language)
        with self._lock:
            if not tr.is_final:
                if tr.text:
                    self._partial_translations[key] = tr
                else:
                    self._partial_translations.pop(key, None)
                return Change(translation=tr)
            if not tr.text:
                return Change()
            starts = [t.start_ms for t in self._translations]
            same_start = self._translations[bisect.bisect_left(starts, tr.start_ms):
                                            bisect.bisect_right(starts, tr.start_ms)]
            if tr in same_start:
                return Change()  # the vendor translated replayed audio again after a reconnect
            index = bisect.bisect_right(starts, tr.start_ms)
            self._translations.insert(index, tr)
            partial = self._partial_translations.get(key)
            if partial is not None and partial.end_ms <= tr.end_ms:
                del self._partial_translations[key]
        return Change(translation=tr)

    def add_final(self, seg: Segment) -> Change:
        """Insert a final segment in time order and clear its source's partial."""
        with self._lock:
            key = (seg.start_ms, len(self._keys))
            index = bisect.bisect_right(self._keys, key)
            self._keys.insert(index, key)
            self._finals.insert(index, seg)
            cleared = seg.source if self._partials.pop(seg.source, None) else None
        return Change(segment=seg, index=index, cleared_partial=cleared)

    def clear_partial(self, source: str) -> Change:
        with self._lock:
            had = self._partials.pop(source, None)
        return Change(cleared_partial=source if had else None)

    def add_gap(self, gap: Gap) -> None:
        with self._lock:
            self._gaps.append(gap)
            self._gaps.sort(key=lambda g: g.start_ms)

    def translated_segments(self, language: str) -> tuple[Segment, ...]:
        """The final translations into ``language`` as segments (for caption files)."""
        return translation_segments(self.translations, language)

    def text(self) -> str:
        """All final text, one segment a line."""
        return "\n".join(s.text for s in self.finals)

    def word_count(self) -> int:
        return sum(len(s.text.split()) for s in self.finals)


def translation_segments(translations: Iterable[Translation], language: str) -> tuple[Segment, ...]:
    """Final translations into ``language`` as final segments, by start time."""
    chosen = sorted((t for t in translations if t.language == language and t.is_final),
                    key=lambda t: t.start_ms)
    return tuple(
        Segment(id=f"{t.source}-{language}-{n}", text=t.text, start_ms=t.start_ms,
                end_ms=t.end_ms, speaker=t.speaker, source=t.source)
        for n, t in enumerate(chosen, start=1)
    )


class Timed(Protocol):
    """Anything with a start time (segments, the overlay's caption entries)."""

    @property
    def start_ms(self) -> int: ...


def owner_index(segments: Sequence[Timed], start_ms: int) -> int:
    """Among one source's segments in time order (not empty), the index of the one a
    translation starting at ``start_ms`` goes under: the last that started at or
    before it, else the first."""
    return max(0, bisect.bisect_right(segments, start_ms, key=lambda s: s.start_ms) - 1)


def attach_translations(
    segments: Iterable[Segment], translations: Iterable[Translation]
) -> dict[str, dict[str, str]]:
    """Which segment each translation goes under: ``{segment id: {language: text}}``.

    A translation belongs to the segment of its source that started last at
    or before the translation's start (the sentence's first word), or to the
    source's first segment if it starts earlier. Several translations under
    one segment are joined with a space, in time order.
    """
    by_source: dict[str, list[Segment]] = {}
    for seg in sorted(segments, key=lambda s: s.start_ms):
        by_source.setdefault(seg.source, []).append(seg)
    out: dict[str, dict[str, str]] = {}
    for tr in sorted(translations, key=lambda t: t.start_ms):
        segs = by_source.get(tr.source)
        if not segs or not tr.text:
            continue
        langs = out.setdefault(segs[owner_index(segs, tr.start_ms)].id, {})
        langs[tr.language] = f"{langs[tr.language]} {tr.text}" if tr.language in langs else tr.text
    return out
