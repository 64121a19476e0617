"""Benchmark of getting back to live after a network outage, per vendor fake; prints JSON.

For each vendor's protocol fake a stream runs for ``--duration`` seconds of
continuous scripted speech sent at real time (timecoded audio, so every
connection's fake hears the same words at the same session times). In the
middle an :class:`~captioner.testing.outage.OutageProxy` takes the network away
for ``--outage`` seconds (open connections aborted, new ones refused), then
gives it back. Measured per vendor and catch-up mode ("live" = stay live,
"complete"):

* ``lag_ms``: how far the newest caption (partial or final) is behind live
  audio, sampled every 250 ms (``lag_timeline`` in 1 s steps from the cut;
  ``lag_p50_ms``/``lag_max_ms`` before the outage as the baseline);
* ``reconnected_after_s``: from the network's return to the stream being live;
* ``back_to_live_s``: from the stream being live again until the lag is ≤ 1 s
  for good (``back_to_live_from_restore_s`` counts from the network's return);
* ``words_lost`` / ``words_duplicated`` / ``words_skipped``: script words with
  no final / more than one final / inside a "skipped to stay live" gap, and
  ``finals_lost`` / ``finals_duplicated`` for whole utterances;
* ``gap_ms``: marked gaps in total.

Run: ``flock /tmp/heavy.lock .venv/bin/python bench/reconnect.py [--duration 120]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from captioner.config import BYTES_PER_MS  # noqa: E402
from captioner.pacing import CATCH_UP_MODES  # noqa: E402
from captioner.testing.drill import BLOCK_MS, FAKES, run_drill  # noqa: E402


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    jobs = [run_drill(vendor, mode, args.duration, args.outage)
            for vendor in args.vendors.split(",") for mode in args.modes.split(",")]
    return list(await asyncio.gather(*jobs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of audio")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds without network")
    parser.add_argument("--vendors", default=",".join(FAKES))
    parser.add_argument("--modes", default=",".join(CATCH_UP_MODES))
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    print(json.dumps({"benchmark": "reconnect", "duration_s": args.duration,
                      "outage_s": args.outage, "block_ms": BLOCK_MS,
                      "bytes_per_ms": BYTES_PER_MS, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
