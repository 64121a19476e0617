"""Device listing and resolution, from injected pactl output and PortAudio device lists."""

from __future__ import annotations

import io
import json
import os

import pytest

from captioner.audio import devices
from captioner.audio.devices import (
    BLACKHOLE_HINT,
    Catalog,
    DeviceError,
    PulseState,
    build_catalog,
    find_device,
    format_devices,
    parse_pactl_info,
    parse_pactl_json,
    parse_pactl_long,
    parse_pactl_short,
    parse_sample_spec,
    resolve,
    stream_env,
)

# trimmed from `pactl -f json list sources` (PulseAudio 16.1) on a laptop with a USB headset
PACTL_JSON = json.dumps([
    {"index": 0, "state": "SUSPENDED", "name": "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor",
     "description": "Monitor of Built-in Audio Analog Stereo",
     "sample_specification": "s16le 2ch 48000Hz", "monitor_source": "alsa_output.pci",
     "properties": {"device.description": "Monitor of Built-in Audio Analog Stereo",
                    "device.class": "monitor"}},
    {"index": 1, "state": "RUNNING", "name": "alsa_input.pci-0000_00_1f.3.analog-stereo",
     "description": "Built-in Audio Analog Stereo", "sample_specification": "s16le 2ch 44100Hz",
     "properties": {"device.class": "sound"}},
    {"index": 4, "state": "IDLE", "name": "alsa_input.usb-Jabra_Evolve-00.mono-fallback",
     "description": "Jabra Evolve Mono", "sample_specification": "s16le 1ch 16000Hz",
     "properties": {"device.class": "sound"}},
    {"index": 5, "state": "IDLE", "name": "alsa_output.usb-Jabra_Evolve-00.analog-stereo.monitor",
     "description": "Monitor of Jabra Evolve", "sample_specification": "s16le 2ch 48000Hz",
     "properties": {"device.class": "monitor"}},
])

PACTL_SHORT = (
    "0\talsa_output.pci-0000_00_1f.3.analog-stereo.monitor\tmodule-alsa-card.c\t"
    "s16le 2ch 48000Hz\tSUSPENDED\n"
    "1\talsa_input.pci-0000_00_1f.3.analog-stereo\tmodule-alsa-card.c\ts16le 2ch 44100Hz\tRUNNING\n"
    "4\talsa_input.usb-Jabra_Evolve-00.mono-fallback\tmodule-alsa-card.c\t"
    "s16le 1ch 16000Hz\tIDLE\n"
)

PACTL_INFO = """Server String: /run/user/1000/pulse/native
Server Name: pulseaudio
Default Sink: alsa_output.pci-0000_00_1f.3.analog-stereo
Default Source: alsa_input.pci-0000_00_1f.3.analog-stereo
Cookie: 2062:f786
"""

ALSA = [{"name": "ALSA"}]
ALSA_DEVICES = [
    {"name": "HDA Intel PCH: ALC257 Analog (hw:0,0)", "hostapi": 0, "max_input_channels": 2,
     "default_samplerate": 44100.0},
    {"name": "pulse", "hostapi": 0, "max_input_channels": 32, "default_samplerate": 44100.0},
    {"name": "default", "hostapi": 0, "max_input_channels": 32, "default_samplerate": 44100.0},
    {"name": "HDMI 0", "hostapi": 0, "max_input_channels": 0, "default_samplerate": 48000.0},
]
SINK = "alsa_output.pci-0000_00_1f.3.analog-stereo"
MIC = "alsa_input.pci-0000_00_1f.3.analog-stereo"
JABRA = "alsa_input.usb-Jabra_Evolve-00.mono-fallback"


def linux_catalog(sources_text: str = PACTL_JSON, default_sink: str | None = SINK,
                  default_source: str | None = MIC) -> Catalog:
    pulse = PulseState(tuple(parse_pactl_json(sources_text)), default_source, default_sink)
    return build_catalog(ALSA_DEVICES, ALSA, 2, pulse, "linux")


# -- parsing -----------------------------------------------------------------------------


def test_parse_sample_spec() -> None:
    assert parse_sample_spec("s16le 2ch 48000Hz") == (48000, 2)
    assert parse_sample_spec("float32le 1ch 16000Hz") == (16000, 1)
    assert parse_sample_spec("garbage") == (48000, 2)


def test_parse_pactl_json_marks_monitors_and_keeps_descriptions() -> None:
    sources = {s.name: s for s in parse_pactl_json(PACTL_JSON)}
    assert sources[f"{SINK}.monitor"].is_monitor
    assert sources[f"{SINK}.monitor"].description == "Monitor of Built-in Audio Analog Stereo"
    assert not sources[MIC].is_monitor
    assert (sources[JABRA].rate_hz, sources[JABRA].channels) == (16000, 1)


def test_parse_pactl_json_uses_device_class_for_monitors_without_the_suffix() -> None:
    text = json.dumps([{"name": "loop", "sample_specification": "s16le 2ch 48000Hz",
                        "properties": {"device.class": "monitor"}}])
    assert parse_pactl_json(text)[0].is_monitor


def test_parse_pactl_json_rejects_non_lists() -> None:
    with pytest.raises(ValueError):
        parse_pactl_json("{}")
    with pytest.raises(ValueError):
        parse_pactl_json("Failure: Connection refused")


def test_parse_pactl_short() -> None:
    sources = parse_pactl_short(PACTL_SHORT + "\nnot a source line\n")
    assert [s.name for s in sources] == [f"{SINK}.monitor", MIC, JABRA]
    assert sources[0].is_monitor and not sources[1].is_monitor
    assert (sources[1].rate_hz, sources[1].channels) == (44100, 2)
    assert sources[2].description == JABRA  # short listing has no descriptions


def test_parse_pactl_info() -> None:
    assert parse_pactl_info(PACTL_INFO) == (SINK, MIC)
    assert parse_pactl_info("Server Name: pulseaudio\n") == (None, None)


# -- the catalog -------------------------------------------------------------------------


def test_pulse_sources_become_inputs_and_system_audio() -> None:
    catalog = linux_catalog()
    by_id = {d.id: d for d in catalog.devices}
    assert by_id[f"pulse:{MIC}"].kind == "input" and by_id[f"pulse:{MIC}"].is_default
    assert by_id[f"pulse:{JABRA}"].name == "Jabra Evolve Mono"
    assert by_id[f"pulse:{SINK}.monitor"].kind == "system"
    assert by_id[f"pulse:{SINK}.monitor"].is_default  # monitor of the default sink
    assert not by_id["pulse:alsa_output.usb-Jabra_Evolve-00.analog-stereo.monitor"].is_default
    assert catalog.pulse_route == 1  # ALSA's "pulse" device
    # PortAudio inputs are listed too; output-only devices are not
    assert "pa:ALSA:HDA Intel PCH: ALC257 Analog (hw:0,0)" in by_id
    assert not any(d.name == "HDMI 0" for d in catalog.devices)
    # one default per kind; inputs before system audio
    assert sum(d.is_default for d in catalog.devices if d.kind == "input") == 1
    kinds = [d.kind for d in catalog.devices]
    assert kinds == sorted(kinds, key=("input", "system").index)


def test_without_the_alsa_pulse_plugin_only_portaudio_devices_and_a_hint() -> None:
    no_pulse_plugin = [d for d in ALSA_DEVICES if d["name"] != "pulse"]  # "default" is 1
    pulse = PulseState(tuple(parse_pactl_json(PACTL_JSON)), MIC, SINK)
    catalog = build_catalog(no_pulse_plugin, ALSA, 1, pulse, "linux")
    assert not any(d.id.startswith("pulse:") for d in catalog.devices)
    assert catalog.pulse_route is None
    assert any("libasound2-plugins" in hint for hint in catalog.hints)
    assert [d.name for d in catalog.devices if d.is_default] == [
        "Default microphone (the system's choice)"]  # ALSA's "default", in words


def test_without_pulseaudio_the_portaudio_default_is_the_default() -> None:
    catalog = build_catalog(ALSA_DEVICES, ALSA, 0, None, "linux")
    assert [d.pa_index for d in catalog.devices if d.is_default] == [0]
    assert catalog.hints == ()


def test_windows_loopback_devices_are_system_audio() -> None:
    apis = [{"name": "MME"}, {"name": "Windows WASAPI"}]
    pa = [
        {"name": "Microphone (Realtek)", "hostapi": 0, "max_input_channels": 2,
         "default_samplerate": 44100.0},
        {"name": "Microphone (Realtek)", "hostapi": 1, "max_input_channels": 2,
         "default_samplerate": 48000.0},
        {"name": "Speakers (Realtek) [Loopback]", "hostapi": 1, "max_input_channels": 2,
         "default_samplerate": 48000.0},
    ]
    catalog = build_catalog(pa, apis, 0, None, "win32")
    system = [d for d in catalog.devices if d.kind == "system"]
    assert [d.id for d in system] == ["pa:Windows WASAPI:Speakers (Realtek) [Loopback]"]
    assert len({d.id for d in catalog.devices}) == 3  # host API keeps same-named ids apart
    assert resolve(None, "system", catalog).device == 2


def test_windows_without_loopback_explains() -> None:
    pa = [{"name": "Microphone", "hostapi": 0, "max_input_channels": 1,
           "default_samplerate": 44100.0}]
    catalog = build_catalog(pa, [{"name": "MME"}], 0, None, "win32")
    assert any("Stereo Mix" in hint for hint in catalog.hints)
    with pytest.raises(DeviceError, match="Stereo Mix"):
        resolve(None, "system", catalog)


def test_macos_system_audio_needs_blackhole() -> None:
    pa = [{"name": "MacBook Pro Microphone", "hostapi": 0, "max_input_channels": 1,
           "default_samplerate": 48000.0}]
    catalog = build_catalog(pa, [{"name": "Core Audio"}], 0, None, "darwin")
    assert BLACKHOLE_HINT in catalog.hints
    with pytest.raises(DeviceError, match="BlackHole"):
        resolve(None, "system", catalog)
    with_blackhole = build_catalog(
        pa + [{"name": "BlackHole 2ch", "hostapi": 0, "max_input_channels": 2,
               "default_samplerate": 48000.0}], [{"name": "Core Audio"}], 0, None, "darwin")
    assert resolve(None, "system", with_blackhole).name == "BlackHole 2ch"
    assert resolve(None, "mic", with_blackhole).name == "MacBook Pro Microphone"


# -- resolution --------------------------------------------------------------------------


def test_default_microphone_opens_through_pulse_with_pulse_source() -> None:
    device, env, name, fell_back = resolve(None, "mic", linux_catalog())
    assert (device, env, name, fell_back) == (1, {"PULSE_SOURCE": MIC},
                                              "Built-in Audio Analog Stereo", False)


def test_default_system_audio_is_the_monitor_of_the_default_sink() -> None:
    resolved = resolve(None, "system", linux_catalog())
    assert resolved.env == {"PULSE_SOURCE": f"{SINK}.monitor"}
    assert resolved.info.kind == "system" and not resolved.fell_back


def test_system_default_without_a_default_sink_takes_the_first_monitor() -> None:
    resolved = resolve("default", "system", linux_catalog(default_sink=None))
    assert resolved.info.kind == "system"


@pytest.mark.parametrize("wanted", [f"pulse:{JABRA}", JABRA, "jabra evolve mono", "JABRA",
                                    "evolve mono"])
def test_resolve_by_id_source_name_or_part_of_the_name(wanted: str) -> None:
    resolved = resolve(wanted, "mic", linux_catalog())
    assert resolved.env == {"PULSE_SOURCE": JABRA} and not resolved.fell_back


def test_a_name_part_prefers_the_kind_being_captured() -> None:
    catalog = linux_catalog()
    assert find_device("jabra", catalog, "mic").kind == "input"
    assert find_device("jabra", catalog, "system").kind == "system"


def test_resolve_by_portaudio_index() -> None:
    catalog = linux_catalog()
    assert resolve(0, "mic", catalog).device == 0
    assert resolve("0", "mic", catalog).env == {}
    assert resolve("0", "mic", catalog).name.startswith("HDA Intel PCH")


def test_ids_match_exactly_not_as_a_prefix() -> None:
    """A remembered 'pulse:virtmic' once picked 'pulse:virtmic_sink.monitor' by substring."""
    catalog = linux_catalog()
    assert find_device("pulse:alsa_input", catalog) is None
    with pytest.raises(DeviceError):
        resolve("pulse:alsa_input", "mic", catalog, strict=True)


def test_a_remembered_device_that_is_gone_falls_back_to_the_default_with_a_notice() -> None:
    resolved = resolve("pulse:alsa_input.usb-Yeti", "mic", linux_catalog())
    assert resolved.fell_back
    assert resolved.env == {"PULSE_SOURCE": MIC}
    assert "pulse:alsa_input.usb-Yeti" in resolved.notice and "Built-in" in resolved.notice
    assert resolve("Yeti", "system", linux_catalog()).info.kind == "system"


def test_strict_resolution_refuses_to_fall_back() -> None:
    with pytest.raises(DeviceError, match="not connected"):
        resolve("Yeti", "mic", linux_catalog(), strict=True)


def test_no_devices_at_all_is_a_clear_error() -> None:
    empty = build_catalog([], [], None, None, "linux")
    with pytest.raises(DeviceError, match="No microphone found"):
        resolve(None, "mic", empty)
    with pytest.raises(DeviceError, match="PulseAudio or PipeWire"):
        resolve(None, "system", empty)


def test_linux_without_a_default_source_still_resolves_a_microphone() -> None:
    catalog = linux_catalog(default_source=None)
    with pytest.raises(DeviceError, match="No default microphone"):
        resolve(None, "mic", catalog)
    assert resolve("Built-in", "mic", catalog).env == {"PULSE_SOURCE": MIC}


# -- PULSE_SOURCE handling -----------------------------------------------------------------


def test_stream_env_sets_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULSE_SOURCE", raising=False)
    with stream_env({"PULSE_SOURCE": "a"}):
        assert os.environ["PULSE_SOURCE"] == "a"
        assert devices.open_lock.locked()
    assert "PULSE_SOURCE" not in os.environ
    monkeypatch.setenv("PULSE_SOURCE", "user-choice")
    with pytest.raises(RuntimeError), stream_env({"PULSE_SOURCE": "b"}):
        raise RuntimeError("open failed")
    assert os.environ["PULSE_SOURCE"] == "user-choice"
    assert not devices.open_lock.locked()


# -- captioner devices ----------------------------------------------------------------------


def test_table_has_sections_and_marks_defaults() -> None:
    text = format_devices(linux_catalog())
    inputs, system = text.split("System audio (what the computer plays):")
    assert f"* pulse:{MIC}" in inputs and "Jabra Evolve Mono" in inputs
    assert f"* pulse:{SINK}.monitor" in system
    assert "Monitor of Jabra Evolve" in system and "Monitor of" not in inputs


def test_table_when_there_is_nothing() -> None:
    text = format_devices(build_catalog([], [], None, None, "linux"))
    assert text.startswith("No audio input devices found.")


def test_print_devices_exit_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(devices, "snapshot", linux_catalog)
    assert devices.print_devices(out) == 0 and "Jabra" in out.getvalue()
    monkeypatch.setattr(devices, "snapshot",
                        lambda: build_catalog([], [], None, None, "linux"))
    assert devices.print_devices(io.StringIO()) == 1


def test_list_devices_reads_pactl(monkeypatch: pytest.MonkeyPatch) -> None:
    """query_pulse falls back to the short listing and `pactl info` on old pactl."""
    answers = {
        ("-f", "json", "list", "sources"): None,  # pactl < 16: no JSON
        ("list", "sources"): None,  # and the long listing failed too
        ("list", "short", "sources"): PACTL_SHORT,
        ("get-default-sink",): None,
        ("get-default-source",): None,
        ("info",): PACTL_INFO,
    }
    monkeypatch.setattr(devices, "_pactl", lambda *args: answers[args])
    state = devices.query_pulse()
    assert state is not None
    assert state.default_sink == SINK and state.default_source == MIC
    assert [s.name for s in state.sources][-1] == JABRA


# -- PortAudio missing ---------------------------------------------------------------------


def test_missing_portaudio_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    import sys

    from captioner.audio import portaudio
    from captioner.errors import UserFacingError

    real_import = builtins.__import__

    def no_portaudio(name: str, *args: object, **kwargs: object) -> object:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(UserFacingError, match="sudo apt install libportaudio2") as info:
        portaudio.import_sounddevice()
    assert "Fedora" in str(info.value) and isinstance(info.value.__cause__, OSError)
    assert "brew install portaudio" in portaudio.install_hint("darwin")


# -- names people know ------------------------------------------------------------------------

# trimmed from `LC_ALL=C pactl list sources` (PulseAudio 15, no JSON), the rig's null source
PACTL_LONG = """Source #0
	State: SUSPENDED
	Name: alsa_output.pci-0000_00_1f.3.analog-stereo.monitor
	Description: Monitor of Built-in Audio Analog Stereo
	Driver: module-alsa-card.c
	Sample Specification: s16le 2ch 48000Hz
	Properties:
		device.description = "Monitor of Built-in Audio Analog Stereo"
		device.class = "monitor"
Source #1
	State: RUNNING
	Name: alsa_input.usb-Jabra_Evolve-00.mono-fallback
	Description: Jabra Evolve Mono
	Sample Specification: s16le 1ch 16000Hz
	Properties:
		device.class = "sound"
Source #2
	Name: silence
	Description: Null Input
	Sample Specification: s16le 1ch 16000Hz
Source #3
	Name: auto_null.monitor
	Description: Monitor of Dummy Output
	Sample Specification: s16le 2ch 44100Hz
"""


def test_parse_pactl_long_keeps_descriptions_where_pactl_has_no_json() -> None:
    sources = parse_pactl_long(PACTL_LONG)
    assert [(s.name, s.description, s.rate_hz, s.channels, s.is_monitor) for s in sources] == [
        ("alsa_output.pci-0000_00_1f.3.analog-stereo.monitor",
         "Monitor of Built-in Audio Analog Stereo", 48000, 2, True),
        ("alsa_input.usb-Jabra_Evolve-00.mono-fallback", "Jabra Evolve Mono", 16000, 1, False),
        ("silence", "Null Input", 16000, 1, False),
        ("auto_null.monitor", "Monitor of Dummy Output", 44100, 2, True)]


def test_lists_show_the_sound_servers_names_and_explain_the_null_input() -> None:
    pulse = PulseState(tuple(parse_pactl_long(PACTL_LONG)),
                       "alsa_input.usb-Jabra_Evolve-00.mono-fallback", "auto_null")
    catalog = build_catalog(ALSA_DEVICES, ALSA, 2, pulse, "linux")
    names = {d.id: d.name for d in catalog.devices}
    assert names["pulse:alsa_input.usb-Jabra_Evolve-00.mono-fallback"] == "Jabra Evolve Mono"
    assert names["pulse:silence"] == "No microphone (Null Input: silence)"
    assert names["pulse:auto_null.monitor"] == "No sound output (Dummy Output: silence)"
    # ALSA's "pulse" and "default" lead to the default source above: not listed twice
    assert not any(d.name in ("pulse", "default") for d in catalog.devices)
    assert "pa:ALSA:HDA Intel PCH: ALC257 Analog (hw:0,0)" in names
    table = format_devices(catalog)
    assert " pulse " not in table and " default " not in table
    # a remembered ALSA default still opens the sound server's default, without a notice
    for remembered in ("pa:ALSA:default", "pa:ALSA:pulse", "pulse"):
        resolved = resolve(remembered, "mic", catalog)
        assert not resolved.fell_back and resolved.env == {
            "PULSE_SOURCE": "alsa_input.usb-Jabra_Evolve-00.mono-fallback"}


def test_query_pulse_falls_back_to_the_long_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {("-f", "json", "list", "sources"): None, ("list", "sources"): PACTL_LONG,
               ("get-default-sink",): "auto_null\n", ("get-default-source",): "silence\n"}
    monkeypatch.setattr(devices, "_pactl", lambda *args: answers.get(args))
    state = devices.query_pulse()
    assert state is not None and state.default_source == "silence"
    assert [s.description for s in state.sources][1] == "Jabra Evolve Mono"
