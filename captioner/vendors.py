"""The one table of speech services: name, title, key variable, endpoints, regions, classes.

Everything that names a vendor (the GUI's lists, messages, the CLI, the
keychain's environment fallback, the providers' default URLs) reads it here.
Pure data; importing it imports no provider.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Vendor:
    """One speech service.

    Attributes:
        name: the id used in settings and on the command line (``"revai"``).
        title: the name shown to people ("Rev AI").
        env_var: the environment variable read when no key is in the keychain.
        default_url: the WebSocket endpoint used without a region or override.
        regions: region -> endpoint; the first is the default (empty: no choice).
        provider: ``"module:Class"`` of its :class:`~captioner.providers.base.Provider`.
        options: ``"module:Class"`` of its :class:`~captioner.options.ProviderOptions`.
    """

    name: str
    title: str
    env_var: str
    default_url: str
    provider: str
    options: str
    regions: dict[str, str] = field(default_factory=dict)

    def url_for(self, region: str | None) -> str:
        """The endpoint of ``region`` (the default URL for None or an unknown region)."""
        return self.regions.get(region or "", self.default_url)


_P = "captioner.providers."
VENDORS: dict[str, Vendor] = {v.name: v for v in (
    Vendor("local", "Offline engine", "CAPTIONER_ENGINE_TOKEN", "ws://127.0.0.1/v2",
           _P + "local:LocalProvider", _P + "local:LocalOptions"),
    Vendor("revai", "Rev AI", "REV_ACCESS_TOKEN", "wss://api.rev.ai/speechtotext/v1/stream",
           _P + "revai:RevAiProvider", _P + "revai:RevAiOptions",
           {"us": "wss://api.rev.ai/speechtotext/v1/stream",
            "eu": "wss://ec1.api.rev.ai/speechtotext/v1/stream"}),
    Vendor("assemblyai", "AssemblyAI", "ASSEMBLYAI_API_KEY",
           "wss://streaming.assemblyai.com/v3/ws",
           _P + "assemblyai:AssemblyAiProvider", _P + "assemblyai:AssemblyAiOptions",
           {"us": "wss://streaming.assemblyai.com/v3/ws",
            "eu": "wss://streaming.eu.assemblyai.com/v3/ws"}),
    Vendor("speechmatics", "Speechmatics", "SPEECHMATICS_API_KEY", "wss://eu.rt.speechmatics.com/v2",
           _P + "speechmatics:SpeechmaticsProvider", _P + "speechmatics:SpeechmaticsOptions",
           {"eu": "wss://eu.rt.speechmatics.com/v2", "us": "wss://us.rt.speechmatics.com/v2"}),
    Vendor("deepgram", "Deepgram", "DEEPGRAM_API_KEY", "wss://api.deepgram.com/v1/listen",
           _P + "deepgram:DeepgramProvider", _P + "deepgram:DeepgramOptions"),
)}
PROVIDERS = tuple(VENDORS)
CLOUD_PROVIDERS = tuple(name for name in VENDORS if name != "local")


def vendor(name: str) -> Vendor:
    """The vendor called ``name``; ValueError naming the valid ones otherwise."""
    try:
        return VENDORS[name]
    except KeyError:
        raise ValueError(f"unknown provider {name!r}; choose one of "
                         f"{', '.join(VENDORS)}") from None


def title(name: str) -> str:
    """The vendor's title, or ``name`` itself for an unknown one."""
    found = VENDORS.get(name)
    return found.title if found else name


def load(dotted: str) -> type:
    """The class named by ``"module:Class"`` (imported on first use)."""
    module, _, cls = dotted.partition(":")
    found: type = getattr(importlib.import_module(module), cls)
    return found
