"""Run the app (``python -m tests.e2e.overlay_probe OUT.jsonl gui --start``) and write what
the caption overlay paints, one JSON line a paint, for rig tests that check the real
windows: the rows, the partials' share of them, each line drawn (entry key, text, final or
not, the continuing partial's words on it), the drawn entries (label, source, times) and
the words of the overlay's status line. :func:`probed_app` starts it for a test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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


@contextmanager
def probed_app(tmp_path: Path, python: str,
               conf: str) -> Iterator[tuple[subprocess.Popen, Path, Path]]:
    """The app (``gui --start``) on the rig's display with the settings file ``conf``,
    writing each overlay paint: ``(process, paints.jsonl, data folder)``; SIGTERM at the end."""
    # NB: not at the top: the tests' modules point the user folders elsewhere when imported,
    # and the app this module runs must read the folders given here
    from tests.e2e.rig_helpers import stop_app

    assert os.environ.get("DISPLAY"), "the rig's X display is not set (source $RIG/env)"
    config = tmp_path / "config" / "captioner"
    config.mkdir(parents=True)
    (config / "captioner.conf").write_text(conf)
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"),
               CAPTIONER_DATA_DIR=str(tmp_path / "data"),
               CAPTIONER_LOG_DIR=str(tmp_path / "log"), PYTHONUNBUFFERED="1")
    paints = tmp_path / "paints.jsonl"
    with open(tmp_path / "app.out", "w") as log:
        proc = subprocess.Popen([python, "-m", "tests.e2e.overlay_probe", str(paints), "gui",
                                 "--start"],
                                cwd=Path(__file__).parents[2], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            yield proc, paints, tmp_path / "data"
        finally:
            stop_app(proc)


def paints_of(path: Path) -> list[dict[str, Any]]:
    """The paints written so far (a line being written is left out)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


if __name__ == "__main__":
    with open(sys.argv[1], "a", encoding="utf-8", buffering=1) as handle:
        record_paints(handle)
        raise SystemExit(main(sys.argv[2:]))
