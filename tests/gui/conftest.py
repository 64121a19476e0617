"""GUI test fixtures: settings on an INI file in tmp, an in-memory keychain, a journal folder.

Scripted runners (no audio, no network) are in ``scripted.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from captioner.secrets import MemoryStore
from captioner.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "captioner.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def journal_dir(tmp_path: Path) -> Path:
    return tmp_path / "sessions"
