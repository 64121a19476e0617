"""Caption lines: which consecutive finals read as one line, for every view and export.

Providers commit words in small finals (the offline engine and Speechmatics
send a few stable words at a time), so one final a line would show
"prudently in his / power to do / for them." as three lines. The transcript
keeps the finals as they arrived (immutable segments); views and exports group
them into lines with :func:`joins`, one rule for all of them:

a final continues the line before it when it is the same source, speaker and
language, the line does not end a sentence, the pause between them is at most
:data:`PAUSE_MS`, and the line stays short enough to read: past
:data:`SOFT_LINE_CHARS` it ends at the next clause end (a comma), and it never
passes :data:`MAX_LINE_CHARS`. A final that continues a line and ends a
sentence before its last word (the engine commits "was. He might") gives the
line the words through that sentence end; the rest starts the next line
(:func:`continue_line`). A final that starts a line is split only to start an
unfinished last sentence on a line of its own ("Good morning. Let" →
"Good morning." and "Let", :func:`start_lines`): a cloud vendor's final of
whole sentences stays one line.

:func:`coalesce` applies the rule to finals (and gaps, which always end a
line) in order; a line is itself a :class:`Segment` (the id of its first
final, its words, text joined by :func:`join_text`), so exports and
translation placement work on lines exactly as on finals. The live partial
continues a line by the same rule (:func:`split_continuation`), so its words
are shown where they will stay once final.
"""

from __future__ import annotations

from collections.abc import Sequence

from captioner.transcript.cues import ends_clause, line_text, word_ends, word_times
from captioner.transcript.model import Gap, Segment

#: a longer silence between two finals starts a new line
PAUSE_MS = 1500
#: past this many characters a line ends at the next clause end
SOFT_LINE_CHARS = 120
#: a line never grows past this many characters (a new one starts)
MAX_LINE_CHARS = 240

_GLUES_LEFT = tuple(".,;:!?…%)]}»”’、。，！？；：")


def speaker_of(seg: Segment) -> str | None:
    """The vendor's speaker of a segment (its own, else its first word's), or None."""
    speaker = seg.speaker or next((w.speaker for w in seg.words if w.speaker), None)
    speaker = (speaker or "").strip()
    return None if speaker in ("", "UU") else speaker


def _wide(ch: str) -> bool:
    """A character of a script written without spaces between words (CJK, kana, Thai)."""
    code = ord(ch)
    return (0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF
            or 0x0E00 <= code <= 0x0E7F or 0xFF00 <= code <= 0xFFEF)


def join_text(line: str, more: str) -> str:
    """``more`` appended to ``line``: a space between, but none before closing punctuation
    (a final that is just ``"."``) or between two characters of a spaceless script."""
    if not line:
        return more
    if not more:
        return line
    if more.startswith(_GLUES_LEFT) or (_wide(line[-1]) and _wide(more[0])):
        return line + more
    return f"{line} {more}"


def line_ended(text: str) -> bool:
    """Whether a line whose text is ``text`` takes no more finals by its words alone:
    it ends a sentence, or it is past :data:`SOFT_LINE_CHARS` at a clause end."""
    words = text.split()
    if not words:
        return False
    if word_ends(words[-1]):
        return True
    return len(text) >= SOFT_LINE_CHARS and ends_clause(words[-1])


def joins(line: Segment, seg: Segment) -> bool:
    """Whether ``seg`` (a final or the live partial) continues ``line`` (a final or a line).

    Same source, speaker and language; ``line`` not ended (:func:`line_ended`);
    ``seg`` starting at most :data:`PAUSE_MS` after ``line`` ends; and the two
    together at most :data:`MAX_LINE_CHARS` long.
    """
    if seg.source != line.source or speaker_of(seg) != speaker_of(line):
        return False
    if (seg.language or line.language) and seg.language != line.language:
        return False
    text = line_text(line.text)
    if line_ended(text) or seg.start_ms - line.end_ms > PAUSE_MS:
        return False
    return len(join_text(text, line_text(seg.text))) <= MAX_LINE_CHARS


def extend(line: Segment, seg: Segment) -> Segment:
    """``line`` with ``seg`` joined to its end (``line``'s id, speaker and language; the
    text is ``line``'s followed by :func:`join_text`'s glue and ``seg``'s, as given)."""
    return Segment(
        id=line.id,
        text=join_text(line.text, seg.text),
        start_ms=line.start_ms,
        end_ms=max(line.end_ms, seg.end_ms),
        speaker=line.speaker if line.speaker is not None else seg.speaker,
        source=line.source,
        words=line.words + seg.words,
        is_final=line.is_final and seg.is_final,
        language=line.language or seg.language,
    )


def _cut(seg: Segment, at: int, texts: list[str]) -> tuple[Segment, Segment]:
    """``seg`` split before its word ``at`` of ``texts``, each part with its own words and
    times; the second part's id is ``seg.id + ".1"``."""
    times = word_times(texts, seg)
    rest_ms = times[at][0]
    head = Segment(seg.id, " ".join(texts[:at]), seg.start_ms,
                   max(seg.start_ms, times[at - 1][1]), seg.speaker, seg.source,
                   tuple(w for w in seg.words if w.start_ms < rest_ms), seg.is_final,
                   seg.language)
    rest = Segment(f"{seg.id}.1", " ".join(texts[at:]), rest_ms, max(rest_ms, seg.end_ms),
                   seg.speaker, seg.source, tuple(w for w in seg.words if w.start_ms >= rest_ms),
                   seg.is_final, seg.language)
    return head, rest


def _sentence_ends(texts: list[str]) -> list[int]:
    """Where new sentences start inside ``texts``: after each sentence-ending word but
    the last word."""
    return [i + 1 for i, word in enumerate(texts[:-1]) if word_ends(word)]


def start_lines(seg: Segment) -> list[Segment]:
    """The lines a final starts: itself, or, when it ends in an unfinished sentence after
    finished ones ("Good morning. Let"), the finished sentences and then the unfinished
    one (the next finals continue it). A final of whole sentences stays one line."""
    texts = seg.text.split()
    ends = _sentence_ends(texts)
    if not ends or word_ends(texts[-1]):
        return [seg]
    return list(_cut(seg, ends[-1], texts))


def split_continuation(line: Segment, seg: Segment) -> tuple[Segment, Segment | None] | None:
    """How ``seg`` (a final or the live partial) continues ``line``: ``(its words through
    its first sentence end, which go on the line; the rest, or None)``, or None when
    :func:`joins` says ``seg`` starts a new line."""
    if not joins(line, seg):
        return None
    texts = seg.text.split()
    ends = _sentence_ends(texts)
    return _cut(seg, ends[0], texts) if ends else (seg, None)


def continue_line(line: Segment, seg: Segment) -> tuple[Segment, list[Segment]] | None:
    """``line`` continued by the final ``seg``, or None when :func:`joins` says ``seg``
    starts a new line: ``(line with seg's words through its first sentence end, the lines
    the rest of seg starts (:func:`start_lines`))``."""
    parts = split_continuation(line, seg)
    if parts is None:
        return None
    head, rest = parts
    return extend(line, head), start_lines(rest) if rest is not None else []


def coalesce(items: Sequence[Segment | Gap]) -> list[Segment | Gap]:
    """Finals (and gaps) in display order made into caption lines (:func:`continue_line`);
    a gap ends the line before it."""
    out: list[Segment | Gap] = []
    for item in items:
        prev = out[-1] if out else None
        if not isinstance(item, Segment):
            out.append(item)
            continue
        joined = continue_line(prev, item) if isinstance(prev, Segment) else None
        if joined is None:
            out.extend(start_lines(item))
        else:
            out[-1] = joined[0]
            out.extend(joined[1])
    return out


def coalesce_segments(segments: Sequence[Segment]) -> list[Segment]:
    """:func:`coalesce` for finals alone."""
    return [item for item in coalesce(segments) if isinstance(item, Segment)]
