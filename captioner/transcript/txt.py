"""Plain-text export: one line per final, optional timestamps and speaker labels,
and under each line its live translations (``    [es] Hola a todos.``)."""

from __future__ import annotations

from collections.abc import Iterable

from captioner.transcript.cues import line_text
from captioner.transcript.model import Gap, Segment, Translation, attach_translations
from captioner.transcript.render import (
    finals,
    gap_text,
    hms,
    label_prefixes,
    labelled,
    merge,
    multi_source,
    valid_gaps,
)


def to_txt(
    segments: Iterable[Segment],
    gaps: Iterable[Gap] = (),
    *,
    timestamps: bool = False,
    labels: bool = True,
    translations: Iterable[Translation] = (),
) -> str:
    """Plain text, one line per final segment.

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
    segs = finals(segments)
    gap_list = valid_gaps(gaps)
    items = merge(segs, gap_list)
    names = labelled(items)
    prefixes = label_prefixes(items, names, labels)
    multi = multi_source(segs, gap_list)
    under = attach_translations(segs, translations)
    lines: list[str] = []
    for i, item in enumerate(items):
        stamp = f"[{hms(item.start_ms)}] " if timestamps else ""
        if isinstance(item, Gap):
            if prefixes and lines and lines[-1]:
                lines.append("")  # a paragraph of its own, like a change of speaker
            lines.append(stamp + gap_text(item, with_source=multi))
            continue
        text = line_text(item.text)
        if i in prefixes:
            if lines and lines[-1]:
                lines.append("")
            text = f"{prefixes[i]}: {text}"
        lines.append(stamp + text)
        for language, translated in under.get(item.id, {}).items():
            lines.append(f"{' ' * len(stamp)}    [{language}] {line_text(translated)}")
    return "\n".join(lines) + "\n" if lines else ""
