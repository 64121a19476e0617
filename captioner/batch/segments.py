"""Turn a vendor's word list into transcript segments: one sentence (or speaker turn) each.

Batch transcripts come as long speaker turns (Rev's monologues, AssemblyAI's
utterances) or a flat word list. The transcript model, the TXT export (one
line a segment) and the cue builder all work best with sentence-sized finals,
so words are grouped here the same way for every vendor: a new segment starts
when the speaker changes, after a pause, after a sentence ends once the
segment has a few words, and before it grows past a hard cap.
"""

from __future__ import annotations

from collections.abc import Iterable

from captioner.providers.base import Word
from captioner.transcript.model import Segment

PAUSE_MS = 1_500
MAX_SEGMENT_MS = 20_000
MAX_SEGMENT_WORDS = 60
MIN_SENTENCE_WORDS = 3
SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")
_CLOSERS = "\"')]}»”’"


def _ends_sentence(text: str) -> bool:
    return text.rstrip(_CLOSERS).endswith(SENTENCE_END)


def segments_from_words(words: Iterable[Word], source: str = "mic",
                        id_prefix: str | None = None) -> tuple[Segment, ...]:
    """Group ``words`` (in time order, text already punctuated) into final segments.

    Args:
        words: the vendor's words; empty texts are skipped.
        source: the segments' source (``"mic"``/``"system"``).
        id_prefix: segment ids are ``f"{id_prefix}-{n}"`` (default: the source).
    """
    prefix = id_prefix or source
    segments: list[Segment] = []
    current: list[Word] = []

    def flush() -> None:
        if not current:
            return
        speaker = current[0].speaker
        segments.append(Segment(
            id=f"{prefix}-{len(segments) + 1}",
            text=" ".join(w.text for w in current),
            start_ms=current[0].start_ms,
            end_ms=max(current[-1].end_ms, current[0].start_ms),
            speaker=speaker,
            source=source,
            words=tuple(current),
            is_final=True,
        ))
        current.clear()

    for word in words:
        word_text = word.text.strip()
        if not word_text:
            continue
        if current:
            last = current[-1]
            if (word.speaker != last.speaker
                    or word.start_ms - last.end_ms >= PAUSE_MS
                    or (_ends_sentence(last.text) and len(current) >= MIN_SENTENCE_WORDS)
                    or word.end_ms - current[0].start_ms > MAX_SEGMENT_MS
                    or len(current) >= MAX_SEGMENT_WORDS):
                flush()
        current.append(word if word.text == word_text else Word(
            word_text, word.start_ms, word.end_ms, word.confidence, word.speaker))
    flush()
    return tuple(segments)
