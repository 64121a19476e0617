"""Run the app (``python tests/e2e/overlay_probe.py OUT.jsonl gui --start``) and write what
the caption overlay paints, one JSON line a paint, for rig tests that check the real
windows: the rows, the partials' share of them, each line drawn (entry key, text, final or
not, the continuing partial's words on it), the drawn entries (label, source, times) and
the words of the overlay's status line."""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from PySide6.QtGui import QPainter

from captioner.cli import main
from captioner.gui.caption_model import partial_rows
from captioner.gui.caption_view import CaptionView


def record_paints(out: IO[str]) -> None:
    paint = CaptionView.paint_captions

    def recording(view: CaptionView, painter: QPainter) -> None:
        paint(view, painter)
        if view.window().windowTitle() != "Captions":
            return  # a preview, not the overlay
        rows = view.rows()
        entries: dict[str, Any] = {}
        for entry in [*view.model.finals[-rows:], *view.model.partials]:
            entries[entry.key] = [entry.label, entry.source, entry.start_ms, entry.end_ms,
                                  entry.text]
        status_line = getattr(view.window(), "status_line", None)
        record = {"rows": rows, "share": partial_rows(rows),
                  "status": status_line.text() if status_line is not None else "",
                  "lines": [[ln.key, ln.text, ln.is_final, ln.tail, ln.language]
                            for ln in view.drawn_lines()],
                  "entries": {ln.key: entries.get(ln.key) for ln in view.drawn_lines()}}
        out.write(json.dumps(record) + "\n")

    CaptionView.paint_captions = recording  # type: ignore[method-assign]


if __name__ == "__main__":
    with open(sys.argv[1], "a", encoding="utf-8", buffering=1) as handle:
        record_paints(handle)
        raise SystemExit(main(sys.argv[2:]))
