"""Realtime speech-to-text providers: one module per vendor, plus the offline engine.

:func:`make_provider` builds a fresh provider object for one vendor connection;
:func:`options_class` is a vendor's typed options (see ``captioner.options``).
Which vendors exist, their titles and endpoints: ``captioner.vendors``.
"""

from __future__ import annotations

from captioner.config import SessionConfig
from captioner.options import ProviderOptions
from captioner.providers.base import Provider
from captioner.vendors import load, title, vendor

__all__ = ["make_provider", "options_class", "provider_class", "title"]


def provider_class(name: str) -> type[Provider]:
    cls: type[Provider] = load(vendor(name).provider)
    return cls


def options_class(name: str) -> type[ProviderOptions]:
    cls: type[ProviderOptions] = load(vendor(name).options)
    return cls


def make_provider(cfg: SessionConfig, **kwargs: object) -> Provider:
    return provider_class(cfg.provider)(cfg, **kwargs)  # type: ignore[call-arg]
