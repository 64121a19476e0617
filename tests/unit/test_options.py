"""Typed vendor options: declaration, validation, parsing, storage round trip."""

from __future__ import annotations

import dataclasses

import pytest

from captioner.options import (
    OptionError,
    from_strings,
    parse_pairs,
    spec_of,
    specs,
    to_strings,
)
from captioner.providers import options_class
from captioner.providers.assemblyai import AssemblyAiOptions
from captioner.providers.speechmatics import SpeechmaticsOptions
from captioner.vendors import PROVIDERS, VENDORS


@pytest.mark.parametrize("name", PROVIDERS)
def test_every_vendor_declares_frozen_options_with_help(name):
    cls = options_class(name)
    opts = cls()
    for spec in specs(cls):
        assert spec.help, spec.name
        assert getattr(opts, spec.name) == spec.default
        if spec.choices:  # a list's items each among the choices
            items = spec.default if spec.kind is tuple else (spec.default,)
            assert all(item in spec.choices for item in items), spec.name
    if specs(cls):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(opts, specs(cls)[0].name, None)
    if cls.MODEL_FIELD:
        spec_of(cls, cls.MODEL_FIELD)
    if VENDORS[name].regions:
        assert spec_of(cls, "region").choices == tuple(VENDORS[name].regions)


@pytest.mark.parametrize("name", PROVIDERS)
def test_defaults_and_changed_values_round_trip_through_strings(name):
    cls = options_class(name)
    assert from_strings(cls, to_strings(cls())) == cls()


def test_bad_values_cannot_be_built():
    with pytest.raises(OptionError, match="one of enhanced, standard"):
        SpeechmaticsOptions(model="turbo")
    with pytest.raises(OptionError, match="from 0.7 to 4"):
        SpeechmaticsOptions(max_delay=5.0)
    with pytest.raises(OptionError):
        AssemblyAiOptions(temporary_token="yes")  # type: ignore[arg-type]


def test_parse_pairs_types_and_lists_the_valid_choices():
    opts = parse_pairs(AssemblyAiOptions, {"temporary_token": "on", "max_speakers": "3",
                                           "end_of_turn_confidence_threshold": "0.6",
                                           "max_session_duration_s": ""})
    assert opts == AssemblyAiOptions(temporary_token=True, max_speakers=3,
                                     end_of_turn_confidence_threshold=0.6)
    with pytest.raises(OptionError, match="valid options: speech_model, region"):
        parse_pairs(AssemblyAiOptions, {"model": "x"})
    with pytest.raises(OptionError, match="true or false"):
        parse_pairs(AssemblyAiOptions, {"format_turns": "maybe"})
    with pytest.raises(OptionError, match="whole number from 1 to 10"):
        parse_pairs(AssemblyAiOptions, {"max_speakers": "11"})
