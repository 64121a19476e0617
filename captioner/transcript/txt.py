"""Plain-text export: one line per caption line (finals coalesced, see
:mod:`captioner.transcript.lines`), optional timestamps and speaker labels, and
under each line its live translations (``    [es] Hola a todos.``)."""

from __future__ import annotations

from collections.abc import Iterable

from captioner.transcript.cues import line_text
from captioner.transcript.model import Gap, Segment, Translation, attach_translations
from captioner.transcript.render import (
    gap_text,
    hms,
    label_prefixes,
    labelled,
    lines,
    multi_source,
)


def to_txt(
    segments: Iterable[Segment],
    gaps: Iterable[Gap] = (),
    *,
    timestamps: bool = False,
    labels: bool = True,
    translations: Iterable[Translation] = (),
) -> str:
    """Plain text, one line per caption line (consecutive finals of one sentence joined).

    Args:
        segments: final segments (any order; sorted by start).
        gaps: gaps, shown as ``[… 12 s of audio not captioned …]`` lines.
        timestamps: prefix each line with ``[hh:mm:ss]`` (the start time).
        labels: when the transcript has more than one label (sources or
            speakers), prefix ``"Me: "`` etc. where the label changes (and
            after a gap), with a blank line before each change.

    Returns:
        The text, ending with a newline (empty if there is nothing).
    """
    items = lines(segments, gaps)
    names = labelled(items)
    prefixes = label_prefixes(items, names, labels)
    multi = multi_source(items)
    under = attach_translations([i for i in items if isinstance(i, Segment)], translations)
    out: list[str] = []
    for i, item in enumerate(items):
        stamp = f"[{hms(item.start_ms)}] " if timestamps else ""
        if isinstance(item, Gap):
            if prefixes and out and out[-1]:
                out.append("")  # a paragraph of its own, like a change of speaker
            out.append(stamp + gap_text(item, with_source=multi))
            continue
        text = line_text(item.text)
        if i in prefixes:
            if out and out[-1]:
                out.append("")
            text = f"{prefixes[i]}: {text}"
        out.append(stamp + text)
        for language, translated in under.get(item.id, {}).items():
            out.append(f"{' ' * len(stamp)}    [{language}] {line_text(translated)}")
    return "\n".join(out) + "\n" if out else ""
