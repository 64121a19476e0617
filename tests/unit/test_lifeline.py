"""The engine's lifeline: pid files an earlier crash left are reaped, reused pids never hit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from captioner.engine import lifeline


@pytest.fixture
def pid_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAPTIONER_DATA_DIR", str(tmp_path))
    return lifeline.pid_dir()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def record(pid_dir: Path, child: int, start: int | None, parent: int, parent_start: int | None
           ) -> Path:
    pid_dir.mkdir(parents=True, exist_ok=True)
    path = pid_dir / f"{parent}-{child}.json"
    path.write_text(json.dumps({"pid": child, "start": start, "parent": parent,
                                "parent_start": parent_start}))
    return path


def test_an_engine_whose_app_died_is_ended(pid_dir: Path) -> None:
    orphan = sleeper()
    try:
        path = record(pid_dir, orphan.pid, lifeline.process_start_ticks(orphan.pid),
                      dead_pid(), 12345)
        assert lifeline.reap_orphans() == [orphan.pid]
        assert orphan.wait(10) is not None and not path.exists()
    finally:
        orphan.kill()
        orphan.wait()


def test_an_engine_of_a_running_app_or_a_reused_pid_is_left_alone(pid_dir: Path) -> None:
    other = sleeper()
    try:
        start = lifeline.process_start_ticks(other.pid)
        mine = lifeline.process_start_ticks(os.getpid())
        record(pid_dir, other.pid, start, os.getpid(), mine)  # its app (us) is running
        reused = record(pid_dir, other.pid, (start or 0) + 1, dead_pid(), None)  # not that one
        assert lifeline.reap_orphans() == []
        assert other.poll() is None and not reused.exists()
    finally:
        other.kill()
        other.wait()


def test_write_and_remove_pid_file(pid_dir: Path) -> None:
    path = lifeline.write_pid_file(os.getpid())
    assert path is not None and json.loads(path.read_text())["parent"] == os.getpid()
    lifeline.remove_pid_file(path)
    assert not path.exists()
