"""Test-wide setup: offscreen Qt unless a test opts into the rig's display, isolated user dirs.

Qt needs its platform chosen before a QApplication exists, so it is set here.
Settings, journals and logs go to a per-run temporary directory, never the
developer's own.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_tmp_home = Path(tempfile.mkdtemp(prefix="captioner-test-home-"))
os.environ["CAPTIONER_DATA_DIR"] = str(_tmp_home / "data")
os.environ["XDG_CONFIG_HOME"] = str(_tmp_home / "config")
os.environ["XDG_DATA_HOME"] = str(_tmp_home / "share")

# 2-core CI machines run other work too: judge properties, not speed
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow],
                          max_examples=100)
settings.load_profile("ci")

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent


@pytest.fixture
def data_dir() -> Path:
    return DATA


def reference_text(name: str) -> str:
    for line in (DATA / "transcripts.tsv").read_text().splitlines()[1:]:
        file, text = line.split("\t", 1)
        if file == name:
            return text
    raise KeyError(name)


@pytest.fixture
def python() -> str:
    return sys.executable


# -- nothing left running -------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[int, str, int] | None:
    """(ppid, state, start time in clock ticks) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), fields[0], int(fields[19])


# every process this run starts inherits it, so orphans can be told from others' processes
RUN_MARKER = f"CAPTIONER_TEST_RUN={os.getpid()}-{os.urandom(4).hex()}"
os.environ["CAPTIONER_TEST_RUN"] = RUN_MARKER.split("=", 1)[1]


def _read(pid: int, name: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return b""


def leftover_processes() -> list[str]:
    """Processes this test run started that are still running: our descendants, and
    orphans (a child whose parent died without stopping it) that carry this run's marker."""
    me = os.getpid()
    mine = _proc_stat(me)
    if mine is None:  # no /proc (not Linux): nothing to check
        return []
    started = mine[2]
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None:
            table[int(entry.name)] = stat
    found = []
    for pid, (ppid, state, start) in table.items():
        if pid == me or state == "Z" or start < started:
            continue
        chain, p = set(), ppid
        while p > 1 and p not in chain and p != me:
            chain.add(p)
            p = table.get(p, (0, "", 0))[0]
        if p == me or RUN_MARKER.encode() in _read(pid, "environ").split(b"\0"):
            cmd = _read(pid, "cmdline").replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{pid}: {cmd.strip()[:200]}")
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a test left a process running (and end those processes)."""
    if hasattr(session.config, "workerinput"):
        return
    import signal
    import time

    deadline = time.monotonic() + 10  # give children that are exiting a moment
    left = leftover_processes()
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = leftover_processes()
    if not left:
        return
    for line in left:
        try:
            os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
        except OSError:
            pass
    session.config.get_terminal_writer().line(
        "\nFAILED: tests left processes running (now killed):\n  " + "\n  ".join(left), red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
