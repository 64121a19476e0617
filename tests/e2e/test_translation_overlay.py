"""The real app under the rig's X display with live translation: speech into the virtual
microphone, captioned by the Speechmatics protocol fake (on 127.0.0.1, in this process) with a
Spanish translation, which the overlay draws under each line in the translation colour.

Screenshot: ``test-artifacts/translation.png``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from captioner.testing import Utterance
from tests.conftest import REPO
from tests.e2e.rig_helpers import DATA, VirtualDevices, stop_app
from tests.e2e.test_app_screenshot import (
    ARTIFACTS,
    _close,
    geometry,
    recording_from,
    wait_for,
    window_ids,
)
from tests.integration.test_translation_cli import fake_in_thread

pytestmark = pytest.mark.rig

WAV = DATA / "librivox-0870.wav"
TRANSLATION_COLOR = "#80deea"  # the default style's
SPEECH = [Utterance("Good morning, everyone, and welcome.", 300, 2600),
          Utterance("Today we look at the history of the city.", 2800, 5600)]
BOOK = {"es": {"Good morning, everyone, and welcome.": "Buenos días a todos y bienvenidos.",
               "Today we look at the history of the city.": "Hoy vemos la historia de la ciudad."}}


def journal(data_dir: Path) -> list[dict]:
    records = []
    for path in (data_dir / "sessions").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records


@pytest.fixture
def translating_app(tmp_path: Path, virtual_devices: VirtualDevices,
                    python: str) -> Iterator[tuple[subprocess.Popen, Path]]:
    assert os.environ.get("DISPLAY"), "the rig's X display is not set (source $RIG/env)"
    with fake_in_thread(utterances=SPEECH, phrasebook=BOOK, translation_delay_ms=600,
                        idle_timeout_s=0) as server:
        config = tmp_path / "config" / "captioner"
        config.mkdir(parents=True)
        (config / "captioner.conf").write_text(
            "[session]\nprovider=speechmatics\nsource=mic\ntranslate_to=es\n"
            f"mic_device={virtual_devices.mic_id}\n"
            f"[endpoints]\nspeechmatics={server.url}\n"
            "[overlay]\ndock=bottom\nlines=4\nfont_pt=26\n")
        env = dict(os.environ, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"),
                   CAPTIONER_DATA_DIR=str(tmp_path / "data"),
                   CAPTIONER_LOG_DIR=str(tmp_path / "log"), PYTHONUNBUFFERED="1",
                   SPEECHMATICS_API_KEY="test-key",
                   PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
        log = open(tmp_path / "app.out", "w")
        proc = subprocess.Popen([python, "-m", "captioner", "gui", "--start"], cwd=REPO,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield proc, tmp_path / "data"
        finally:
            stop_app(proc)
            log.close()
        [conn] = server.connections
        assert conn.config is not None
        assert conn.config["translation_config"]["target_languages"] == ["es"]


def test_overlay_shows_the_translation_under_each_line(translating_app, virtual_devices,
                                                       tmp_path):
    app, data_dir = translating_app
    overlay = wait_for("the caption overlay window",
                       lambda: window_ids(app.pid, "^Captions$"), 30)[0]  # type: ignore[index]
    wait_for("the app to record from the virtual microphone",
             lambda: recording_from(virtual_devices.mic_source), 30)
    subprocess.run(["paplay", f"--device={virtual_devices.mic_sink}", str(WAV)], check=True,
                   timeout=60)
    wait_for("both translations in the journal",
             lambda: len([r for r in journal(data_dir) if r["type"] == "translation"]) == 2,
             30, 0.2)
    assert app.poll() is None, (tmp_path / "app.out").read_text()

    from PySide6.QtGui import QColor, QImage

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "translation.png"
    x, y, w, h = geometry(overlay)
    want = QColor(TRANSLATION_COLOR)

    def translated_pixels() -> int:
        subprocess.run(["import", "-window", "root", str(shot)], check=True, timeout=30)
        image = QImage(str(shot))
        return sum(_close(image.pixelColor(px, py), want)
                   for px in range(x, min(x + w, image.width()), 2)
                   for py in range(y, min(y + h, image.height()), 2))

    # the translation's letters are filled with the translation colour
    count = wait_for("translated text in the overlay", translated_pixels, 10, 0.3)
    print(f"overlay at {x},{y} {w}x{h}: {count} translation-coloured pixels; screenshot {shot}")
    app.send_signal(signal.SIGTERM)
    assert app.wait(30) == 0
    records = journal(data_dir)
    assert records[0]["translate_to"] == ["es"] and records[-1]["type"] == "end"
    assert [r["text"] for r in records if r["type"] == "translation"] == [
        "Buenos días a todos y bienvenidos.", "Hoy vemos la historia de la ciudad."]
