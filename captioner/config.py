"""Frozen settings for one captioning session; no Qt.

The GUI builds these from QSettings, the CLI from its arguments; providers and
the session engine read them and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from captioner.options import ProviderOptions
from captioner.vendors import PROVIDERS, VENDORS

__all__ = ["BYTES_PER_MS", "PROVIDERS", "PROVIDER_TITLES", "SAMPLE_RATE_HZ",
           "SAMPLE_WIDTH_BYTES", "SessionConfig"]

#: derived from the one vendor table (``captioner.vendors``), for existing callers
PROVIDER_TITLES = {name: v.title for name, v in VENDORS.items()}

SAMPLE_RATE_HZ = 16_000
SAMPLE_WIDTH_BYTES = 2
BYTES_PER_MS = SAMPLE_RATE_HZ * SAMPLE_WIDTH_BYTES // 1000  # 32


@dataclass(frozen=True)
class SessionConfig:
    """Everything a provider needs to open a vendor session.

    Attributes:
        provider: one of :data:`PROVIDERS`.
        language: BCP-47-ish language code (``"en"``); each provider maps it
            to its vendor's code.
        endpoint: WebSocket URL overriding the vendor default (EU host,
            self-hosted deployment, a local fake, a remote offline engine).
        vocabulary: custom words / key terms to boost.
        profanity_filter, remove_disfluencies, speaker_labels: vendor options
            where offered.
        options: the provider's own typed options (``DeepgramOptions(model=...)``,
            see ``captioner providers``); None means its defaults.
        translate_to: live translation target languages (at most two), for
            providers that translate in real time (:mod:`captioner.providers.translation`).
        catch_up: after a dropped connection, ``"live"`` (skip what can't be
            caught up in time, as a marked gap) or ``"complete"`` (catch up at
            the vendor's pace); see :mod:`captioner.pacing`.
    """

    provider: str = "local"
    language: str = "en"
    endpoint: str | None = None
    vocabulary: tuple[str, ...] = ()
    profanity_filter: bool = False
    remove_disfluencies: bool = False
    speaker_labels: bool = False
    options: ProviderOptions | None = None
    translate_to: tuple[str, ...] = ()
    catch_up: str = "live"
