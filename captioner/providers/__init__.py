"""Realtime speech-to-text providers: one module per vendor, plus the offline engine.

:func:`make_provider` builds a fresh provider object for one vendor connection.
"""

from __future__ import annotations

import importlib

from captioner.config import PROVIDER_TITLES, SessionConfig
from captioner.providers.base import Provider

_CLASSES = {
    "local": ("captioner.providers.local", "LocalProvider"),
    "speechmatics": ("captioner.providers.speechmatics", "SpeechmaticsProvider"),
    "revai": ("captioner.providers.revai", "RevAiProvider"),
    "assemblyai": ("captioner.providers.assemblyai", "AssemblyAiProvider"),
    "deepgram": ("captioner.providers.deepgram", "DeepgramProvider"),
}


def provider_class(name: str) -> type:
    try:
        module, cls = _CLASSES[name]
    except KeyError:
        known = ", ".join(_CLASSES)
        raise ValueError(f"unknown provider {name!r}; choose one of {known}") from None
    return getattr(importlib.import_module(module), cls)


def make_provider(cfg: SessionConfig, **kwargs: object) -> Provider:
    return provider_class(cfg.provider)(cfg, **kwargs)


def title(name: str) -> str:
    return PROVIDER_TITLES.get(name, name)
