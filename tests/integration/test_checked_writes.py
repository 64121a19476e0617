"""Exports and session listings that cannot hang, lie or replace what isn't theirs.

Before: ``export -o /dev/full`` exited 0 having written nothing (as root it replaced the
device with a regular file); an ``-o`` symlink was replaced by a file; a FIFO named
``*.jsonl`` hung ``sessions`` and every ``export``; a full disk crashed ``export`` with a
traceback from marking the session recovered.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from captioner import history_cli
from captioner.transcript import store
from captioner.transcript.export import ExportError
from captioner.transcript.files import write_atomic
from captioner.transcript.journal import Journal
from captioner.transcript.model import Segment
from tests.conftest import REPO


def captioner(*args: str, data_dir: Path, stdout: int | None = subprocess.PIPE
              ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CAPTIONER_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "captioner", *args], cwd=REPO, env=env,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=30)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith("captioner: error: ") and "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def session(tmp_path: Path) -> str:
    """A session a crash left unfinished (no end line), with one final."""
    journal = Journal.create(tmp_path / "sessions", {"provider": "local", "language": "en"})
    journal.append_final(Segment("mic-1", "Checked writes only.", 0, 1500))
    journal.flush()
    path = journal.path
    data = path.read_bytes()
    journal.close()
    path.write_bytes(data)  # as the crash left it: no end line
    return journal.id


def test_export_to_a_device_is_refused_and_the_device_kept(session: str, tmp_path: Path) -> None:
    line = one_line(captioner("export", session, "-o", "/dev/full", data_dir=tmp_path))
    assert "not a regular file" in line
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_export_to_a_full_stdout_is_exit_1_with_one_line(session: str, tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        result = captioner("export", session, data_dir=tmp_path, stdout=full.fileno())
    assert "the disk is full" in one_line(result)


def test_export_writes_through_a_symlink(session: str, tmp_path: Path) -> None:
    real = tmp_path / "notes" / "meeting.txt"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "latest.txt"
    link.symlink_to(real)
    result = captioner("export", session, "-o", str(link), data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and "Checked writes only." in real.read_text()
    assert not [p for p in real.parent.iterdir() if p.name.endswith(".tmp")]


def test_write_atomic_refuses_a_fifo_and_a_folder(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(ExportError, match="not a regular file"):
        write_atomic(fifo, "x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    with pytest.raises(ExportError, match="folder"):
        write_atomic(tmp_path, "x")


def test_a_fifo_or_folder_named_jsonl_is_skipped_not_waited_on(session: str,
                                                               tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "sessions" / "20261201-000000-fifo.jsonl")
    (tmp_path / "sessions" / "20261201-000001-dir0.jsonl").mkdir()
    listing = captioner("sessions", data_dir=tmp_path)  # timeout=30: a hang fails
    assert listing.returncode == 0 and session in listing.stdout and not listing.stderr
    assert len(listing.stdout.splitlines()) == 2, listing.stdout
    exported = captioner("export", session, data_dir=tmp_path)
    assert exported.returncode == 0 and "Checked writes only." in exported.stdout
    assert not exported.stderr


def test_a_full_disk_never_tears_the_recovery_mark_and_export_still_works(
        session: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sessions" / f"{session}.jsonl"
    before = path.read_bytes()

    class Full:
        f_bavail, f_frsize = 0, 4096

    monkeypatch.setattr(os, "statvfs", lambda _path: Full())
    with pytest.raises(OSError) as info:
        store.mark_recovered(path)
    assert info.value.errno == errno.ENOSPC and path.read_bytes() == before

    monkeypatch.setenv("CAPTIONER_DATA_DIR", str(tmp_path))
    assert history_cli.export_command(session, "txt", None) == 0
    assert "Checked writes only." in capsys.readouterr().out
    assert path.read_bytes() == before  # still unfinished: recovered once there is room


def test_a_read_only_disk_does_not_stop_an_export(session: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    def read_only(_path: object) -> bool:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(store, "mark_recovered", read_only)
    monkeypatch.setenv("CAPTIONER_DATA_DIR", str(tmp_path))
    assert history_cli.export_command(session, "txt", None) == 0
    assert "Checked writes only." in capsys.readouterr().out
