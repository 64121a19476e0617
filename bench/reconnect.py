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

Then, per vendor, the session-cap rollover (no outage; the stream's cap is
``--rollover-cap`` seconds, the fake's own cap a little later), both the
overlapping one (``rollover-overlap``: the next session opens before the
current one ends) and, for comparison, the sequential one (end, reconnect,
replay and catch up): per switch, audio heard by both sessions / by neither /
replayed (``switches``), lag before and after the first rollover, words lost
or duplicated, marked gaps, peak concurrent sessions at the fake. In these
cases the fakes take ``--session-start`` seconds to start a session, as a
real service does (the fakes otherwise answer at once, which would hide what
the sequential rollover waits for).

Each vendor's backlog speed (``catchup_speed``, :mod:`captioner.pacing`) is
printed with its results; ``load_average`` (1/5/15 min, at the start and the
end), ``nice`` and the process CPU seconds per audio second come with the
wall-clock figures, which are sensitive to load.

Run: ``nice -n 10 .venv/bin/python bench/reconnect.py [--duration 120]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from captioner.config import BYTES_PER_MS  # noqa: E402
from captioner.pacing import CATCH_UP_MODES, STAY_LIVE, pace_for  # noqa: E402
from captioner.testing.drill import BLOCK_MS, FAKES, run_drill  # noqa: E402


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    vendors = args.vendors.split(",")
    jobs = [run_drill(vendor, mode, args.duration, args.outage)
            for vendor in vendors for mode in args.modes.split(",") if mode]
    results = list(await asyncio.gather(*jobs))
    start = {"start_delay_s": args.session_start}
    jobs = [run_drill(vendor, STAY_LIVE, args.duration, 0.0, cap_s=args.rollover_cap,
                      overlap=kind == "overlap", fake_options=start)
            for vendor in vendors for kind in args.rollover.split(",") if kind]
    results += await asyncio.gather(*jobs)  # a second phase: the machine as loaded as before
    for result in results:
        result["catchup_speed"] = pace_for(result["vendor"]).catchup_speed
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of audio")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds without network")
    parser.add_argument("--vendors", default=",".join(FAKES))
    parser.add_argument("--modes", default=",".join(CATCH_UP_MODES),
                        help="catch-up modes for the outage (empty: none)")
    parser.add_argument("--rollover", default="overlap,sequential",
                        help="rollover kinds to measure (empty: none)")
    parser.add_argument("--rollover-cap", type=float, default=30.0,
                        help="the stream's session cap in the rollover cases (s)")
    parser.add_argument("--session-start", type=float, default=0.8,
                        help="in the rollover cases, how long the fakes take to start a "
                        "session (s; Speechmatics: 'typically less than a second')")
    args = parser.parse_args()
    load_before = os.getloadavg()
    results = asyncio.run(main_async(args))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    streams = len(results)
    print(json.dumps({"benchmark": "reconnect", "duration_s": args.duration,
                      "outage_s": args.outage, "rollover_cap_s": args.rollover_cap,
                      "rollover_session_start_s": args.session_start,
                      "block_ms": BLOCK_MS, "bytes_per_ms": BYTES_PER_MS,
                      "load_average": {"start": [round(x, 2) for x in load_before],
                                       "end": [round(x, 2) for x in os.getloadavg()]},
                      "nice": os.nice(0),
                      "cpu_s_per_audio_s": round((usage.ru_utime + usage.ru_stime)
                                                 / max(1.0, streams * args.duration), 4),
                      "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
