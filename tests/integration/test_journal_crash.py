"""A journaling process killed with SIGKILL loses no final it reported appended.

The child appends finals as fast as it can and prints ``ready <i>`` after each
``append_final`` returns (the point where the app would show it). The test
kills it after reading some of those lines, with no sleeps, then recovers the
session from disk.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from captioner.transcript import store as smod

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys
from captioner.transcript.journal import Journal
from captioner.providers.base import Word
from captioner.transcript import Segment

j = Journal.create(sys.argv[1], {"provider": "local", "language": "en", "sources": ["mic"]})
print("path", j.path, flush=True)
for i in range(1_000_000):
    text = f"final {i} " + "word " * (i % 40)
    words = tuple(Word(w, i * 1000 + k, i * 1000 + k + 1, 0.5) for k, w in enumerate(text.split()))
    j.append_final(Segment(f"mic-{i}", text.strip(), i * 1000, i * 1000 + 900, None, "mic", words))
    print("ready", i, flush=True)
"""


@pytest.mark.parametrize("kill_after", [1, 37, 400])
def test_sigkilled_session_keeps_every_reported_final(tmp_path: Path, kill_after: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    reported: list[int] = []
    try:
        assert child.stdout is not None
        first = child.stdout.readline().split(maxsplit=1)
        assert first[0] == "path", first
        path = Path(first[1].strip())
        while len(reported) < kill_after:
            line = child.stdout.readline()
            assert line, "child ended early"
            reported.append(int(line.split()[1]))
        child.send_signal(signal.SIGKILL)
        # whole lines the child printed before it died count as shown too; the kill
        # can cut the last one short ("ready "), which reported nothing
        rest = child.stdout.read().split("\n")[:-1]
        reported += [int(line.split()[1]) for line in rest if line.startswith("ready ")]
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL

    rec = smod.load_session(path)
    ids = [s.id for s in rec.segments]
    assert ids[: len(reported)] == [f"mic-{i}" for i in reported]
    assert len(ids) <= len(reported) + 1  # at most the one being appended when killed
    assert not rec.ended
    assert rec.meta["provider"] == "local"

    unfinished = smod.find_unfinished(tmp_path)
    assert [s.path for s in unfinished] == [path]
    assert smod.mark_recovered(path)
    recovered = smod.load_session(path)
    assert recovered.ended and recovered.recovered
    assert [s.id for s in recovered.segments] == ids
