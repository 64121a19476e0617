"""Exports: golden files for each format, properties of SRT/WebVTT cues, atomic writes.

Set ``UPDATE_GOLDEN=1`` to rewrite the golden files after an intended change
(and review the diff).
"""

from __future__ import annotations

import errno
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from captioner.providers.base import Word
from captioner.transcript import Gap, Segment, Transcript, cues, files
from captioner.transcript import export as ex
from captioner.transcript.jsonfile import from_json, to_json
from captioner.transcript.render import ARROWS, format_duration, gap_text
from captioner.transcript.render import lines as render_lines
from captioner.transcript.speakers import SpeakerNames
from captioner.transcript.srt import to_srt
from captioner.transcript.txt import to_txt
from captioner.transcript.vtt import to_vtt

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"

# -- a small transcript ---------------------------------------------------------


def _words(text: str, start_ms: int, step_ms: int) -> tuple[Word, ...]:
    return tuple(
        Word(w, start_ms + i * step_ms, start_ms + (i + 1) * step_ms - 40, 0.9)
        for i, w in enumerate(text.split())
    )


SAMPLE_SEGMENTS = (
    Segment(
        "mic-1",
        "Hi everyone, can you hear me?",
        1_200,
        3_000,
        source="mic",
        words=_words("Hi everyone, can you hear me?", 1_200, 300),
    ),
    Segment(
        "system-2",
        "Yes, loud and clear. Let's start with the budget review, then talk about "
        "hiring for Q3 & the <draft> plan for the offsite, which is still open.",
        3_500,
        14_000,
        speaker="S1",
        source="system",
        words=_words(
            "Yes, loud and clear. Let's start with the budget review, then talk about "
            "hiring for Q3 & the <draft> plan for the offsite, which is still open.",
            3_500,
            400,
        ),
    ),
    Segment("system-3", "Sounds good.", 14_200, 15_000, speaker="S2", source="system"),
    Segment("mic-4", "Great, I'll share my screen.", 15_400, 17_000, source="mic"),
    Segment(
        "system-5",
        "The notes are at https://example.org/meetings/2026/budget-review-notes now.",
        30_000,
        34_000,
        speaker="S1",
        source="system",
    ),
)
SAMPLE_GAPS = (Gap(18_000, 29_500, "system", "connection lost"),)
SAMPLE_META = {
    "provider": "local",
    "language": "en",
    "started_at": "2026-11-22T13:45:01+01:00",
    "sources": ["mic", "system"],
}


def _golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


@pytest.mark.parametrize(
    ("name", "fmt", "kwargs"),
    [
        ("sample.txt", "txt", {}),
        ("sample-timestamps.txt", "txt", {"timestamps": True}),
        ("sample-nolabels.txt", "txt", {"labels": False}),
        ("sample.srt", "srt", {}),
        ("sample.vtt", "vtt", {}),
        ("sample.json", "json", {"meta": SAMPLE_META}),
    ],
)
def test_export_matches_golden(name: str, fmt: str, kwargs: dict) -> None:
    t = Transcript()
    for seg in SAMPLE_SEGMENTS:
        t.add_final(seg)
    for gap in SAMPLE_GAPS:
        t.add_gap(gap)
    _golden(name, ex.export(t, fmt, **kwargs))


def test_golden_long_segment_is_split_and_within_limits() -> None:
    cue_list = parse_srt(to_srt(SAMPLE_SEGMENTS, SAMPLE_GAPS))
    long_cues = [c for c in cue_list if c.start_ms >= 3_500 and c.end_ms <= 14_200]
    assert len(long_cues) >= 3
    check_cue_limits(cue_list)


# -- strict parsers -----------------------------------------------------------

_TS = r"(\d{{2,}}):([0-5]\d):([0-5]\d){sep}(\d{{3}})"
SRT_TIMING = re.compile(_TS.format(sep=",") + " --> " + _TS.format(sep=","))
VTT_TIMING = re.compile(_TS.format(sep=r"\.") + " --> " + _TS.format(sep=r"\."))
VOICE = re.compile(r"^<v ([^<>\n]+)>")


@dataclass
class ParsedCue:
    start_ms: int
    end_ms: int
    lines: list[str]
    voice: str | None = None


def _ms(groups: tuple[str, ...]) -> int:
    h, m, s, ms = (int(g) for g in groups)
    return ((h * 60 + m) * 60 + s) * 1000 + ms


def _text_lines(lines: list[str]) -> list[str]:
    assert 1 <= len(lines) <= cues.MAX_LINES, lines
    for line in lines:
        assert line, "empty cue line"
        assert line == line.strip(), repr(line)
        assert "-->" not in line
    return lines


def parse_srt(text: str) -> list[ParsedCue]:
    """Parse SRT strictly: numbered from 1, one blank line between cues, LF."""
    if not text:
        return []
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "\r" not in text
    out = []
    for n, block in enumerate(text[:-1].split("\n\n"), start=1):
        lines = block.split("\n")
        assert lines[0] == str(n), block
        m = SRT_TIMING.fullmatch(lines[1])
        assert m, lines[1]
        out.append(ParsedCue(_ms(m.groups()[:4]), _ms(m.groups()[4:]), _text_lines(lines[2:])))
    return out


def _vtt_unescape(line: str) -> str:
    assert "<" not in line and ">" not in line, line
    assert "&" not in re.sub(r"&(amp|lt|gt);", "", line), line
    return line.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_vtt(text: str) -> tuple[list[ParsedCue], list[str]]:
    """Parse WebVTT strictly: the header, NOTE blocks, cues with an optional leading voice tag.

    Returns:
        (cues with unescaped lines, note texts).
    """
    assert text.startswith("WEBVTT\n")
    body = text[len("WEBVTT\n") :]
    if not body:
        return [], []
    assert body.startswith("\n") and body.endswith("\n") and not body.endswith("\n\n")
    out, notes = [], []
    for block in body[1:-1].split("\n\n"):
        assert block and "\n\n" not in block
        if block.startswith("NOTE ") or block == "NOTE":
            assert "-->" not in block
            notes.append(block[5:])
            continue
        lines = block.split("\n")
        m = VTT_TIMING.fullmatch(lines[0])
        assert m, block
        text_lines = _text_lines(lines[1:])
        voice = None
        v = VOICE.match(text_lines[0])
        if v:
            voice = _vtt_unescape(v.group(1))
            text_lines[0] = text_lines[0][v.end() :]
            assert text_lines[0], "voice tag without text"
        unescaped = [_vtt_unescape(line) for line in text_lines]
        out.append(ParsedCue(_ms(m.groups()[:4]), _ms(m.groups()[4:]), unescaped, voice))
    return out, notes


def check_cue_limits(cue_list: list[ParsedCue]) -> None:
    prev_end = 0
    for cue in cue_list:
        assert cue.start_ms >= prev_end, "cues overlap or go back in time"
        assert cues.MIN_CUE_MS <= cue.end_ms - cue.start_ms <= cues.MAX_CUE_MS
        for line in cue.lines:
            if len(line) > cues.MAX_LINE_CHARS:
                # only a single unbreakable word may be longer
                assert " " not in line, line
                assert len(line) <= cues.HARD_BREAK_CHARS
        prev_end = cue.end_ms


# -- properties -----------------------------------------------------------------

_CHARS = st.characters(blacklist_categories=("Cs", "Cc"))
_WORD = st.one_of(
    st.text(_CHARS, min_size=1, max_size=10),
    st.sampled_from(
        ["<", ">", "&", "-->", "--->", "&amp;", "<v x>", "a-->b", "--", "é", "👍🏽", "世界"]
    ),
    st.text(st.characters(whitelist_categories=("Ll", "Lo", "Nd")), min_size=40, max_size=100),
)
_SEP = st.sampled_from([" ", " ", " ", "  ", "\n", "\t", "\u2028", " \u00a0"])


@st.composite
def _text(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORD, max_size=24))
    out = ""
    for w in words:
        out += w + draw(_SEP)
    return out


@st.composite
def _segment(draw: st.DrawFn, index: int) -> Segment:
    text = draw(_text())
    start_ms = draw(st.integers(-2_000, 60_000))
    end_ms = start_ms + draw(st.integers(-3_000, 40_000))
    kind = draw(st.sampled_from(["none", "aligned", "random"]))
    words: tuple[Word, ...] = ()
    if kind == "aligned":
        t = start_ms
        ws = []
        for tok in text.split():
            t += draw(st.integers(-300, 3_000))
            ws.append(Word(tok, t, t + draw(st.integers(-100, 9_000)), 0.5, None))
        words = tuple(ws)
    elif kind == "random":
        words = tuple(
            Word(w, s, s + d, None, None)
            for w, s, d in draw(
                st.lists(
                    st.tuples(_WORD, st.integers(-1_000, 90_000), st.integers(-100, 3_000)),
                    max_size=10,
                )
            )
        )
    return Segment(
        f"seg-{index}",
        text,
        start_ms,
        end_ms,
        speaker=draw(st.sampled_from([None, None, "S1", "S2", "1", "A", "UU", "Alice"])),
        source=draw(st.sampled_from(["mic", "system"])),
        words=words,
    )


@st.composite
def transcripts(draw: st.DrawFn) -> tuple[list[Segment], list[Gap]]:
    n = draw(st.integers(0, 5))
    segs = [draw(_segment(i)) for i in range(n)]
    gaps = [
        Gap(s, s + d, src, reason)
        for s, d, src, reason in draw(
            st.lists(
                st.tuples(
                    st.integers(0, 90_000),
                    st.integers(-1_000, 20_000),
                    st.sampled_from(["mic", "system"]),
                    st.sampled_from(["", "overflow", "a --> b\n\nNOTE x"]),
                ),
                max_size=3,
            )
        )
    ]
    return segs, gaps


def _ordered(segs: list[Segment]) -> list[Segment]:
    return sorted((s for s in segs if s.text.split()), key=lambda s: s.start_ms)


def _expected_tokens(segs: list[Segment], gaps: list[Gap], labels: bool) -> list[str]:
    """The finals' words in order, with ``Label:`` where the label changes (spec of labels)."""
    ordered = _ordered(segs)
    valid_gaps = sorted((g for g in gaps if g.end_ms > g.start_ms), key=lambda g: g.start_ms)
    names = SpeakerNames()
    items: list[Segment | Gap] = []
    gi = 0
    for seg in ordered:
        while gi < len(valid_gaps) and valid_gaps[gi].start_ms <= seg.start_ms:
            items.append(valid_gaps[gi])
            gi += 1
        items.append(seg)
    label_of = {id(it): names.label(it) for it in items if isinstance(it, Segment)}
    show = labels and len(set(label_of.values())) > 1
    tokens: list[str] = []
    prev = None
    for it in items:
        if isinstance(it, Gap):
            prev = None
            continue
        if show and label_of[id(it)] != prev:
            tokens.extend(f"{label_of[id(it)]}:".split())
        prev = label_of[id(it)]
        tokens.extend(it.text.split())
    return tokens


def _compare_text(actual_lines: list[str], expected_tokens: list[str], srt: bool) -> None:
    def fix(s: str) -> str:
        return ARROWS.sub("->", s) if srt else s

    actual = "".join("".join(line.split()) for line in actual_lines)
    assert fix(actual) == fix("".join(expected_tokens))
    if all(len(t) <= cues.HARD_BREAK_CHARS for t in expected_tokens):
        got = [tok for line in actual_lines for tok in line.split()]
        assert got == [fix(t) for t in expected_tokens]


PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
QUICK_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=40)


@PROPERTY_SETTINGS
@given(transcripts(), st.booleans())
def test_srt_parses_back_with_valid_cues_and_all_text(
    data: tuple[list[Segment], list[Gap]], labels: bool
) -> None:
    segs, gaps = data
    parsed = parse_srt(to_srt(segs, gaps, labels=labels))
    check_cue_limits(parsed)
    multi = (
        len({s.source for s in _ordered(segs)} | {g.source for g in gaps if g.end_ms > g.start_ms})
        > 1
    )
    gap_texts = [
        gap_text(g, with_source=multi)
        for g in sorted(gaps, key=lambda g: g.start_ms)
        if g.end_ms > g.start_ms
    ]
    text_cues = [c for c in parsed if " ".join(c.lines) not in gap_texts]
    assert len(parsed) - len(text_cues) == len(gap_texts)
    _compare_text(
        [line for c in text_cues for line in c.lines],
        _expected_tokens(segs, gaps, labels),
        srt=True,
    )


@PROPERTY_SETTINGS
@given(transcripts(), st.booleans())
def test_vtt_parses_back_with_valid_cues_and_all_text(
    data: tuple[list[Segment], list[Gap]], labels: bool
) -> None:
    segs, gaps = data
    parsed, notes = parse_vtt(to_vtt(segs, gaps, labels=labels))
    check_cue_limits(parsed)
    real_gaps = sorted((g for g in gaps if g.end_ms > g.start_ms), key=lambda g: g.start_ms)
    assert len(notes) == len(real_gaps)
    multi = len({s.source for s in _ordered(segs)} | {g.source for g in real_gaps}) > 1
    gap_texts = [gap_text(g, with_source=multi) for g in real_gaps]
    text_cues = [c for c in parsed if " ".join(c.lines) not in gap_texts]
    assert len(parsed) - len(text_cues) == len(gap_texts)  # a gap cue each, as in SRT
    names = SpeakerNames()
    allowed = {names.label(s) for s in _ordered(segs)}
    for cue in text_cues:
        assert (cue.voice in allowed) if labels else cue.voice is None
    _compare_text(
        [line for c in text_cues for line in c.lines], _expected_tokens(segs, [], False),
        srt=False,
    )


@PROPERTY_SETTINGS
@given(transcripts(), st.booleans())
def test_srt_and_vtt_have_the_same_cue_times(
    data: tuple[list[Segment], list[Gap]], labels: bool
) -> None:
    """Regression: SRT and VTT were built from different cue lists (text labels and gap cues
    in one only), so the same caption showed at different times."""
    segs, gaps = data
    srt = [(c.start_ms, c.end_ms) for c in parse_srt(to_srt(segs, gaps, labels=labels))]
    vtt = [(c.start_ms, c.end_ms) for c in parse_vtt(to_vtt(segs, gaps, labels=labels))[0]]
    assert srt == vtt


@QUICK_SETTINGS
@given(transcripts())
def test_json_round_trips(data: tuple[list[Segment], list[Gap]]) -> None:
    segs, gaps = data
    text = to_json(segs, gaps, {"provider": "deepgram", "language": "de"})
    doc = json.loads(text)
    assert doc["version"] == 1
    back_segs, back_gaps, meta = from_json(text)
    assert back_segs == sorted(segs, key=lambda s: s.start_ms)
    assert back_gaps == sorted(gaps, key=lambda g: g.start_ms)
    assert meta["provider"] == "deepgram"


@QUICK_SETTINGS
@given(transcripts(), st.booleans(), st.booleans())
def test_txt_has_one_line_per_caption_line(
    data: tuple[list[Segment], list[Gap]], timestamps: bool, labels: bool
) -> None:
    segs, gaps = data
    text = to_txt(segs, gaps, timestamps=timestamps, labels=labels)
    lines = [line for line in text.splitlines() if line and "not captioned" not in line]
    caption_lines = [i for i in render_lines(segs, gaps) if isinstance(i, Segment)]
    assert len(lines) == len(caption_lines)
    if not labels and not timestamps:
        assert lines == [" ".join(s.text.split()) for s in caption_lines]
        # every word of every final, in time order, none lost or repeated
        assert " ".join(lines).split() == [w for s in _ordered(segs) for w in s.text.split()]


# -- specific behaviour ---------------------------------------------------------------


def _seg(text: str, start_ms: int = 0, end_ms: int = 2_000, **kw: object) -> Segment:
    return Segment(kw.pop("id", "mic-1"), text, start_ms, end_ms, **kw)  # type: ignore[arg-type]


def test_long_word_gets_its_own_unbroken_line() -> None:
    url = "https://example.com/" + "x" * 40
    parsed = parse_srt(to_srt([_seg(f"see {url} please")]))
    lines = [line for c in parsed for line in c.lines]
    assert url in lines


def test_word_longer_than_a_cue_is_hard_broken() -> None:
    word = "字" * 100
    parsed = parse_srt(to_srt([_seg(word, 0, 6_000)]))
    lines = [line for c in parsed for line in c.lines]
    assert "".join(lines) == word
    assert all(len(line) <= cues.MAX_LINE_CHARS for line in lines)


def test_hard_break_never_splits_before_a_combining_mark() -> None:
    word = "e\u0301" * 60  # é as e + combining acute
    pieces = cues._hard_break(word)
    assert "".join(pieces) == word
    assert all(not p.startswith("\u0301") for p in pieces)


def test_short_cue_stays_up_a_second_when_the_next_allows() -> None:
    parsed = parse_srt(to_srt([_seg("Hi.", 0, 200), _seg("Later.", 5_000, 5_500, id="mic-2")]))
    assert parsed[0].end_ms - parsed[0].start_ms >= cues.MIN_CUE_MS
    assert parsed[0].end_ms <= parsed[1].start_ms


def test_a_cue_too_short_to_read_is_merged_with_the_next() -> None:
    parsed = parse_srt(to_srt([_seg("Hi.", 0, 200), _seg("There.", 600, 900, id="mic-2")]))
    assert [(c.start_ms, c.end_ms, c.lines) for c in parsed] == [(0, 1000, ["Hi. There."])]


def test_overlapping_me_and_others_never_squeeze_a_cue_below_a_second() -> None:
    """Regression: where Me and Others overlapped, 6-word cues were shown for 0.5 s."""
    segs = [
        _seg("so I think we should move the meeting", 0, 2_400, source="mic"),
        _seg("yes that works for me and the team", 300, 2_600, source="system", id="system-1"),
        _seg("great then Thursday it is for everyone", 700, 3_000, source="mic", id="mic-2"),
    ]
    for out in (parse_srt(to_srt(segs)), parse_vtt(to_vtt(segs))[0]):
        check_cue_limits(out)
        assert all(c.end_ms - c.start_ms >= 1000 for c in out)


def test_no_one_or_two_word_orphan_cue() -> None:
    """Regression: "Mr." ended a sentence, so "And Mr." became a cue of its own."""
    text = ("We spoke with the board about the budget this morning at length. And Mr. "
            "Smith said that the new plan would need another review before it goes ahead")
    parsed = parse_srt(to_srt([_seg(text, 0, 9_000)]))
    assert len(parsed) > 1
    for cue in parsed:
        assert len(" ".join(cue.lines).split()) >= 3, parsed
    assert not any(" ".join(c.lines).endswith("Mr.") for c in parsed)


def test_overlapping_speech_from_two_sources_does_not_overlap() -> None:
    segs = [
        _seg("I was saying something important here", 0, 4_000, source="mic"),
        _seg("and I interrupted", 100, 2_000, source="system", id="system-1"),
    ]
    parsed = parse_srt(to_srt(segs))
    check_cue_limits(parsed)
    assert parsed[0].end_ms - parsed[0].start_ms >= cues.MIN_VISIBLE_MS


def test_cue_never_exceeds_seven_seconds_even_for_one_slow_word() -> None:
    seg = _seg("Hmmmm", 0, 20_000, words=(Word("Hmmmm", 0, 20_000),))
    parsed = parse_srt(to_srt([seg]))
    assert parsed[0].end_ms - parsed[0].start_ms == cues.MAX_CUE_MS


def test_split_uses_word_timings() -> None:
    text = " ".join(f"word{i}" for i in range(30))
    words = tuple(Word(f"word{i}", 10_000 + i * 500, 10_000 + i * 500 + 400) for i in range(30))
    parsed = parse_srt(to_srt([_seg(text, 10_000, 25_000, words=words)]))
    assert len(parsed) > 1
    second_first_word = int(parsed[1].lines[0].split()[0][4:])
    assert parsed[1].start_ms == 10_000 + second_first_word * 500


def test_split_prefers_sentence_end() -> None:
    text = (
        "This is the first sentence here. And this is a second one that goes on "
        "and on for quite a while longer."
    )
    parsed = parse_srt(to_srt([_seg(text, 0, 6_000)]))
    assert len(parsed) == 2
    assert parsed[0].lines[-1].endswith("here.")


def test_vtt_escapes_markup_and_arrows() -> None:
    out = to_vtt([_seg("a <b> & c --> d")])
    assert "a &lt;b&gt; &amp; c --&gt; d" in out
    assert out.count("-->") == 1  # the timing line only


def test_srt_never_has_arrows_in_text() -> None:
    out = to_srt([_seg("go --> there ---> now")])
    assert out.count("-->") == 1
    assert "go -> there -> now" in out


def test_vtt_voice_tags_and_gap_notes() -> None:
    out = to_vtt(
        [_seg("Hello", 0, 1_000), _seg("Hi", 2_000, 3_000, source="system", speaker="7", id="s-1")],
        [Gap(5_000, 9_000, "mic", "overflow --> x")],
    )
    parsed, notes = parse_vtt(out)
    assert [c.voice for c in parsed] == ["Me", "Speaker 1", None]  # then the gap's cue
    assert parsed[2].lines == ["[… 4 s of audio not captioned (Me) …]"]
    assert notes == ["4 s of audio not captioned (Me, 00:00:05.000 to 00:00:09.000): overflow -> x"]


def test_speaker_names_number_by_first_appearance_per_source() -> None:
    names = SpeakerNames()
    got = [
        names.label(_seg("x", speaker=s, source=src))
        for s, src in [
            ("S2", "system"),
            ("S1", "system"),
            ("S2", "system"),
            ("S2", "mic"),
            (None, "mic"),
            (None, "system"),
            ("UU", "system"),
            ("Alice", "system"),
            ("B", "system"),
            ("spk_0", "system"),
        ]
    ]
    assert got == [
        "Speaker 1",
        "Speaker 2",
        "Speaker 1",
        "Speaker 3",
        "Me",
        "Others",
        "Others",
        "Alice",
        "Speaker 4",
        "Speaker 5",
    ]


def test_odd_speaker_names_stay_on_one_line() -> None:
    out = to_vtt([_seg("hi", speaker="Dr <X>\nY & Z")])
    parsed, _ = parse_vtt(out)
    assert parsed[0].voice == "Dr <X> Y & Z"


def test_speaker_taken_from_words_when_segment_has_none() -> None:
    seg = _seg("hi there", words=(Word("hi", 0, 100, speaker="1"), Word("there", 100, 200)))
    assert SpeakerNames().label(seg) == "Speaker 1"


def test_txt_single_label_is_not_shown() -> None:
    out = to_txt([_seg("One.", 0), _seg("Two.", 1_000, id="mic-2")])
    assert out == "One.\nTwo.\n"


def test_txt_gap_marker_and_timestamps() -> None:
    out = to_txt([_seg("one", 0)], [Gap(3_000, 15_400)], timestamps=True)
    assert out == "[00:00:00] one\n[00:00:03] [… 12 s of audio not captioned …]\n"


def test_control_characters_are_dropped_and_lines_joined() -> None:
    segs = [_seg("a\x00b\nc\x1bd"), _seg("\x00\x07", 500, id="mic-2")]
    assert to_txt(segs) == "ab cd\n"
    assert [c.lines for c in parse_srt(to_srt(segs))] == [["ab cd"]]


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (300, "<1 s"),
        (12_400, "12 s"),
        (60_000, "1 min"),
        (185_000, "3 min 5 s"),
        (3_720_000, "1 h 2 min"),
    ],
)
def test_format_duration(ms: int, text: str) -> None:
    assert format_duration(ms) == text


def test_empty_transcript_exports() -> None:
    assert to_txt([]) == ""
    assert to_srt([]) == ""
    assert to_vtt([]) == "WEBVTT\n"
    assert json.loads(to_json([], [], {}))["segments"] == []


def test_export_dispatch_accepts_names_and_rejects_unknown() -> None:
    segs = [_seg("hello")]
    assert ex.export(segs, ".SRT") == to_srt(segs)
    assert set(ex.FORMATS) == {"txt", "srt", "vtt", "json"}
    with pytest.raises(ValueError, match="unknown export format"):
        ex.export(segs, "docx")


def test_export_skips_partials_from_a_segment_list() -> None:
    segs = [_seg("final"), Segment("mic-partial", "partial", 0, 1, is_final=False)]
    assert ex.export(segs, "txt") == "final\n"


def test_from_json_rejects_newer_version() -> None:
    with pytest.raises(ValueError, match="newer"):
        from_json(json.dumps({"version": 2, "segments": []}))


# -- atomic writes -----------------------------------------------------------------


def test_write_atomic_replaces_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("old")
    target.chmod(0o640)
    ex.write_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_write_atomic_on_full_disk_keeps_old_file_and_explains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "notes.srt"
    target.write_text("old")

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "write", full)
    with pytest.raises(ex.ExportError) as info:
        ex.write_atomic(target, "new")
    monkeypatch.undo()
    assert str(info.value) == "Can't save notes.srt: the disk is full."
    assert info.value.errno == errno.ENOSPC
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.srt"]


def test_write_atomic_to_missing_folder_explains(tmp_path: Path) -> None:
    with pytest.raises(ex.ExportError, match="the folder does not exist"):
        ex.write_atomic(tmp_path / "nope" / "a.vtt", "x")


def test_export_file_picks_format_from_extension(tmp_path: Path) -> None:
    path = ex.export_file([_seg("hello")], tmp_path / "out.vtt")
    assert path.read_text(encoding="utf-8").startswith("WEBVTT\n")
