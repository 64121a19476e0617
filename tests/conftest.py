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
