"""The engine child ends with the app that started it, however the app dies.

Three layers, because each covers a case the others miss:

- **A lifeline pipe** (everywhere): the parent keeps the write end of the
  child's stdin open and never writes. :func:`exit_with_parent` (in the child)
  reads stdin in a thread; end-of-file means every holder of the write end is
  gone, i.e. the parent died (SIGKILL included), and the child exits.
- **``PR_SET_PDEATHSIG``** (Linux): the kernel sends the child SIGTERM when
  the thread that started it ends. The parent starts children from one
  long-lived thread (see :mod:`captioner.providers.local`) so this means "when
  the parent process ends".
- **A pid file the app owns** (:func:`write_pid_file`, :func:`reap_orphans`):
  on start the app ends an engine recorded by an earlier instance that is no
  longer running, checked by process start time so a reused pid is never hit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from captioner.transcript.codec import default_dir

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def exit_with_parent(parent_pid: int) -> None:
    """In the engine child: end this process when ``parent_pid`` ends (see the module doc).

    Ctrl-C and a closed terminal signal the whole foreground process group; the
    parent decides when its engine stops (it is finishing the last words), so
    this child ignores SIGINT and SIGHUP.
    """
    for name in ("SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        _set_pdeathsig(signal.SIGTERM)
    if os.getppid() != parent_pid:  # it died before we were watching
        log.warning("the app that started the engine is gone; exiting")
        os._exit(0)
    threading.Thread(target=_watch_stdin, daemon=True, name="engine-lifeline").start()


def _set_pdeathsig(signum: int) -> None:
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    except (OSError, AttributeError) as exc:
        log.warning("prctl is not available: %s", exc)


def _watch_stdin() -> None:
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except (OSError, ValueError):
        pass
    log.warning("the app that started the engine is gone; exiting")
    os._exit(0)


# -- pid files ---------------------------------------------------------------------------


def pid_dir() -> Path:
    """``<data folder>/engines``: one ``<app pid>-<engine pid>.json`` per engine child."""
    return default_dir().parent / "engines"


def process_start_ticks(pid: int) -> int | None:
    """A live process's start time (Linux ``/proc``), which tells a reused pid apart; else
    None (no such process, a zombie, or not Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:  # the command name (field 2) may hold spaces; fields after it are plain
        fields = stat.rsplit(")", 1)[1].split()
        return None if fields[0] == "Z" else int(fields[19])  # a zombie has ended
    except (IndexError, ValueError):
        return None


def write_pid_file(child_pid: int) -> Path | None:
    """Record the engine child of this process; returns the file (None if it can't)."""
    path = pid_dir() / f"{os.getpid()}-{child_pid}.json"
    record = {"pid": child_pid, "start": process_start_ticks(child_pid),
              "parent": os.getpid(), "parent_start": process_start_ticks(os.getpid())}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record))
    except OSError as exc:
        log.warning("can't write the engine's pid file: %s", exc)
        return None
    return path


def remove_pid_file(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def _same_process(pid: object, start: object) -> bool:
    """Whether ``pid`` is alive and is the process that started at ``start``."""
    if not isinstance(pid, int) or pid <= 0 or start is None:
        return False
    return process_start_ticks(pid) == start


def reap_orphans(wait_s: float = 3.0) -> list[int]:
    """End engines whose app is gone (a crash of an earlier instance); returns their pids.

    Only acts where process start times can be checked (Linux); elsewhere the
    lifeline pipe is what ends an orphan.
    """
    ended: list[int] = []
    try:
        files = list(pid_dir().glob("*.json"))
    except OSError:
        return ended
    for path in files:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            remove_pid_file(path)
            continue
        if not isinstance(record, dict):
            remove_pid_file(path)
            continue
        if _same_process(record.get("parent"), record.get("parent_start")):
            continue  # its app is running
        pid = record.get("pid")
        if _same_process(pid, record.get("start")):
            assert isinstance(pid, int)
            log.warning("ending an offline engine left running by an earlier crash (pid %s)",
                        pid)
            _terminate(pid, record.get("start"), wait_s)
            ended.append(pid)
        remove_pid_file(path)
    return ended


def _terminate(pid: int, start: object, wait_s: float) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not _same_process(pid, start):
            return
        time.sleep(0.05)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
