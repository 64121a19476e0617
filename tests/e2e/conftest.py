"""End-to-end fixtures: the headless rig's PulseAudio, private virtual devices, the engine.

Tests marked ``rig`` need the rig from ``ci/rig`` (PulseAudio with a virtual
microphone). They never skip: without the rig they fail with the instructions
to start it.

So that tests of several engineers can share one rig, each test session makes
its own devices on the rig's PulseAudio, built exactly like ``ci/virtmic.pa``
builds ``virtmic`` and ``speakers``: a 16 kHz mono null sink kept rendering in
small blocks by a silent loopback, remapped into a source (the "microphone"),
and a 48 kHz stereo null sink whose monitor is "system audio". Audio played into
them reaches nobody else, and unplugging our microphone disturbs nobody.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.rig_helpers import VirtualDevices

RIG_HELP = """
The end-to-end tests (marked `rig`) need the headless audio rig, which is not up:
{problem}

Start it and run the tests from a shell that has its environment:

    RIG=/tmp/captioner-rig bash ci/rig start
    source /tmp/captioner-rig/env
    .venv/bin/python -m pytest tests/e2e

(ci/test does all of this.) To run everything else, deselect them and the bundle build:
-m "not rig and not bundle".
"""


def _rig_problem() -> str | None:
    if "CAPTIONER_RIG" not in os.environ:
        return "CAPTIONER_RIG is not set (source the rig's env file)."
    for tool in ("pactl", "paplay"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (ci/system-packages installs it)."
    info = subprocess.run(["pactl", "info"], capture_output=True, text=True, check=False,
                          env=dict(os.environ, LC_ALL="C"))
    if info.returncode != 0:
        return f"PulseAudio is not answering: {info.stderr.strip() or 'pactl info failed'}"
    sources = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True,
                             text=True, check=False).stdout
    if "\tsilence\t" not in sources:
        return "PulseAudio runs, but without the rig's devices (ci/virtmic.pa)."
    return None


@pytest.fixture(scope="session")
def rig() -> str:
    problem = _rig_problem()
    if problem:
        pytest.fail(RIG_HELP.format(problem=problem), pytrace=False)
    return os.environ["CAPTIONER_RIG"]


@pytest.fixture(autouse=True)
def _rig_required(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("rig") is not None:
        request.getfixturevalue("rig")


@pytest.fixture(scope="session")
def virtual_devices(rig: str) -> Iterator[VirtualDevices]:
    devices = VirtualDevices(f"captest{os.getpid()}")
    try:
        devices.create()
        yield devices
    finally:
        devices.destroy()


@pytest.fixture(scope="session")
def engine(rig: str) -> Iterator[object]:
    """One offline engine child (``captioner serve``) for the session's tests."""
    from captioner.providers.local import LocalEngine

    local = LocalEngine(threads=2, max_sessions=4)
    try:
        local.ensure_running()
        yield local
    finally:
        local.stop()
