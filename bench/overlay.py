"""Benchmark of the caption overlay: cost of one partial update, empty vs. a 3-hour transcript.

One update is what the GUI thread does for each partial the recognizer sends:
apply the change to the overlay's model and repaint the caption area (layout of
the partial, drawing of the visible lines with outline) into an image the size
of the overlay. It is measured with an empty transcript and with ~2,500 finals
loaded (about three hours of speech), and the ratio shows it stays flat: only
visible lines are laid out and drawn. A third case feeds what the offline
engine sends in continuous speech: a final every few words (no sentence end in
most), so each final joins the caption line on screen and each partial is drawn
on that line (laid out with it). Prints one JSON object. Run from the repo root::

    .venv/bin/python bench/overlay.py [--updates 600] [--finals 2500]

Uses Qt's offscreen platform; timings are wall clock (``time.perf_counter``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

WORDS = ("the of and to in that is was he for it with as his on be at by had not are but "
         "from or have an they which one you were all her she there would their we him "
         "been has when who will more no if out so said what up its about into than them "
         "can only other new some could time these two may then do first any my now such "
         "like our over man me even most made after also did many before must through back "
         "years where much your way well down should because each just those people how "
         "too little state good very make world still own see men work long get here between "
         "both life being under never day same another know while last might us great old "
         "year off come since against go came right used take three").split()


def sentence(rng: random.Random) -> str:
    n = rng.randint(6, 24)
    text = " ".join(rng.choice(WORDS) for _ in range(n))
    return text[0].upper() + text[1:] + "."


def measure(finals: int, updates: int, seed: int, chunked: bool = False) -> dict[str, float]:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter

    from captioner.gui.caption_style import CaptionStyle
    from captioner.gui.caption_view import CaptionView
    from captioner.providers.base import Final, Partial
    from captioner.transcript import Transcript

    rng = random.Random(seed)
    view = CaptionView(CaptionStyle(font_family="DejaVu Sans", font_pt=28, lines=3,
                                    outline=True))
    view.resize(1100, view.height_for_lines(3))
    transcript = Transcript()
    t_ms = 0
    for _ in range(finals):  # ~4.3 s each: 2,500 finals ≈ 3 hours
        view.apply(transcript.apply(Final(sentence(rng), t_ms, t_ms + 4000), "mic"))
        t_ms += 4300
    image = QImage(view.size(), QImage.Format.Format_ARGB32_Premultiplied)

    def paint() -> None:
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        view.paint_captions(painter)
        painter.end()

    paint()  # the visible finals are laid out once, here
    layouts_before = view.layouts_done
    costs_ms = []
    words: list[str] = []
    for i in range(updates):
        if i % 25 == 24 or (chunked and i % 5 == 4):  # words become final
            end = "." if i % 25 == 24 else ""
            span_ms = 4000 if not chunked else 200 * len(words)
            change = transcript.apply(Final(" ".join(words) + end, t_ms, t_ms + span_ms),
                                      "mic")
            words = []
            t_ms += span_ms + (300 if end or not chunked else 100)
        else:
            words.append(rng.choice(WORDS))
            change = transcript.apply(Partial(" ".join(words), t_ms, t_ms + 200 * len(words)),
                                      "mic")
        start = time.perf_counter()
        view.apply(change)
        paint()
        costs_ms.append((time.perf_counter() - start) * 1000)
    costs_ms.sort()
    return {
        "lines": len(view.model.finals),
        "updates": updates,
        "median_ms": round(statistics.median(costs_ms), 3),
        "p99_ms": round(costs_ms[min(len(costs_ms) - 1, int(len(costs_ms) * 0.99))], 3),
        "max_ms": round(costs_ms[-1], 3),
        "layouts_per_update": round((view.layouts_done - layouts_before) / updates, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=600, help="partials to time per case")
    parser.add_argument("--finals", type=int, default=2500, help="finals in the long case")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    import captioner.gui  # noqa: F401 - applies the Qt workarounds

    app = QApplication.instance() or QApplication(sys.argv[:1])
    measure(0, 50, args.seed)  # warm up fonts and caches
    empty = measure(0, args.updates, args.seed)
    loaded = measure(args.finals, args.updates, args.seed)
    chunked = measure(args.finals, args.updates, args.seed, chunked=True)
    result = {
        "benchmark": "overlay update per partial (apply + repaint of the caption area)",
        "platform": app.platformName(),
        "empty": empty,
        "three_hours": loaded,
        "three_hours_word_chunk_finals": chunked,
        "median_ratio": round(loaded["median_ms"] / max(empty["median_ms"], 1e-6), 2),
        "p99_ratio": round(loaded["p99_ms"] / max(empty["p99_ms"], 1e-6), 2),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
