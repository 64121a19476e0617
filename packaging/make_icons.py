"""Windows .ico and macOS .icns files made from the app's PNGs, no image library needed.

Both formats can hold PNG images as they are: an ICO directory entry points at
a PNG (Windows Vista and later), and ICNS has PNG element types for each size.
The spec calls :func:`write_icons` when building on Windows or macOS; run it by
hand with ``python packaging/make_icons.py OUT_DIR``.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

ICON_DIR = Path(__file__).resolve().parent.parent / "captioner" / "resources" / "icons"
SIZES = (16, 32, 48, 64, 128, 256)
# ICNS element types holding a PNG of the given pixel size (48 has none)
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08"}


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


def _pngs(icon_dir: Path) -> dict[int, bytes]:
    pngs = {}
    for size in SIZES:
        data = (icon_dir / f"captioner-{size}.png").read_bytes()
        if png_size(data) != (size, size):
            raise ValueError(f"captioner-{size}.png is {png_size(data)}, not {size}x{size}")
        pngs[size] = data
    return pngs


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, images = b"", b""
    for size, data in sorted(pngs.items()):
        dim = 0 if size >= 256 else size  # 0 means 256
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        images += data
        offset += len(data)
    return header + entries + images


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    body = b"".join(ICNS_TYPES[size] + struct.pack(">I", len(data) + 8) + data
                    for size, data in sorted(pngs.items()) if size in ICNS_TYPES)
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def write_icons(out_dir: Path, icon_dir: Path = ICON_DIR) -> tuple[Path, Path]:
    """Write ``captioner.ico`` and ``captioner.icns`` into ``out_dir``; returns their paths."""
    pngs = _pngs(icon_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ico, icns = out_dir / "captioner.ico", out_dir / "captioner.icns"
    ico.write_bytes(ico_bytes(pngs))
    icns.write_bytes(icns_bytes(pngs))
    return ico, icns


if __name__ == "__main__":
    for path in write_icons(Path(sys.argv[1] if len(sys.argv) > 1 else "build/icons")):
        print(path)
