"""packaging/pyi_rth_captioner.py, the bundle's runtime hook, run outside a bundle.

Each test runs the hook in a fresh Python with ``sys._MEIPASS`` pointing at a
temporary folder laid out like the bundle's ``_internal/`` (a copy of the
system's ``libportaudio.so.2`` in ``portaudio/``), since the hook patches
process-wide state.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HOOK = REPO / "packaging" / "pyi_rth_captioner.py"
LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")


@pytest.fixture
def meipass(tmp_path: Path) -> Path:
    system = next((Path(d) / "libportaudio.so.2" for d in LIB_DIRS
                   if (Path(d) / "libportaudio.so.2").exists()), None)
    if system is None:
        pytest.fail("libportaudio.so.2 is not installed (bash ci/system-packages installs it)")
    (tmp_path / "portaudio").mkdir()
    shutil.copy(system, tmp_path / "portaudio" / "libportaudio.so.2")
    return tmp_path


def run_hook(meipass: Path, code: str, before: str = "", **env: str) -> dict:
    """Run the hook, then ``code``, which sets ``result``; returns ``result``."""
    script = (f"import json, sys\nsys._MEIPASS = {str(meipass)!r}\n{before}\n"
              f"exec(compile(open({str(HOOK)!r}).read(), 'hook', 'exec'))\n"
              f"result = {{}}\n{code}\nprint(json.dumps(result))\n")
    base = {k: v for k, v in os.environ.items()
            if k not in ("CAPTIONER_PORTAUDIO", "SSL_CERT_FILE", "SSL_CERT_DIR",
                         "LD_LIBRARY_PATH", "LD_LIBRARY_PATH_ORIG")}
    proc = subprocess.run([sys.executable, "-c", script], env={**base, **env},
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_sounddevice_loads_the_bundled_portaudio(meipass: Path) -> None:
    result = run_hook(meipass, """
import ctypes.util, sounddevice
result["found"] = ctypes.util.find_library("portaudio")
result["libname"] = sounddevice._libname
result["maps"] = open("/proc/self/maps").read()
result["other"] = ctypes.util.find_library("c")
""")
    bundled = str(meipass / "portaudio" / "libportaudio.so.2")
    assert result["found"] == bundled
    assert result["libname"] == bundled
    assert bundled in result["maps"]
    assert result["other"] == "libc.so.6"  # other names still go to the system's lookup


def test_portaudio_system_keeps_the_systems_copy(meipass: Path) -> None:
    result = run_hook(meipass, """
import ctypes.util
result["found"] = ctypes.util.find_library("portaudio")
""", CAPTIONER_PORTAUDIO="system")
    assert result["found"] == "libportaudio.so.2"


def test_without_a_bundled_portaudio_nothing_changes(tmp_path: Path) -> None:
    result = run_hook(tmp_path, """
import ctypes.util
result["found"] = ctypes.util.find_library("portaudio")
""")
    assert result["found"] == "libportaudio.so.2"


def test_children_get_the_original_library_path(meipass: Path) -> None:
    code = 'import os\nresult["path"] = os.environ.get("LD_LIBRARY_PATH")\n' \
           'result["orig"] = os.environ.get("LD_LIBRARY_PATH_ORIG")'
    restored = run_hook(meipass, code, LD_LIBRARY_PATH=str(meipass),
                        LD_LIBRARY_PATH_ORIG="/opt/user/lib")
    assert restored == {"path": "/opt/user/lib", "orig": None}
    assert run_hook(meipass, code, LD_LIBRARY_PATH=str(meipass)) == {"path": None, "orig": None}


NO_DEFAULT_CERTS = """
import ssl
ssl.get_default_verify_paths = lambda: ssl.DefaultVerifyPaths(
    None, None, "SSL_CERT_FILE", "/nonexistent/cert.pem", "SSL_CERT_DIR", "/nonexistent/certs")
"""


def test_certificates_found_where_the_distribution_keeps_them(meipass: Path) -> None:
    code = 'import os\nresult["file"] = os.environ.get("SSL_CERT_FILE")\n' \
           'result["bundles"] = list(CA_BUNDLES)'
    result = run_hook(meipass, code, before=NO_DEFAULT_CERTS)
    expected = next((b for b in result["bundles"] if os.path.isfile(b)), None)
    assert result["file"] == expected
    assert expected is not None, "no CA bundle on this machine (install ca-certificates)"
    # a user's own setting wins
    result = run_hook(meipass, code, before=NO_DEFAULT_CERTS, SSL_CERT_FILE="/my/ca.pem")
    assert result["file"] == "/my/ca.pem"
