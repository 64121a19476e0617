"""Remote batch jobs remembered on disk, so a restart resumes waiting instead of paying twice.

One small JSON file in the user data folder (``batch-jobs.json`` beside the
``sessions`` folder) maps a job key — vendor, endpoint, the file's path, size
and modification time, and the request options — to the vendor's job id. A
job is saved as soon as the vendor has accepted it, before polling starts, and
forgotten once its transcript is fetched, it failed, or it was cancelled. Jobs
that could not be deleted on cancel (a vendor that refuses to delete a job
still in progress) are kept under ``"delete"`` and deleted by a later run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from captioner.transcript.codec import default_dir
from captioner.transcript.files import ExportError, write_atomic

log = logging.getLogger(__name__)

FILE_NAME = "batch-jobs.json"
_lock = threading.Lock()


def default_path() -> Path:
    return default_dir().parent / FILE_NAME


def job_key(provider: str, base_url: str, path: Path, options: dict[str, Any]) -> str:
    """A stable key for "this file, sent to this vendor with these options"."""
    st = path.stat()
    ident = json.dumps([provider, base_url, str(path.resolve()), st.st_size, st.st_mtime_ns,
                        options], sort_keys=True, default=str)
    return hashlib.sha256(ident.encode()).hexdigest()[:32]


class JobStore:
    """The saved-jobs file; every call reads and rewrites it whole (it holds a few entries).

    Attributes:
        path: the JSON file.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"pending": {}, "delete": {}}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable %s (%s)", self.path.name, type(exc).__name__)
            return {"pending": {}, "delete": {}}
        if not isinstance(data, dict):
            data = {}
        for name in ("pending", "delete"):
            if not isinstance(data.get(name), dict):
                data[name] = {}
        return data

    def _save(self, data: dict[str, Any]) -> None:
        try:
            os.makedirs(self.path.parent, exist_ok=True)
            write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True))
        except (OSError, ExportError) as exc:
            # resuming is a convenience: the transcript itself must not fail for it
            log.warning("could not save the batch job list: %s", exc)

    def get(self, key: str) -> dict[str, Any] | None:
        """The saved job for ``key``: ``{"provider", "job_id", "base_url", "file", ...}``."""
        with _lock:
            entry = self._load()["pending"].get(key)
        return entry if isinstance(entry, dict) and isinstance(entry.get("job_id"), str) else None

    def put(self, key: str, provider: str, job_id: str, base_url: str, file: Path) -> None:
        with _lock:
            data = self._load()
            data["pending"][key] = {"provider": provider, "job_id": job_id,
                                    "base_url": base_url, "file": str(file),
                                    "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            self._save(data)

    def forget(self, key: str) -> None:
        with _lock:
            data = self._load()
            if data["pending"].pop(key, None) is not None:
                self._save(data)

    def pending(self) -> dict[str, dict[str, Any]]:
        with _lock:
            return dict(self._load()["pending"])

    # -- jobs to delete later --------------------------------------------------

    def delete_later(self, provider: str, job_id: str, base_url: str) -> None:
        with _lock:
            data = self._load()
            data["delete"][f"{provider}:{job_id}"] = {"provider": provider, "job_id": job_id,
                                                      "base_url": base_url}
            self._save(data)

    def to_delete(self, provider: str, base_url: str) -> list[str]:
        with _lock:
            entries = self._load()["delete"].values()
        return [e["job_id"] for e in entries if isinstance(e, dict)
                and e.get("provider") == provider and e.get("base_url") == base_url
                and isinstance(e.get("job_id"), str)]

    def deleted(self, provider: str, job_id: str) -> None:
        with _lock:
            data = self._load()
            if data["delete"].pop(f"{provider}:{job_id}", None) is not None:
                self._save(data)
