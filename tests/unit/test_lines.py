"""Caption lines: which finals coalesce into one line, and the exports made from lines."""

from __future__ import annotations

import json
import re

from captioner.providers.base import Word
from captioner.transcript import Gap, Segment, Translation
from captioner.transcript import cues as cuelib
from captioner.transcript.jsonfile import to_json
from captioner.transcript.lines import (
    MAX_LINE_CHARS,
    PAUSE_MS,
    SOFT_LINE_CHARS,
    coalesce,
    coalesce_segments,
    join_text,
    joins,
)
from captioner.transcript.render import build_cues
from captioner.transcript.srt import to_srt
from captioner.transcript.txt import to_txt
from captioner.transcript.vtt import to_vtt

_ids = iter(range(1, 10_000))


def seg(text: str, start_ms: int, end_ms: int, **kw: object) -> Segment:
    """A final whose words are spread evenly over its span."""
    words = text.split()
    step = (end_ms - start_ms) // max(1, len(words))
    timed = tuple(Word(w, start_ms + i * step, start_ms + (i + 1) * step)
                  for i, w in enumerate(words))
    source = str(kw.pop("source", "mic"))
    return Segment(f"{source}-{next(_ids)}", text, start_ms, end_ms, source=source,
                   words=timed, **kw)  # type: ignore[arg-type]


def chunks() -> list[Segment]:
    """Word-chunk finals as the offline engine commits them (the rig screenshot's)."""
    return [seg("He did all that was prudently in his", 0, 2_400),
            seg("power to do", 2_500, 3_300),
            seg("for them.", 3_400, 4_000),
            seg("Then he left.", 4_300, 5_200)]


def texts(items: list[Segment | Gap]) -> list[str]:
    return [i.text if isinstance(i, Segment) else "<gap>" for i in items]


# -- the rule -------------------------------------------------------------------------


def test_word_chunk_finals_of_one_sentence_make_one_line() -> None:
    finals = chunks()
    lines = coalesce_segments(finals)
    assert [s.text for s in lines] == [
        "He did all that was prudently in his power to do for them.", "Then he left."]
    first = lines[0]
    assert (first.start_ms, first.end_ms) == (0, 4_000)
    assert [w.text for w in first.words] == first.text.split()  # each keeps its own time
    assert first.id == finals[0].id and lines[1].id == finals[3].id


def test_sentence_end_starts_a_new_line_but_an_abbreviation_does_not() -> None:
    assert texts(coalesce([seg("I met", 0, 500), seg("Mr.", 600, 800),
                           seg("Smith today.", 900, 1_500), seg("He is", 1_600, 2_000)])) == [
        "I met Mr. Smith today.", "He is"]
    for end in ("?", "!", "…", "。"):
        assert len(coalesce([seg(f"Really{end}", 0, 500), seg("yes", 600, 900)])) == 2


def test_a_final_that_ends_the_line_s_sentence_midway_starts_the_next_line() -> None:
    """The engine commits "than he was. He might": the sentence ends on its line, the rest
    starts the next one, with its own words and times."""
    finals = [seg("He might have been more respectable than", 0, 2_000),
              seg("he was. He might", 2_100, 2_900), seg("even have been made", 3_000, 3_800)]
    lines = coalesce_segments(finals)
    assert [s.text for s in lines] == [
        "He might have been more respectable than he was.", "He might even have been made"]
    second = lines[1]
    assert second.id == finals[1].id + ".1"
    assert [w.text for w in second.words] == second.text.split()
    assert second.start_ms == finals[1].words[2].start_ms and second.end_ms == 3_800
    assert lines[0].end_ms == finals[1].words[1].end_ms
    # a final that starts a line keeps its whole sentences together (cloud vendors' finals)
    whole = coalesce_segments([seg("Yes. We can.", 0, 1_000), seg("And we will.", 1_100, 2_000)])
    assert [s.text for s in whole] == ["Yes. We can.", "And we will."]
    # ... but an unfinished last sentence starts the next line, which the next finals continue
    chunked = coalesce_segments([seg("Buenos días a todos. Hoy", 0, 1_800),
                                 seg("vamos a hablar. Gracias. Y", 1_900, 3_500),
                                 seg("adiós.", 3_600, 4_000)])
    assert [s.text for s in chunked] == ["Buenos días a todos.", "Hoy vamos a hablar.",
                                         "Gracias.", "Y adiós."]
    assert len({s.id for s in chunked}) == 4


def test_speaker_source_and_language_changes_start_a_new_line() -> None:
    a = seg("so we", 0, 500, speaker="S1")
    assert not joins(a, seg("think", 600, 900, speaker="S2"))
    assert joins(a, seg("think", 600, 900, speaker="S1"))
    assert not joins(a, seg("think", 600, 900, speaker="S1", source="system"))
    b = seg("y luego", 0, 500, language="es")
    assert not joins(b, seg("und dann", 600, 900, language="de"))
    assert joins(b, seg("vamos", 600, 900, language="es"))
    # speakers given only on the words count too
    w1 = Segment("mic-a", "so we", 0, 500, words=(Word("so", 0, 200, speaker="S1"),))
    w2 = Segment("mic-b", "think", 600, 900, words=(Word("think", 600, 900, speaker="S2"),))
    assert not joins(w1, w2)


def test_a_long_pause_starts_a_new_line() -> None:
    a = seg("and then", 0, 1_000)
    assert joins(a, seg("we went", 1_000 + PAUSE_MS, 3_000 + PAUSE_MS))
    assert not joins(a, seg("we went", 1_001 + PAUSE_MS, 3_000 + PAUSE_MS))


def test_lines_are_capped_at_a_clause_then_hard() -> None:
    words = " ".join(["word"] * 30)  # 149 characters, no punctuation
    long_clause = seg(words + ",", 0, 10_000)
    assert len(long_clause.text) >= SOFT_LINE_CHARS
    assert not joins(long_clause, seg("and more", 10_100, 10_500))
    assert joins(seg("short,", 0, 500), seg("and more", 600, 900))  # a short clause goes on
    no_clause = seg(words, 0, 10_000)
    assert joins(no_clause, seg("and more", 10_100, 10_500))
    lines = coalesce_segments([seg(words, i * 10_000, i * 10_000 + 9_900) for i in range(4)])
    assert all(len(s.text) <= MAX_LINE_CHARS for s in lines)
    assert len(lines) == 4 // (MAX_LINE_CHARS // (len(words) + 1))


def test_gaps_end_a_line_and_stay_in_place() -> None:
    items: list[Segment | Gap] = [seg("we were", 0, 500), Gap(600, 700), seg("saying", 800, 900)]
    assert texts(coalesce(items)) == ["we were", "<gap>", "saying"]


def test_join_text_glues_punctuation_and_spaceless_scripts() -> None:
    assert join_text("for them", ".") == "for them."
    assert join_text("well", ", then") == "well, then"
    assert join_text("今日は", "晴れです") == "今日は晴れです"
    assert join_text("hello", "world") == "hello world"
    assert join_text("", "world") == "world"


# -- exports made from lines ----------------------------------------------------------


def test_txt_paragraph_per_line_with_translation_under_it() -> None:
    trs = [Translation("es", "Hizo todo lo que pudo por ellos.", 0, 4_000),
           Translation("es", "Luego se fue.", 4_300, 5_200)]
    assert to_txt(chunks(), translations=trs) == (
        "He did all that was prudently in his power to do for them.\n"
        "    [es] Hizo todo lo que pudo por ellos.\n"
        "Then he left.\n"
        "    [es] Luego se fue.\n")


def _timings(text: str) -> list[str]:
    return [m.replace(",", ".") for m in re.findall(r"^\S+ --> \S+$", text, re.M)]


def test_cues_come_from_lines_not_from_each_final() -> None:
    cues = build_cues(chunks())
    assert [" ".join(c.lines) for c in cues] == [
        "He did all that was prudently in his power to do for them.", "Then he left."]
    assert _timings(to_srt(chunks())) == _timings(to_vtt(chunks()))
    assert len(_timings(to_srt(chunks()))) == 2


def test_cue_rules_hold_on_many_small_finals() -> None:
    """A minute of two-to-four-word finals: cues last 1 s or more, have 3 words or more
    (unless the line itself is shorter), fit the line limits, and lose no word."""
    finals, t = [], 0
    vocab = "the quick brown fox jumps over a lazy dog while we all watch it".split()
    for n in range(40):
        k = 2 + n % 3
        text = " ".join(vocab[(n + i) % len(vocab)] for i in range(k))
        if n % 7 == 6:
            text += "."
        finals.append(seg(text, t, t + k * 300))
        t += k * 300 + 150
    cues = build_cues(finals)
    assert all(c.end_ms - c.start_ms >= cuelib.MIN_CUE_MS for c in cues)
    assert all(c.end_ms - c.start_ms <= cuelib.MAX_CUE_MS for c in cues)
    assert all(len(line) <= cuelib.MAX_LINE_CHARS and len(c.lines) <= cuelib.MAX_LINES
               for c in cues for line in c.lines)
    assert all(len(" ".join(c.lines).split()) >= cuelib.MIN_CUE_WORDS for c in cues)
    assert " ".join(" ".join(c.lines) for c in cues).split() == \
        [w for f in finals for w in f.text.split()]
    assert len(cues) < len(finals) / 2  # one cue a final before lines


def test_json_keeps_the_raw_finals() -> None:
    doc = json.loads(to_json(chunks()))
    assert [s["text"] for s in doc["segments"]] == [s.text for s in chunks()]
    assert "language" not in doc["segments"][0]
    doc = json.loads(to_json([seg("hola", 0, 500, language="es")]))
    assert doc["segments"][0]["language"] == "es"
