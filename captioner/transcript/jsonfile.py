"""JSON export: the whole transcript as versioned JSON, and reading it back."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from captioner.transcript.codec import (
    gap_from_dict,
    gap_to_dict,
    segment_from_dict,
    segment_to_dict,
    translation_from_dict,
    translation_to_dict,
)
from captioner.transcript.model import Gap, Segment, Translation, attach_translations
from captioner.transcript.speakers import SpeakerNames

JSON_VERSION = 1


def to_json(
    segments: Iterable[Segment],
    gaps: Iterable[Gap] = (),
    meta: Mapping[str, Any] | None = None,
    translations: Iterable[Translation] = (),
) -> str:
    """The whole transcript as versioned JSON (pretty, UTF-8 text, not ASCII-escaped).

    Segments are the finals as the provider sent them, in time order — not the
    caption lines the other formats are made of (:mod:`.lines` rebuilds those), as
    this is the lossless format; each also carries its display ``label`` and,
    when there are live translations, ``translations`` (``{"es": "..."}``, the
    text shown under it). ``meta`` (provider, language, started_at, sources,
    ...) is copied; if it has no ``sources``, they are taken from the
    segments. Live translations, each with its own times, are listed in a
    top-level ``translations`` array when there are any.
    """
    segs = sorted(segments, key=lambda s: s.start_ms)
    gap_list = sorted(gaps, key=lambda g: g.start_ms)
    trs = sorted(translations, key=lambda t: t.start_ms)
    under = attach_translations(segs, trs)
    names = SpeakerNames()
    meta_out = dict(meta or {})
    meta_out.setdefault("sources", sorted({s.source for s in segs}))
    seg_docs = []
    for seg in segs:
        doc_seg = {**segment_to_dict(seg), "label": names.label(seg)}
        if seg.id in under:
            doc_seg["translations"] = under[seg.id]
        seg_docs.append(doc_seg)
    doc: dict[str, Any] = {
        "version": JSON_VERSION,
        "meta": meta_out,
        "segments": seg_docs,
        "gaps": [gap_to_dict(g) for g in gap_list],
    }
    if trs:
        doc["translations"] = [translation_to_dict(t) for t in trs]
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def translations_from_json(text: str) -> list[Translation]:
    """The live translations of :func:`to_json` output (none in older files).

    Raises:
        ValueError: not valid JSON or malformed entries.
    """
    try:
        return [translation_from_dict(t) for t in json.loads(text).get("translations") or ()]
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a transcript JSON file: {exc}") from exc


def from_json(text: str) -> tuple[list[Segment], list[Gap], dict[str, Any]]:
    """Read :func:`to_json` output back (translations: :func:`translations_from_json`).

    Returns:
        (segments, gaps, meta).

    Raises:
        ValueError: not valid JSON, a newer version, or malformed entries.
    """
    try:
        doc = json.loads(text)
        version = int(doc.get("version", 0))
        if version > JSON_VERSION:
            raise ValueError(
                f"transcript JSON version {version} is newer than this app ({JSON_VERSION})"
            )
        segs = [segment_from_dict(s) for s in doc.get("segments") or ()]
        gap_list = [gap_from_dict(g) for g in doc.get("gaps") or ()]
        return segs, gap_list, dict(doc.get("meta") or {})
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a transcript JSON file: {exc}") from exc
