"""A journaling process killed with SIGKILL loses no final it reported appended.

The child appends finals as fast as it can and prints ``ready <i>`` when the
journal's :class:`WriteThenShow` delivers it (the point where the app shows it). The test
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
import asyncio, sys
from captioner.transcript.journal import Journal, WriteThenShow
from captioner.providers.base import Word
from captioner.transcript import Segment

if len(sys.argv) > 2 and sys.argv[2] == "stuck-fsync":
    import os, threading
    os.fsync = lambda fd: threading.Event().wait()  # a disk whose fsync never returns

j = Journal.create(sys.argv[1], {"provider": "local", "language": "en", "sources": ["mic"]})
print("path", j.path, flush=True)

async def main():
    loop = asyncio.get_running_loop()
    shown = WriteThenShow(j, lambda i: print("ready", i, flush=True), loop.call_soon_threadsafe)
    for i in range(1_000_000):
        text = f"final {i} " + "word " * (i % 40)
        words = tuple(Word(w, i * 1000 + k, i * 1000 + k + 1, 0.5)
                      for k, w in enumerate(text.split()))
        seg = Segment(f"mic-{i}", text.strip(), i * 1000, i * 1000 + 900, None, "mic", words)
        if j.append_final(seg):
            shown.submit(i, j.appended_seq)
        # at most ~1000 finals a second (a meeting makes a few): as fast as that, a loaded
        # machine's writer could fall 32 MB behind, and a full backlog drops lines by design
        await asyncio.sleep(0.001)

asyncio.run(main())
"""


@pytest.mark.parametrize(("kill_after", "disk"), [(1, "ok"), (37, "ok"), (400, "ok"),
                                                 (200, "stuck-fsync")])
def test_sigkilled_session_keeps_every_reported_final(
    tmp_path: Path, kill_after: int, disk: str
) -> None:
    """Also with an fsync that never returns: the writer thread keeps writing lines
    to the OS and the loop keeps showing them, so a kill still loses nothing shown."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), disk],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
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
        err = child.stderr.read() if child.stderr is not None else ""
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
    assert child.returncode == -signal.SIGKILL, err

    rec = smod.load_session(path)
    ids = [s.id for s in rec.segments]
    missing = sorted(set(reported) - {int(i.split("-")[1]) for i in ids})
    assert ids[: len(reported)] == [f"mic-{i}" for i in reported], (
        f"{len(ids)} on disk, {len(reported)} shown, shown but not on disk: {missing[:10]}, "
        f"skipped lines: {rec.skipped_lines}")
    # written but not yet shown when killed is fine; a hole is not
    assert ids == [f"mic-{i}" for i in range(len(ids))]
    assert not rec.ended
    assert rec.meta["provider"] == "local"

    unfinished = smod.find_unfinished(tmp_path)
    assert [s.path for s in unfinished] == [path]
    assert smod.mark_recovered(path)
    recovered = smod.load_session(path)
    assert recovered.ended and recovered.recovered
    assert [s.id for s in recovered.segments] == ids
