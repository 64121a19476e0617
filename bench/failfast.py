"""How fast the CLI gives up on an endpoint nothing answers at; prints JSON.

For each cloud vendor it runs the real ``captioner transcribe FILE --streaming``
in a child process against a closed port on 127.0.0.1 (and, with ``--batch``,
the batch path against the same closed port) and records the exit code, the
seconds until it exited, the number of stderr lines and the last one (which
names the attempts). The target (issue 12): exit 1 within 10 s, at most two
quick retries. Wall time depends on the machine's load, so the 1-minute load
average is printed next to it; the tests check the attempts and the retry
schedule instead (``tests/integration/test_fail_fast.py``).

Run from the repository root: ``.venv/bin/python bench/failfast.py [--batch]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WAV = REPO / "tests" / "data" / "cmu-cards-001.wav"
ENV_VARS = {"revai": "REV_ACCESS_TOKEN", "assemblyai": "ASSEMBLYAI_API_KEY",
            "speechmatics": "SPEECHMATICS_API_KEY", "deepgram": "DEEPGRAM_API_KEY"}
TARGET_S = 10.0


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def give_up(provider: str, scheme: str, streaming: bool, home: Path) -> dict[str, object]:
    """One run of the CLI against a closed port: exit code, seconds, what it said."""
    env = {**os.environ, ENV_VARS[provider]: "bench-key", "CAPTIONER_DATA_DIR": str(home),
           "XDG_CONFIG_HOME": str(home / "config")}
    args = [sys.executable, "-m", "captioner", "transcribe", str(WAV), "--provider", provider,
            "--endpoint", f"{scheme}://127.0.0.1:{closed_port()}"]
    if streaming:
        args.append("--streaming")
    t0 = time.monotonic()
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=env, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - t0
    lines = done.stderr.strip().splitlines()
    attempts = re.search(r"(\d+) attempts", done.stderr)
    return {"exit": done.returncode, "seconds": round(seconds, 2),
            "within_target": done.returncode == 1 and seconds <= TARGET_S,
            "attempts": int(attempts.group(1)) if attempts else None,
            "stderr_lines": len(lines), "message": lines[-1] if lines else "",
            "traceback": "Traceback" in done.stderr}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", action="store_true",
                        help="also the batch path (a file without --streaming)")
    args = parser.parse_args()
    results: dict[str, object] = {"target_s": TARGET_S, "load_avg_1min": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="failfast-") as tmp:
        streaming = {p: give_up(p, "ws", True, Path(tmp) / p) for p in ENV_VARS}
        results["streaming"] = streaming
        if args.batch:
            results["batch"] = {p: give_up(p, "http", False, Path(tmp) / f"{p}-batch")
                                for p in ENV_VARS}
    results["load_avg_1min_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
