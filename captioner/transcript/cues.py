"""Split final segments into caption cues for SRT and WebVTT.

Pure (no I/O). :func:`segment_cues` turns one segment into cues of at most
:data:`MAX_LINES` lines of :data:`MAX_LINE_CHARS` characters spanning at most
:data:`MAX_CUE_MS`, breaking at word boundaries (preferring sentence and clause
ends) and timing each word from the segment's word timings, or by
interpolating proportionally to characters when it has none.
:func:`schedule` then fixes the timing of the whole sequence so cues are
monotonic, never overlap, never last longer than :data:`MAX_CUE_MS`, and stay
up long enough to read (:data:`MIN_CUE_MS`, or the reading time at
:data:`READING_CPS`) when the next cue allows.

Decisions:

* Long words: a word longer than :data:`MAX_LINE_CHARS` gets a line of its own
  and is not broken (a URL or a long compound stays intact and searchable).
  Only a word that would not fit in a whole cue (more than
  :data:`HARD_BREAK_CHARS`, in practice text in scripts written without spaces)
  is hard-broken into pieces of :data:`MAX_LINE_CHARS`, never before a
  combining mark.
* Minimum display: a cue stays up at least :data:`MIN_CUE_MS` (longer for long
  text, at :data:`READING_CPS`). When the next cue starts sooner, the two are
  merged into one cue if they are the same speaker's and fit; otherwise (two
  people talking at once) the next cue waits: no cue is shorter than
  :data:`MIN_CUE_MS`, so none flashes by unreadably.
* No orphans: a cue of one or two words split off a longer segment ("And
  Mr.") is joined to its neighbour, or takes words from it. Abbreviations
  such as "Mr." and "Dr." don't end a sentence.
* Lengths are counted in code points.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from captioner.transcript import Segment

log = logging.getLogger(__name__)

MAX_LINE_CHARS = 42
MAX_LINES = 2
MAX_CUE_MS = 7000
MIN_CUE_MS = 1000
MIN_VISIBLE_MS = MIN_CUE_MS  # kept for callers: no cue is shorter than a second
#: a cue split off a segment with fewer spoken words than this is an orphan
MIN_CUE_WORDS = 3
#: reading speed used to keep longer cues up longer (characters a second)
READING_CPS = 17
#: duration assumed for a segment whose end is not after its start
ESTIMATE_CPS = 15
#: a single word longer than this cannot fit in a cue and is hard-broken
HARD_BREAK_CHARS = MAX_LINE_CHARS * MAX_LINES

_SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")
_CLAUSE_END = (",", ";", ":", "—", "–", "、", "，", "；") + _SENTENCE_END
_CLOSERS = "\"'”’»)]"
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st sr jr mt vs etc e.g i.e no fig approx dept est ft inc ltd co corp"
    .split())
_CLAUSE_BONUS_CHARS = 8


@dataclass(frozen=True)
class Cue:
    """One caption on screen.

    Attributes:
        start_ms, end_ms: display interval in ms from the session start.
        lines: the text lines (unescaped, 1 to :data:`MAX_LINES`).
        voice: who speaks ("Me", "Speaker 2"), or None.
        is_gap: True for a "[… not captioned …]" marker cue.
        label: the speaker label written before the first word (``"Me:"``), or None.
    """

    start_ms: int
    end_ms: int
    lines: tuple[str, ...]
    voice: str | None = None
    is_gap: bool = False
    label: str | None = None  # a "Me:" prefix at the start of ``lines[0]``, if shown


@dataclass(frozen=True)
class Token:
    """A word of cue text with its spoken interval.

    Attributes:
        text: the word, never empty and without whitespace (a label may
            contain a space: ``"Speaker 2:"``).
        start_ms, end_ms: when it was spoken.
        is_label: a speaker label prefix, not spoken text.
    """

    text: str
    start_ms: int
    end_ms: int
    is_label: bool = False


def clean_text(text: str) -> str:
    """Return ``text`` with control characters removed and lone surrogates replaced.

    Whitespace is left for the caller to normalise with ``str.split``.
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cc" and not ch.isspace():
            continue
        out.append("\ufffd" if cat == "Cs" else ch)
    return "".join(out)


def line_text(text: str) -> str:
    """Cleaned text on one line, runs of white space folded to one space."""
    return " ".join(clean_text(text).split())


def _norm(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _align(texts: Sequence[str], seg: Segment) -> list[tuple[int, int] | None]:
    """Times for each text token from the segment's words, None where unknown."""
    words = [w for w in seg.words if w.text.strip()]
    if not words:
        return [None] * len(texts)
    if len(words) == len(texts):
        return [(w.start_ms, w.end_ms) for w in words]
    times: list[tuple[int, int] | None] = [None] * len(texts)
    j = 0
    for i, text in enumerate(texts):
        key = _norm(text)
        if not key or j >= len(words):
            continue
        for k in range(j, min(j + 4, len(words))):
            if _norm(words[k].text) == key:
                times[i] = (words[k].start_ms, words[k].end_ms)
                j = k + 1
                break
            if k + 1 < len(words) and _norm(words[k].text + words[k + 1].text) == key:
                times[i] = (words[k].start_ms, words[k + 1].end_ms)
                j = k + 2
                break
    return times


def _segment_span_ms(seg: Segment, chars: int) -> tuple[int, int]:
    if seg.end_ms > seg.start_ms:
        return seg.start_ms, seg.end_ms
    return seg.start_ms, seg.start_ms + max(1, round(chars * 1000 / ESTIMATE_CPS))


def _interpolate(
    texts: Sequence[str], times: list[tuple[int, int] | None], seg: Segment
) -> list[tuple[int, int]]:
    """Fill unknown times proportionally to characters between known neighbours."""
    seg_start, seg_end = _segment_span_ms(seg, sum(len(t) + 1 for t in texts))
    out: list[tuple[int, int]] = []
    i = 0
    n = len(texts)
    while i < n:
        known = times[i]
        if known is not None:
            out.append(known)
            i += 1
            continue
        j = i
        while j < n and times[j] is None:
            j += 1
        lo = out[-1][1] if out else seg_start
        nxt = times[j] if j < n else None
        hi = nxt[0] if nxt is not None else max(seg_end, lo)
        hi = max(hi, lo)
        weights = [len(t) + 1 for t in texts[i:j]]
        total = sum(weights)
        acc = 0
        for w in weights:
            a = lo + (hi - lo) * acc // total
            acc += w
            out.append((a, lo + (hi - lo) * acc // total))
        i = j
    return out


def _hard_break(text: str) -> list[str]:
    """Split a word into pieces of at most MAX_LINE_CHARS, never before a combining mark."""
    pieces = []
    start = 0
    while len(text) - start > MAX_LINE_CHARS:
        cut = start + MAX_LINE_CHARS
        while cut > start + 1 and unicodedata.combining(text[cut]):
            cut -= 1
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def word_times(texts: Sequence[str], seg: Segment) -> list[tuple[int, int]]:
    """``(start_ms, end_ms)`` for each of ``texts`` (the segment's text split on white
    space): from the segment's words where they match, else interpolated by characters."""
    return _interpolate(texts, _align(texts, seg), seg)


def segment_tokens(seg: Segment) -> list[Token]:
    """The segment's text as timed tokens.

    Times come from the segment's words where they match the text, else are
    interpolated by characters; starts are made non-decreasing and every end
    is at or after its start. Words longer than :data:`HARD_BREAK_CHARS` are
    split into pieces.
    """
    texts = clean_text(seg.text).split()
    if not texts:
        return []
    times = word_times(texts, seg)
    tokens: list[Token] = []
    prev_start = -math.inf
    for text, (start, end) in zip(texts, times, strict=True):
        start = int(max(start, prev_start))
        end = max(int(end), start)
        prev_start = start
        if len(text) <= HARD_BREAK_CHARS:
            tokens.append(Token(text, start, end))
            continue
        pieces = _hard_break(text)
        acc = 0
        for piece in pieces:
            a = start + (end - start) * acc // len(text)
            acc += len(piece)
            tokens.append(Token(piece, a, start + (end - start) * acc // len(text)))
    return tokens


def wrap_lines(texts: Sequence[str]) -> list[str] | None:
    """Lay words out in at most :data:`MAX_LINES` balanced lines.

    Args:
        texts: the words, in order.

    Returns:
        The lines, or None if the words do not fit. A line is at most
        :data:`MAX_LINE_CHARS` long unless it holds a single longer word.
    """
    if not texts:
        return None
    whole = " ".join(texts)
    if len(whole) <= MAX_LINE_CHARS or len(texts) == 1:
        return [whole]
    best: tuple[tuple[int, bool], list[str]] | None = None
    for k in range(1, len(texts)):
        top = " ".join(texts[:k])
        bottom = " ".join(texts[k:])
        if len(top) > MAX_LINE_CHARS and k > 1:
            break
        if len(bottom) > MAX_LINE_CHARS and len(texts) - k > 1:
            continue
        # balanced first, a break after a clause counts as a few characters
        # shorter; on a tie the shorter line on top (a pyramid)
        bonus = _CLAUSE_BONUS_CHARS if texts[k - 1].rstrip(_CLOSERS).endswith(_CLAUSE_END) else 0
        key = (max(len(top), len(bottom)) - bonus, len(top) > len(bottom))
        if best is None or key < best[0]:
            best = (key, [top, bottom])
    return best[1] if best else None


def _fits(tokens: Sequence[Token]) -> bool:
    span = max(t.end_ms for t in tokens) - tokens[0].start_ms
    one_word = sum(not t.is_label for t in tokens) <= 1  # a label never stands alone
    return (one_word or span <= MAX_CUE_MS) and wrap_lines([t.text for t in tokens]) is not None


def word_ends(word: str, marks: tuple[str, ...] = _SENTENCE_END) -> bool:
    """Whether ``word`` ends a sentence (or, with clause ``marks``, a clause);
    an abbreviation such as "Mr." ends neither."""
    text = word.rstrip(_CLOSERS)
    if text.endswith(".") and text[:-1].lower().lstrip("(\"'“‘") in _ABBREVIATIONS:
        return False  # "Mr." ends no sentence
    return text.endswith(marks)


def ends_clause(word: str) -> bool:
    """Whether ``word`` ends a clause or a sentence (``","``, ``";"``, ``"."``...)."""
    return word_ends(word, _CLAUSE_END)


def _ends(token: Token, marks: tuple[str, ...]) -> bool:
    return not token.is_label and word_ends(token.text, marks)


def _spoken(group: Sequence[Token]) -> int:
    return sum(not t.is_label for t in group)


def _fix_orphans(groups: list[list[Token]]) -> list[list[Token]]:
    """Join a one- or two-word group to a neighbour, or move words into it from one."""
    out = [list(g) for g in groups]
    i = 0
    while len(out) > 1 and i < len(out):
        cur = out[i]
        if _spoken(cur) >= MIN_CUE_WORDS:
            i += 1
            continue
        prev = out[i - 1] if i > 0 else None
        nxt = out[i + 1] if i + 1 < len(out) else None
        if prev is not None and _fits(prev + cur):
            out[i - 1 : i + 1] = [prev + cur]
            continue
        if nxt is not None and _fits(cur + nxt):
            out[i : i + 2] = [cur + nxt]
            continue
        donor = prev if prev is not None else nxt
        assert donor is not None
        moved = False
        while _spoken(cur) < MIN_CUE_WORDS and _spoken(donor) > MIN_CUE_WORDS:
            if donor is prev:
                candidate, rest = [donor[-1], *cur], donor[:-1]
            else:
                candidate, rest = [*cur, donor[0]], donor[1:]
            if not _fits(candidate):
                break
            cur[:] = candidate
            donor[:] = rest
            moved = True
        if not moved:
            i += 1
            continue
        i += 1
    return out


def _sentence_after(tokens: Sequence[Token], i: int) -> list[Token]:
    """Tokens from ``i`` through the end of the sentence they begin."""
    j = i
    while j < len(tokens) - 1 and not _ends(tokens[j], _SENTENCE_END):
        j += 1
    return list(tokens[i : j + 1])


def _clause_cut(cur: Sequence[Token]) -> int | None:
    """Where to end a full cue early so it ends at a clause; None if nowhere good."""
    chars = sum(len(t.text) + 1 for t in cur)
    head = chars  # length of cur[:k]
    for k in range(len(cur) - 1, 0, -1):
        head -= len(cur[k].text) + 1
        if head * 3 < chars:  # keep at least a third of the cue
            return None
        if _ends(cur[k - 1], _CLAUSE_END) and any(not t.is_label for t in cur[:k]):
            return k
    return None


def group_tokens(tokens: Sequence[Token]) -> list[list[Token]]:
    """Group tokens into cues that fit, ending cues at sentences or clauses when possible."""
    groups: list[list[Token]] = []
    cur: list[Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not cur:
            cur = [tok]
            i += 1
            continue
        if _fits([*cur, tok]):
            if _ends(cur[-1], _SENTENCE_END) and not _fits(cur + _sentence_after(tokens, i)):
                groups.append(cur)
                cur = []
                continue
            cur.append(tok)
            i += 1
            continue
        cut = _clause_cut(cur)
        if cut is not None and _fits([*cur[cut:], tok]):
            groups.append(cur[:cut])
            cur = cur[cut:]
        else:
            groups.append(cur)
            cur = []
    if cur:
        groups.append(cur)
    return _fix_orphans(groups)


def segment_cues(seg: Segment, *, voice: str | None = None, prefix: str | None = None) -> list[Cue]:
    """Split one segment into cues with their spoken (not yet scheduled) times.

    Args:
        seg: the segment.
        voice: the speaker or source name to attach to every cue.
        prefix: a label shown as text before the first word (``"Me:"``).

    Returns:
        Cues in order; empty if the segment has no text.
    """
    tokens = segment_tokens(seg)
    if not tokens:
        return []
    if prefix:
        tokens.insert(0, Token(prefix, tokens[0].start_ms, tokens[0].start_ms, is_label=True))
    cues = []
    for group in group_tokens(tokens):
        lines = wrap_lines([t.text for t in group])
        assert lines is not None  # every group fits by construction
        end = max(t.end_ms for t in group)
        label = group[0].text if group[0].is_label else None
        cues.append(Cue(group[0].start_ms, end, tuple(lines), voice, label=label))
    return cues


def text_cue(text: str, start_ms: int, end_ms: int, *, is_gap: bool = False) -> Cue:
    """A cue showing fixed text (a gap marker) over an interval, wrapped to fit."""
    words = clean_text(text).split()
    lines = wrap_lines(words) or [" ".join(words)]
    if len(lines) > MAX_LINES:  # pragma: no cover - callers pass short text
        lines = lines[:MAX_LINES]
    return Cue(start_ms, max(end_ms, start_ms), tuple(lines), None, is_gap)


def _reading_ms(cue: Cue) -> int:
    chars = sum(len(line) for line in cue.lines)
    return max(MIN_CUE_MS, math.ceil(chars * 1000 / READING_CPS))


def _words(cue: Cue) -> list[str]:
    return " ".join(cue.lines).split()


def merge_short(cues: Iterable[Cue]) -> list[Cue]:
    """Merge each cue with the next one while the next starts within :data:`MIN_CUE_MS`,
    both are the same speaker's text (not gap markers) and together they still fit."""
    out: list[Cue] = []
    for cue in cues:
        prev = out[-1] if out else None
        if (prev is not None and not prev.is_gap and not cue.is_gap
                and prev.voice == cue.voice and cue.label is None
                and cue.start_ms - prev.start_ms < MIN_CUE_MS
                and max(cue.end_ms, prev.end_ms) - prev.start_ms <= MAX_CUE_MS):
            lines = wrap_lines(_words(prev) + _words(cue))
            if lines is not None:
                out[-1] = Cue(prev.start_ms, max(prev.end_ms, cue.end_ms), tuple(lines),
                              prev.voice, label=prev.label)
                continue
        out.append(cue)
    return out


def schedule(cues: Iterable[Cue]) -> list[Cue]:
    """Fix display times so the sequence is valid and readable.

    Cues keep their order (after :func:`merge_short` joined those too close to
    show apart). Each starts at its spoken start, or when the previous one
    ends if that is later (never before 0); it stays up until its spoken end
    or its reading time (:func:`_reading_ms`), whichever is later, but at most
    :data:`MAX_CUE_MS`, and it ends when the next cue starts if that is
    sooner, though never before :data:`MIN_CUE_MS` (the next one then waits).

    Returns:
        New cues, monotonic and non-overlapping, each lasting between
        :data:`MIN_CUE_MS` and :data:`MAX_CUE_MS`.
    """
    items = merge_short(cues)
    out: list[Cue] = []
    prev_end = 0
    for i, cue in enumerate(items):
        start = max(cue.start_ms, prev_end, 0)
        desired = min(max(cue.end_ms, start + _reading_ms(cue)), start + MAX_CUE_MS)
        if i + 1 < len(items):
            desired = min(desired, max(items[i + 1].start_ms, start + MIN_CUE_MS))
        out.append(Cue(start, desired, cue.lines, cue.voice, cue.is_gap, cue.label))
        prev_end = desired
    return out
