"""``captioner devices`` under the rig: the virtual microphone and system audio by the names the
sound server gives them, defaults marked."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.rig


def test_devices_lists_the_virtual_mic_and_system_audio():
    result = subprocess.run([sys.executable, "-m", "captioner", "devices"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    mics, _, system = out.partition("System audio")
    # the rig's default input is "virtmic" (VirtualMic); its monitor sink is system audio
    assert any(line.startswith("  * pulse:virtmic ") and "VirtualMic" in line
               for line in mics.splitlines()), out
    assert any(line.startswith("  * pulse:speakers.monitor") for line in system.splitlines()), out
    # names the sound server gives (ci/virtmic.pa's descriptions); its silent null source is
    # called what it is; ALSA's "pulse"/"default" are not listed beside the sources
    assert "Monitor of Speakers" in system
    assert any("pulse:silence" in line and "No microphone (Null Input: silence)" in line
               for line in mics.splitlines()), out
    assert "pa:ALSA:pulse" not in out and "pa:ALSA:default" not in out, out
