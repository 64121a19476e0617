"""``captioner providers``: every speech service with its key variable, endpoints and options.

Also turns ``--model``, ``--region`` and ``--option key=value`` into a vendor's
typed options (:func:`options_from_args`), so the list printed here and the
values the command line accepts come from the same dataclasses.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from captioner.options import OptionError, ProviderOptions, parse_pairs, specs
from captioner.providers import options_class
from captioner.vendors import VENDORS, title


def options_from_args(provider: str, model: str | None, region: str | None,
                      pairs: Sequence[str]) -> ProviderOptions:
    """The provider's options from the command line (strict).

    Raises:
        OptionError: an unknown key, a bad value, or ``--model``/``--region``
            for a vendor without one; the message lists the valid choices.
    """
    cls = options_class(provider)
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise OptionError(f"--option needs key=value, got {pair!r}")
        values[key.strip()] = value
    names = {s.name for s in specs(cls)}
    if model is not None:
        if cls.MODEL_FIELD is None:
            raise OptionError(f"{title(provider)} has no model choice (--model)")
        values[cls.MODEL_FIELD] = model
    if region is not None:
        if "region" not in names:
            raise OptionError(f"{title(provider)} has no region choice (--region)")
        values["region"] = region
    try:
        return parse_pairs(cls, values)
    except OptionError as exc:
        raise OptionError(f"{title(provider)}: {exc}") from None


def print_providers(out: TextIO | None = None) -> int:
    """List each vendor with its options and defaults; returns the exit code (0)."""
    out = out or sys.stdout
    for name, vendor in VENDORS.items():
        print(f"{name}  —  {vendor.title}", file=out)
        print(f"  key: {vendor.env_var} (or the keychain)", file=out)
        if vendor.regions:
            regions = ", ".join(f"{r} {u}" for r, u in vendor.regions.items())
            print(f"  endpoints: {regions}", file=out)
        elif name != "local":
            print(f"  endpoint: {vendor.default_url}", file=out)
        cls = options_class(name)
        if cls.MODEL_FIELD:
            print(f"  --model sets {cls.MODEL_FIELD}", file=out)
        for spec in specs(cls):
            default = spec.format(spec.default) or (
                "(vendor default)" if spec.default is None or spec.choices else "(none)")
            print(f"  --option {spec.name}=…  default {default}; {spec.valid_values()}",
                  file=out)
            print(f"      {spec.help}", file=out)
        if not specs(cls):
            print("  no options (English, the bundled model)", file=out)
        print(file=out)
    return 0
