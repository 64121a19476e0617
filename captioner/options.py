"""Typed vendor options: each provider declares a frozen dataclass of them; parse, list, store.

A provider module declares ``@dataclass(frozen=True) class XOptions(ProviderOptions)``
whose fields are made with :func:`option` (default, one-line help, allowed
values or range). The instance travels in :class:`~captioner.config.SessionConfig`
and is validated when it is built, so a provider never sees a bad value. The
CLI parses ``--option key=value`` with :func:`parse_pairs` (strict: a bad key
or value raises :class:`OptionError` naming the valid choices); settings store
the values as strings with :func:`to_strings` and read them back leniently
with :func:`from_strings`. No Qt, no provider imports.
"""

from __future__ import annotations

import dataclasses
import logging
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

log = logging.getLogger(__name__)

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class OptionError(ValueError):
    """An unknown option or a bad value; the message lists what is valid."""


def option(default: Any, help: str, *, choices: tuple[Any, ...] = (),  # noqa: A002 - field help
           minimum: float | None = None, maximum: float | None = None,
           max_items: int | None = None, title: str = "") -> Any:
    """A dataclass field of a :class:`ProviderOptions` with its help and allowed values.

    Args:
        default: the value when nothing is set (None: the vendor's own default).
        help: one line shown by ``captioner providers`` and as a tooltip.
        choices: allowed values (empty: any value of the field's type).
        minimum, maximum: inclusive range for numbers.
        max_items: most entries of a tuple field.
        title: label in Preferences (default: from the name).
    """
    return dataclasses.field(default=default, metadata={
        "help": help, "choices": tuple(choices), "min": minimum, "max": maximum,
        "max_items": max_items, "title": title})


#: the help of every ``batch_*`` option starts with this (recorded files only)
BATCH = "recorded files (batch API): "


def batch_speaker_labels() -> Any:
    """The ``batch_speaker_labels`` field of a vendor whose batch API tells speakers apart."""
    return option(True, BATCH + "tell speakers apart (diarization; the live setting is "
                  "\"Label speakers\")", title="Recordings: label speakers")


@dataclass(frozen=True)
class OptionSpec:
    """One declared option.

    Attributes:
        name: the field name (``--option name=value``).
        kind: ``bool``, ``int``, ``float``, ``str`` or ``tuple`` (of strings).
        optional: whether None ("the vendor's default") is allowed.
    """

    name: str
    kind: type
    default: Any
    help: str
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_items: int | None = None
    optional: bool = False
    title: str = ""

    def valid_values(self) -> str:
        """The valid values in words, for error messages."""
        if self.choices:
            each = "comma-separated, each " if self.kind is tuple else ""
            return each + "one of " + ", ".join(str(c) or '"" (the vendor\'s default)'
                                                for c in self.choices)
        if self.kind is bool:
            return "true or false"
        if self.kind is tuple:
            most = f" (at most {self.max_items})" if self.max_items else ""
            return "comma-separated values" + most
        kind = {int: "a whole number", float: "a number", str: "text"}[self.kind]
        if self.minimum is not None and self.maximum is not None:
            kind += f" from {_num(self.minimum)} to {_num(self.maximum)}"
        elif self.minimum is not None:
            kind += f" of at least {_num(self.minimum)}"
        if self.optional:
            kind += " (empty: the vendor's default)"
        return kind

    def parse(self, text: str) -> Any:
        """The value for ``text`` (as typed on the command line or stored)."""
        text = text.strip()
        if self.optional and text in ("", "default", "none"):
            return None
        try:
            if self.kind is bool:
                lowered = text.lower()
                if lowered not in _TRUE + _FALSE:
                    raise ValueError(text)
                value: Any = lowered in _TRUE
            elif self.kind is int:
                value = int(text)
            elif self.kind is float:
                value = float(text)
            elif self.kind is tuple:
                value = tuple(part.strip() for part in text.split(",") if part.strip())
            else:
                value = text
        except ValueError:
            raise OptionError(f"{self.name}={text!r} is not valid: use {self.valid_values()}"
                              ) from None
        self.check(value)
        return value

    def check(self, value: Any) -> None:
        """Raise :class:`OptionError` unless ``value`` is allowed."""
        if value is None and self.optional:
            return
        kinds: tuple[type, ...] = (int, float) if self.kind is float else (self.kind,)
        if not isinstance(value, kinds) or (self.kind is not bool and isinstance(value, bool)):
            raise OptionError(f"{self.name}={value!r} is not valid: use {self.valid_values()}")
        items = value if isinstance(value, tuple) else (value,)
        if self.kind is tuple and self.max_items is not None and len(items) > self.max_items:
            raise OptionError(f"{self.name}: at most {self.max_items} values")
        for item in items:
            if self.choices and item not in self.choices:
                raise OptionError(f"{self.name}={item!r} is not valid: use {self.valid_values()}")
            if self.minimum is not None and item < self.minimum or \
                    self.maximum is not None and item > self.maximum:
                raise OptionError(f"{self.name}={item!r} is out of range: use "
                                  f"{self.valid_values()}")

    def format(self, value: Any) -> str:
        """``value`` as a string :meth:`parse` reads back."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple):
            return ",".join(str(v) for v in value)
        return _num(value) if isinstance(value, float) else str(value)

    @property
    def label(self) -> str:
        return self.title or self.name.replace("_", " ").capitalize()


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class ProviderOptions:
    """Base of every provider's options; validates every field on construction.

    Class attributes:
        MODEL_FIELD: the field ``--model`` sets (None: the vendor has no model choice).
    """

    MODEL_FIELD: ClassVar[str | None] = None

    def __post_init__(self) -> None:
        for spec in specs(type(self)):
            spec.check(getattr(self, spec.name))

    def changed(self) -> dict[str, Any]:
        """The options that differ from their defaults (name -> value)."""
        return {s.name: getattr(self, s.name) for s in specs(type(self))
                if getattr(self, s.name) != s.default}


_SPECS: dict[type, tuple[OptionSpec, ...]] = {}


def specs(cls: type[ProviderOptions]) -> tuple[OptionSpec, ...]:
    """The declared options of ``cls``, in declaration order."""
    if cls not in _SPECS:
        hints = typing.get_type_hints(cls)
        result = []
        for f in dataclasses.fields(cls):
            kind, optional = _kind(hints[f.name])
            meta = f.metadata
            result.append(OptionSpec(
                name=f.name, kind=kind, default=f.default, help=meta.get("help", ""),
                choices=meta.get("choices", ()), minimum=meta.get("min"),
                maximum=meta.get("max"), max_items=meta.get("max_items"), optional=optional,
                title=meta.get("title", "")))
        _SPECS[cls] = tuple(result)
    return _SPECS[cls]


def _kind(hint: Any) -> tuple[type, bool]:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return _kind(inner[0])[0], True
    if typing.get_origin(hint) is tuple:
        return tuple, False
    if hint in (bool, int, float, str):
        return hint, False
    raise TypeError(f"unsupported option type {hint!r}")


def spec_of(cls: type[ProviderOptions], name: str) -> OptionSpec:
    """The spec named ``name``; :class:`OptionError` listing the valid names otherwise."""
    for spec in specs(cls):
        if spec.name == name:
            return spec
    valid = ", ".join(s.name for s in specs(cls)) or "none"
    raise OptionError(f"unknown option {name!r}; valid options: {valid}")


def parse_pairs(cls: type[ProviderOptions], pairs: Mapping[str, str],
                base: ProviderOptions | None = None) -> ProviderOptions:
    """Options from ``name -> text`` pairs (strict); unnamed fields keep ``base``'s values."""
    values = {name: spec_of(cls, name).parse(text) for name, text in pairs.items()}
    start = base if isinstance(base, cls) else cls()
    return dataclasses.replace(start, **values)


def to_strings(opts: ProviderOptions) -> dict[str, str]:
    """Every option as a string, for settings."""
    return {s.name: s.format(getattr(opts, s.name)) for s in specs(type(opts))}


def from_strings(cls: type[ProviderOptions], stored: Mapping[str, object]) -> ProviderOptions:
    """Options from stored strings; an unknown name or a bad value is skipped with a warning."""
    values: dict[str, Any] = {}
    for spec in specs(cls):
        if spec.name not in stored:
            continue
        try:
            values[spec.name] = spec.parse(str(stored[spec.name]))
        except OptionError as exc:
            log.warning("ignoring a stored option: %s", exc)
    return cls(**values)


_O = typing.TypeVar("_O", bound=ProviderOptions)


def options_of(value: ProviderOptions | None, cls: type[_O]) -> _O:
    """``value`` if it is a ``cls``; ``cls()`` (the defaults) for None.

    Raises:
        TypeError: options of another vendor (a programming error).
    """
    if value is None:
        return cls()
    if not isinstance(value, cls):
        raise TypeError(f"{cls.__name__} expected, got {type(value).__name__}")
    return value
