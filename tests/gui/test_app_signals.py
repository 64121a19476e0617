"""SIGTERM ends the real app in any state, the "Recover transcripts" dialog included, and
``--start`` (autostart at login) never waits on that dialog.

Before: the dialog blocked ``captioner --start`` (no captions after login) and the app
ignored SIGTERM while it was open (still running 600 s later).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from captioner.transcript.codec import segment_to_dict
from captioner.transcript.model import Segment
from tests.conftest import REPO
from tests.lifecycle import assert_no_engine_survives, captioner, reap, signal_and_wait, wait_for


def crashed_session(data_dir: Path) -> str:
    """A session file as a killed app leaves it: header and finals, no end line."""
    folder = data_dir / "sessions"
    folder.mkdir(parents=True)
    sid = "20261201-100000-abcd"
    lines = [{"type": "session", "version": 1, "id": sid,
              "started_at": "2026-12-01T10:00:00+00:00", "provider": "local",
              "language": "en", "sources": ["mic"]},
             {"type": "final", **segment_to_dict(Segment("mic-1", "Nothing shown is ever lost.",
                                                          0, 1500))}]
    (folder / f"{sid}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return sid


def launch(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    env = {"QT_QPA_PLATFORM": "offscreen", "CAPTIONER_DATA_DIR": str(tmp_path / "data"),
           "CAPTIONER_LOG_DIR": str(tmp_path / "log"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    out = open(tmp_path / "app.out", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "captioner", "gui", *args], cwd=REPO,
                            env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    out.close()
    return proc, env


def log_has(tmp_path: Path, text: str) -> bool:
    path = tmp_path / "log" / "captioner.log"
    return path.exists() and text in path.read_text()


def test_sigterm_ends_the_app_while_the_recover_dialog_is_open(tmp_path: Path) -> None:
    sid = crashed_session(tmp_path / "data")
    proc, env = launch(tmp_path)
    try:
        wait_for("the recover dialog", lambda: log_has(tmp_path, "asking whether to recover"),
                 60)
        code = signal_and_wait(proc, signal.SIGTERM, 15)  # the app's own deadline is 5 s
    finally:
        reap(proc)
    assert code == 0, (tmp_path / "app.out").read_text()
    assert "Traceback" not in (tmp_path / "app.out").read_text()
    listing = captioner("sessions", env=env).stdout
    assert sid in listing and "unfinished" in listing  # not answered: offered again next time


def test_start_recovers_silently_and_captions(tmp_path: Path) -> None:
    """--start has no one to answer a dialog: it recovers, then starts captioning."""
    sid = crashed_session(tmp_path / "data")
    proc, env = launch(tmp_path, "--start")
    try:
        wait_for("a new session journal",
                 lambda: len(list((tmp_path / "data" / "sessions").glob("*.jsonl"))) == 2, 60)
        assert not log_has(tmp_path, "asking whether to recover")
        code = signal_and_wait(proc, signal.SIGTERM, 15)
    finally:
        reap(proc)
    assert code == 0, (tmp_path / "app.out").read_text()
    assert_no_engine_survives(proc.pid)
    rows = {line.split()[0]: line.split()[-1]
            for line in captioner("sessions", env=env).stdout.splitlines()[1:]}
    assert rows[sid] == "recovered"
    assert "Nothing shown is ever lost." in captioner("export", sid, env=env).stdout
