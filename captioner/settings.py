"""Persistent user settings: QSettings behind a :class:`Key` enum with typed defaults.

Every setting has one key and one default here, nowhere else; a vendor's own
options (``captioner.options``) are stored as strings under
``options/<provider>/<name>``, only where they differ from the default, and
read back through that vendor's dataclass. ``SETTINGS_VERSION`` is stored with
the settings; :func:`upgrade` migrates older layouts in order. Secrets never
live here (see ``secrets.py``).

Stored values are checked when settings are opened: one that is not of its
key's type, or not allowed by :data:`ALLOWED` (a table of checks per key;
add a row for a new key with a closed set of values or a range), is reset to
its default, and :attr:`Settings.reset_keys` lists them so the app can say so
(:func:`reset_notice`).
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import QSettings

from captioner.config import PROVIDERS, SessionConfig
from captioner.options import ProviderOptions, from_strings, specs
from captioner.providers import options_class
from captioner.providers.translation import offers_translation, parse_targets
from captioner.vendors import VENDORS

log = logging.getLogger(__name__)

SETTINGS_VERSION = 3
ORGANIZATION = "captioner"
APPLICATION = "captioner"


class Key(enum.Enum):
    """A setting: its QSettings key and default (whose type is the setting's type)."""

    PROVIDER = ("session/provider", "local")
    LANGUAGE = ("session/language", "en")
    SOURCE = ("session/source", "mic")  # mic | system | both
    MIC_DEVICE = ("session/mic_device", "")  # name; "" = system default
    SYSTEM_DEVICE = ("session/system_device", "")
    VOCABULARY = ("session/vocabulary", "")
    SPEAKER_LABELS = ("session/speaker_labels", False)
    PROFANITY_FILTER = ("session/profanity_filter", False)
    REMOVE_DISFLUENCIES = ("session/remove_disfluencies", False)
    FALLBACK_OFFLINE = ("session/fallback_offline", True)  # cloud fails → offline engine
    CATCH_UP = ("session/catch_up", "live")  # after a drop: live (skip) | complete
    RECORD_AUDIO = ("session/record_audio", False)  # new sessions keep their audio (FLAC)
    TRANSLATE_TO = ("session/translate_to", "")  # live translation targets: "es,de"
    OFFLINE_MODEL = ("session/offline_model", "tiny.en")  # tiny.en | base (multilingual)
    ENDPOINT_REVAI = ("endpoints/revai", "")
    ENDPOINT_ASSEMBLYAI = ("endpoints/assemblyai", "")
    ENDPOINT_SPEECHMATICS = ("endpoints/speechmatics", "")
    ENDPOINT_DEEPGRAM = ("endpoints/deepgram", "")
    ENDPOINT_LOCAL = ("endpoints/local", "")
    OVERLAY_LINES = ("overlay/lines", 3)
    OVERLAY_FONT_FAMILY = ("overlay/font_family", "")
    OVERLAY_FONT_PT = ("overlay/font_pt", 24)
    OVERLAY_FONT_BOLD = ("overlay/font_bold", True)
    OVERLAY_TEXT_COLOR = ("overlay/text_color", "#ffffff")
    OVERLAY_BG_COLOR = ("overlay/bg_color", "#000000")
    OVERLAY_BG_OPACITY = ("overlay/bg_opacity", 0.9)  # text behind must not show through
    OVERLAY_OUTLINE = ("overlay/outline", True)
    OVERLAY_SHADOW = ("overlay/shadow", False)
    OVERLAY_LABEL_COLOR = ("overlay/label_color", "#ffd54f")  # "Me:", "Speaker 2:"
    OVERLAY_TRANSLATION_COLOR = ("overlay/translation_color", "#80deea")
    OVERLAY_TRANSLATION_SCALE = ("overlay/translation_scale", 0.8)  # of the caption size
    OVERLAY_UPPERCASE = ("overlay/uppercase", False)
    OVERLAY_DOCK = ("overlay/dock", "floating")  # floating | bottom | top (these reserve space)
    OVERLAY_CLICK_THROUGH = ("overlay/click_through", False)
    OVERLAY_HIDE_FROM_CAPTURE = ("overlay/hide_from_capture", False)
    OVERLAY_HIGH_CONTRAST = ("overlay/high_contrast", False)
    OVERLAY_SHOW_STATUS = ("overlay/show_status", True)
    OVERLAY_VISIBLE = ("overlay/visible", True)
    OVERLAY_GEOMETRY = ("overlay/geometry", "")  # JSON: {screen key: [x, y, w, h]}
    WINDOW_GEOMETRY = ("window/geometry", "")  # QWidget.saveGeometry(), base64
    SHORTCUT_START_STOP = ("shortcuts/start_stop", "Ctrl+Shift+Space")
    SHORTCUT_PAUSE = ("shortcuts/pause", "Ctrl+Shift+P")
    SHORTCUT_TOGGLE_OVERLAY = ("shortcuts/toggle_overlay", "Ctrl+Shift+H")
    SHORTCUT_CLICK_THROUGH = ("shortcuts/click_through", "Ctrl+Shift+T")
    SHORTCUT_FONT_BIGGER = ("shortcuts/font_bigger", "Ctrl+=")
    SHORTCUT_FONT_SMALLER = ("shortcuts/font_smaller", "Ctrl+-")
    ANNOUNCE_FINALS = ("accessibility/announce_finals", False)
    START_AT_LOGIN = ("app/start_at_login", False)
    FIRST_RUN_HINT_SHOWN = ("app/first_run_hint_shown", False)
    NO_TRAY_NOTED = ("app/no_tray_noted", False)  # "your desktop has no tray" said once
    RETENTION_DAYS = ("history/retention_days", 0)  # 0 = keep forever

    @property
    def path(self) -> str:
        return self.value[0]

    @property
    def default(self) -> Any:
        return self.value[1]


ENDPOINT_KEYS = {
    "revai": Key.ENDPOINT_REVAI, "assemblyai": Key.ENDPOINT_ASSEMBLYAI,
    "speechmatics": Key.ENDPOINT_SPEECHMATICS, "deepgram": Key.ENDPOINT_DEEPGRAM,
    "local": Key.ENDPOINT_LOCAL,
}


def one_of(*values: Any) -> Callable[[Any], bool]:
    return lambda value: value in values


def between(low: float, high: float) -> Callable[[Any], bool]:
    return lambda value: math.isfinite(value) and low <= value <= high


def matches(pattern: str) -> Callable[[Any], bool]:
    regex = re.compile(pattern)
    return lambda value: bool(regex.fullmatch(value))


_COLOR = matches(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")

ALLOWED: dict[Key, Callable[[Any], bool]] = {
    Key.PROVIDER: one_of(*PROVIDERS),
    Key.SOURCE: one_of("mic", "system", "both"),
    Key.CATCH_UP: one_of("live", "complete"),
    Key.LANGUAGE: matches(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*"),
    Key.OVERLAY_DOCK: one_of("bottom", "top", "floating"),
    Key.OVERLAY_LINES: between(1, 10),
    Key.OVERLAY_FONT_PT: between(8, 96),
    Key.OVERLAY_BG_OPACITY: between(0.0, 1.0),
    Key.OVERLAY_TEXT_COLOR: _COLOR,
    Key.OVERLAY_BG_COLOR: _COLOR,
    Key.OVERLAY_LABEL_COLOR: _COLOR,
    Key.RETENTION_DAYS: between(0, 36_500),
}
"""Allowed values per key, beyond having the default's type."""

_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _strict(value: Any, default: Any) -> Any:
    """``value`` as the default's type.

    Raises:
        ValueError: it isn't one ("banana" for a bool, "x" for a number).
    """
    if isinstance(value, list) and isinstance(default, str):
        return ",".join(map(str, value))  # an INI line "a,b" reads back as a list
    text = str(value).strip()
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if text.lower() not in _BOOLS:
            raise ValueError("not a boolean")
        return _BOOLS[text.lower()]
    if isinstance(default, int):
        return value if isinstance(value, int) and not isinstance(value, bool) else int(text)
    if isinstance(default, float):
        return float(text)
    if not isinstance(value, str):
        raise ValueError(f"not text: {type(value).__name__}")
    return value


def valid(key: Key, value: Any) -> bool:
    """Whether a stored value is usable for ``key``."""
    try:
        typed = _strict(value, key.default)
    except (TypeError, ValueError, OverflowError):
        return False
    check = ALLOWED.get(key)
    return check is None or bool(check(typed))


def reset_notice(keys: list[Key]) -> str:
    """One line naming the settings that were reset, for the user."""
    names = ", ".join(key.path.replace("/", " ").replace("_", " ") for key in keys)
    return (f"Some saved settings were not valid and were reset to their defaults: {names}. "
            "Check them in Preferences.")


def _coerce(value: Any, default: Any) -> Any:
    """QSettings returns strings from INI files; bring values back to the default's type."""
    if value is None:
        return default
    try:
        return _strict(value, default)
    except (TypeError, ValueError):
        log.warning("ignoring an invalid stored setting value")
        return default


class Settings:
    """Typed access to QSettings.

    Args:
        qsettings: injected for tests (an INI file in a temp dir); the user's by default.

    Attributes:
        reset_keys: settings whose stored values were invalid and were reset
            to their defaults when these settings were opened.
    """

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings or QSettings(ORGANIZATION, APPLICATION)
        upgrade(self.q)
        self.reset_keys = self.validate()

    def validate(self) -> list[Key]:
        """Reset every stored value that is invalid (see :data:`ALLOWED`); returns those keys."""
        reset = []
        for key in Key:
            value = self.q.value(key.path)
            if value is not None and not valid(key, value):
                log.warning("setting %s had an invalid value; reset to its default", key.path)
                self.q.remove(key.path)
                reset.append(key)
        return reset

    def get(self, key: Key) -> Any:
        return _coerce(self.q.value(key.path), key.default)

    def set(self, key: Key, value: Any) -> None:
        if not isinstance(value, type(key.default)) and not (
            isinstance(key.default, float) and isinstance(value, int)
        ):
            raise TypeError(f"{key.name} takes {type(key.default).__name__}")
        self.q.setValue(key.path, value)

    def reset(self, key: Key) -> None:
        self.q.remove(key.path)

    def sync(self) -> None:
        self.q.sync()

    def vendor_options(self, provider: str) -> ProviderOptions:
        """``provider``'s stored options (defaults for what is not stored or invalid)."""
        cls = options_class(provider)
        stored = {spec.name: self.q.value(_option_path(provider, spec.name))
                  for spec in specs(cls)}
        return from_strings(cls, {k: v for k, v in stored.items() if v is not None})

    def set_vendor_options(self, provider: str, opts: ProviderOptions) -> None:
        """Store ``opts`` for ``provider``; values equal to the default are removed."""
        if not isinstance(opts, options_class(provider)):
            raise TypeError(f"{type(opts).__name__} are not options of {provider}")
        for spec in specs(type(opts)):
            value = getattr(opts, spec.name)
            if value == spec.default:
                self.q.remove(_option_path(provider, spec.name))
            else:
                self.q.setValue(_option_path(provider, spec.name), spec.format(value))

    def _options_for(self, provider: str) -> ProviderOptions:
        opts = self.vendor_options(provider)
        if provider == "local":  # the offline model has its own setting (Preferences' combo)
            model = self.get(Key.OFFLINE_MODEL)
            opts = dataclasses.replace(opts, model=model if model in ("tiny.en", "base") else "")
        return opts

    def session_config(self, provider: str | None = None) -> SessionConfig:
        provider = provider or self.get(Key.PROVIDER)
        if provider not in PROVIDERS:
            provider = "local"
        vocabulary = tuple(w.strip() for w in self.get(Key.VOCABULARY).split(",") if w.strip())
        return SessionConfig(
            provider=provider,
            language=self.get(Key.LANGUAGE),
            endpoint=self.get(ENDPOINT_KEYS[provider]) or None,
            vocabulary=vocabulary,
            profanity_filter=self.get(Key.PROFANITY_FILTER),
            remove_disfluencies=self.get(Key.REMOVE_DISFLUENCIES),
            speaker_labels=self.get(Key.SPEAKER_LABELS),
            options=self._options_for(provider),
            translate_to=parse_targets(self.get(Key.TRANSLATE_TO))
            if offers_translation(provider) else (),
            catch_up="complete" if self.get(Key.CATCH_UP) == "complete" else "live",
        )


def _option_path(provider: str, name: str) -> str:
    return f"options/{provider}/{name}"


def upgrade(q: QSettings) -> None:
    """Bring stored settings up to :data:`SETTINGS_VERSION`, one step at a time."""
    version = _coerce(q.value("settings_version"), 0)
    if version > SETTINGS_VERSION:
        log.warning("settings were written by a newer captioner (version %s)", version)
        return
    # version 0 -> 1: nothing stored yet, or the first layout; nothing to migrate
    if version < 2:
        _endpoints_to_regions(q)
    if version < 3:
        _readable_overlay(q)
    if version < SETTINGS_VERSION:
        q.setValue("settings_version", SETTINGS_VERSION)


OLD_BG_OPACITY = 0.6  # the default background before version 3


def _readable_overlay(q: QSettings) -> None:
    """2 -> 3: the default background became opaque enough that text behind doesn't show
    through, and docking came to reserve the screen's edge. An opacity at the old default
    (Preferences stored it whenever they were saved) moves to the new one; the previous
    look is the "Translucent (previous look)" preset. A docked overlay becomes floating at
    the place it had (so other windows don't shrink unasked)."""
    opacity = q.value(Key.OVERLAY_BG_OPACITY.path)
    if opacity is not None and abs(_coerce(opacity, 0.0) - OLD_BG_OPACITY) < 0.005:
        q.setValue(Key.OVERLAY_BG_OPACITY.path, Key.OVERLAY_BG_OPACITY.default)
        log.info("settings: the overlay background is now %d %% opaque (was 60 %%)",
                 round(Key.OVERLAY_BG_OPACITY.default * 100))
    if q.value(Key.OVERLAY_DOCK.path) in ("bottom", "top"):
        q.setValue(Key.OVERLAY_DOCK.path, "floating")
        log.info("settings: the overlay floats where it was (docking now reserves space)")


def _endpoints_to_regions(q: QSettings) -> None:
    """1 -> 2: vendor options arrived; an endpoint that only chose a vendor's region
    (``wss://ec1.api.rev.ai``, the EU AssemblyAI host...) becomes the region option."""
    for name, vendor in VENDORS.items():
        key = ENDPOINT_KEYS[name]
        endpoint = _coerce(q.value(key.path), "").strip()
        if not endpoint or not vendor.regions:
            continue
        given = urlsplit(endpoint if "://" in endpoint else "wss://" + endpoint)
        for region, url in vendor.regions.items():
            known = urlsplit(url)
            if given.hostname == known.hostname and given.path.rstrip("/") in ("", known.path) \
                    and not given.query and given.port is None:
                q.setValue(_option_path(name, "region"), region)
                q.remove(key.path)
                log.info("settings: the %s endpoint became region %s", vendor.title, region)
                break
