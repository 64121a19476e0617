"""The desktop integration files: validators, icon sizes, the installer script, .ico/.icns.

``desktop-file-validate`` (desktop-file-utils) and ``appstreamcli`` (appstream)
come from Debian packages that ``ci/system-packages --test`` installs; without
them these tests fail and say so.
"""

from __future__ import annotations

import importlib.util
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import captioner

REPO = Path(__file__).resolve().parents[2]
APP_ID = "io.github.captioner.Captioner"
DESKTOP = REPO / "resources" / f"{APP_ID}.desktop"
METAINFO = REPO / "resources" / f"{APP_ID}.metainfo.xml"
ICONS = REPO / "captioner" / "resources" / "icons"
SIZES = (16, 32, 48, 64, 128, 256)
INSTALLER = REPO / "packaging" / "install-desktop-files"

_spec = importlib.util.spec_from_file_location("make_icons", REPO / "packaging" / "make_icons.py")
assert _spec is not None and _spec.loader is not None
make_icons = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_icons)


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not installed; install the Debian package {package} "
                    "(bash ci/system-packages --test)")
    return path


def desktop_file_validate(path: Path) -> str:
    result = subprocess.run([tool("desktop-file-validate", "desktop-file-utils"), str(path)],
                            capture_output=True, text=True, check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    # hints are advice (several main categories is on purpose); errors and warnings are not
    assert "error:" not in out and "warning:" not in out, out
    return out


def desktop_entry(path: Path) -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = groups.setdefault(line[1:-1], {})
        elif "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            current[key] = value
    return groups


def exec_argv(value: str) -> list[str]:
    """Split an Exec value as the Desktop Entry spec says (string escapes, then quoting)."""
    unescaped, i = "", 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            unescaped += {"s": " ", "n": "\n", "t": "\t", "r": "\r"}.get(value[i + 1], value[i + 1])
            i += 2
        else:
            unescaped += value[i]
            i += 1
    argv, arg, quoted, i, has_arg = [], "", False, 0, False
    while i < len(unescaped):
        c = unescaped[i]
        if quoted and c == "\\" and i + 1 < len(unescaped) and unescaped[i + 1] in '"`$\\':
            arg += unescaped[i + 1]
            i += 2
            continue
        if c == '"':
            quoted, has_arg = not quoted, True
        elif c == " " and not quoted:
            if arg or has_arg:
                argv.append(arg)
            arg, has_arg = "", False
        else:
            arg += c
        i += 1
    if arg or has_arg:
        argv.append(arg)
    return [a.replace("%%", "%") for a in argv]


# -- the files as shipped ---------------------------------------------------------------------


def test_desktop_entry_validates() -> None:
    desktop_file_validate(DESKTOP)
    entry = desktop_entry(DESKTOP)["Desktop Entry"]
    assert entry["Exec"] == "captioner"
    assert entry["Icon"] == APP_ID
    assert entry["GenericName"] == "Live Captions"
    assert entry["Categories"] == "AudioVideo;Utility;Accessibility;"
    # Qt's xcb platform sets WM_CLASS's class to the application name (captioner.app)
    assert entry["StartupWMClass"] == "captioner"


def test_metainfo_validates() -> None:
    result = subprocess.run(
        [tool("appstreamcli", "appstream"), "validate", "--no-net", "--explain", str(METAINFO)],
        capture_output=True, text=True, check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Validation was successful" in out, out
    assert not [ln for ln in out.splitlines() if ln.startswith(("E:", "W:"))], out


def test_metainfo_matches_the_desktop_entry_and_version() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == "MIT"
    launchable = root.find("launchable")
    assert launchable is not None and launchable.text == DESKTOP.name
    assert root.find("content_rating") is not None
    versions = [r.get("version") for r in root.iter("release")]
    assert versions and versions[0] == captioner.__version__


@pytest.mark.parametrize("size", SIZES)
def test_icon_png_is_the_size_its_name_says(size: int) -> None:
    data = (ICONS / f"captioner-{size}.png").read_bytes()
    assert make_icons.png_size(data) == (size, size)
    color_type = data[25]
    assert color_type in (4, 6), "the icon should have an alpha channel"


def test_icon_svg_is_square_svg() -> None:
    root = ET.parse(ICONS / "captioner.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    _, _, width, height = (float(v) for v in root.get("viewBox", "").split())
    assert width == height


# -- packaging/install-desktop-files ----------------------------------------------------------


def installed(prefix: Path) -> list[Path]:
    share = prefix / "share"
    return [share / "applications" / DESKTOP.name, share / "metainfo" / METAINFO.name,
            share / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg",
            *(share / f"icons/hicolor/{s}x{s}/apps/{APP_ID}.png" for s in SIZES)]


def run_installer(script: Path, *args: str) -> str:
    result = subprocess.run(["bash", str(script), *args], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_installer_from_a_checkout_installs_and_uninstalls(tmp_path: Path) -> None:
    prefix = tmp_path / "a prefix"
    run_installer(INSTALLER, "--prefix", str(prefix))
    files = installed(prefix)
    for path in files:
        assert path.is_file(), path
    assert files[0].read_text() == DESKTOP.read_text()  # Exec=captioner, from PATH
    for size in SIZES:
        png = prefix / f"share/icons/hicolor/{size}x{size}/apps/{APP_ID}.png"
        assert make_icons.png_size(png.read_bytes()) == (size, size)
    assert not (prefix / "bin").exists()

    run_installer(INSTALLER, "--prefix", str(prefix), "--uninstall")
    assert not any(path.exists() for path in files)


def test_installer_from_a_bundle_runs_that_bundles_binary(tmp_path: Path) -> None:
    # the layout packaging/build-linux makes, in a folder whose name needs quoting
    bundle = tmp_path / 'captioner "0.1" $HOME `x` \\ dir'
    share = bundle / "share"
    (share / "applications").mkdir(parents=True)
    (share / "metainfo").mkdir()
    shutil.copy(DESKTOP, share / "applications")
    shutil.copy(METAINFO, share / "metainfo")
    for size in SIZES:
        dest = share / f"icons/hicolor/{size}x{size}/apps/{APP_ID}.png"
        dest.parent.mkdir(parents=True)
        shutil.copy(ICONS / f"captioner-{size}.png", dest)
    (share / "icons/hicolor/scalable/apps").mkdir(parents=True)
    shutil.copy(ICONS / "captioner.svg", share / f"icons/hicolor/scalable/apps/{APP_ID}.svg")
    binary = bundle / "captioner"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    shutil.copy(INSTALLER, bundle / INSTALLER.name)

    prefix = tmp_path / "prefix"
    run_installer(bundle / INSTALLER.name, "--prefix", str(prefix))
    desktop = prefix / "share/applications" / DESKTOP.name
    desktop_file_validate(desktop)
    groups = desktop_entry(desktop)
    assert exec_argv(groups["Desktop Entry"]["Exec"]) == [str(binary)]
    assert exec_argv(groups["Desktop Action start-captioning"]["Exec"]) == [str(binary), "--start"]
    assert (prefix / "bin/captioner").resolve() == binary
    for path in installed(prefix):
        assert path.is_file(), path

    run_installer(bundle / INSTALLER.name, "--prefix", str(prefix), "--uninstall")
    assert not (prefix / "bin/captioner").exists()
    assert not desktop.exists()


def test_exec_argv_follows_the_spec() -> None:
    assert exec_argv('"/a b/c\\\\"d" --start') == ['/a b/c"d', "--start"]
    assert exec_argv('"/x/\\\\$y\\\\\\\\z"') == ["/x/$y\\z"]
    assert exec_argv("captioner") == ["captioner"]


# -- Windows and macOS icons (packaging/make_icons.py) ----------------------------------------


def test_ico_and_icns_hold_every_png(tmp_path: Path) -> None:
    ico, icns = make_icons.write_icons(tmp_path)
    data = ico.read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind, count) == (0, 1, len(SIZES))
    for n, size in enumerate(SIZES):
        width, height, _, _, _, bits, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * n:22 + 16 * n])
        assert (width or 256, height or 256, bits) == (size, size, 32)
        assert make_icons.png_size(data[offset:offset + length]) == (size, size)

    data = icns.read_bytes()
    assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
    pos, found = 8, {}
    while pos < len(data):
        kind, length = data[pos:pos + 4], struct.unpack(">I", data[pos + 4:pos + 8])[0]
        found[kind] = make_icons.png_size(data[pos + 8:pos + length])
        pos += length
    assert found == {k: (s, s) for s, k in make_icons.ICNS_TYPES.items()}
