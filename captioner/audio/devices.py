"""Which audio inputs exist, and how to open the one the user chose.

:func:`list_devices` returns PortAudio's input devices plus, on Linux with
PulseAudio or PipeWire (``pactl``), every PulseAudio source: ``.monitor``
sources are "system" audio (what the computer plays), the rest are inputs.

Names are the ones people know: a PulseAudio/PipeWire source's description
("Jabra Evolve Mono", from ``pactl -f json list sources``, or the long
listing where pactl has no JSON), the silent placeholder a sound server
falls back to without hardware ("Null Input") called what it is, "no
microphone"; PortAudio's names otherwise. ALSA's ``default`` and ``pulse``
devices are not listed beside the sources they lead to: they are the sound
server's default, which is already marked (a remembered one still opens it).
:func:`resolve` turns a device id, index or name into what
:class:`~captioner.audio.capture.CaptureStream` opens; :func:`print_devices`
is ``captioner devices``.

Choosing a PulseAudio source per stream (verified on Debian 12, PortAudio
19.6, alsa-plugins 1.2.7, PulseAudio 16; see tests/e2e): PortAudio reaches
PulseAudio only through ALSA's ``pulse`` plugin, whose PCM connects to the
source named by ``PULSE_SOURCE``. libpulse reads that variable when the
plugin creates its context, i.e. while the stream is *opened*
(``snd_pcm_open``), not when it starts. So setting ``os.environ["PULSE_SOURCE"]``
right before ``RawInputStream(...)`` and restoring it right after selects the
source for that stream only; two streams opened that way in one process record
from two different sources at once (``pactl list source-outputs`` shows each on
its own source). Opens are serialized by :data:`open_lock` (:func:`stream_env`)
so two threads never interleave their variables (libpulse reads the variable
only while the context is created, i.e. under the lock). A source name that
does not exist makes the open fail (``PortAudioError``, "No such entity")
rather than silently recording the default. No per-source ``.asoundrc`` is
needed. tests/e2e/test_capture_e2e.py records a different WAV from each of two
sources at once and checks each matches its own (correlation 1.0000).

Elsewhere: on Windows, WASAPI loopback devices (PortAudio builds that list
"... [Loopback]" inputs) and "Stereo Mix" are system audio; on macOS system
audio needs a loopback driver such as BlackHole.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from captioner.audio.portaudio import import_sounddevice
from captioner.errors import UserFacingError

log = logging.getLogger(__name__)

KINDS = ("input", "system")
PULSE_HOST_API = "PulseAudio"
BLACKHOLE_HINT = ("To caption what your Mac plays, install the free BlackHole loopback driver "
                  "(brew install blackhole-2ch), then in Audio MIDI Setup create a Multi-Output "
                  "Device with your speakers and BlackHole and make it the sound output.")
WINDOWS_LOOPBACK_HINT = ("No loopback device found for system audio. Enable 'Stereo Mix' in the "
                         "Sound control panel (Recording tab), or install a virtual cable.")
_MAC_LOOPBACK = re.compile(r"blackhole|soundflower|loopback audio", re.I)
_WIN_LOOPBACK = re.compile(r"\[loopback\]|stereo mix", re.I)
_SPEC = re.compile(r"(\d+)ch\s+(\d+)Hz")
# the sound server's silent stand-ins (module-null-source / the auto null sink's monitor)
NULL_INPUTS = ("Null Input",)
NULL_OUTPUT_MONITORS = ("Monitor of Dummy Output", "Monitor of Null Output")
# PortAudio's ALSA devices that lead to the sound server's default source
SERVER_DEFAULT_ALIASES = ("default", "pulse", "sysdefault")

# NB: PULSE_SOURCE is process-global; it is set, the stream opened and the old
# value restored while holding this lock, so concurrent opens cannot mix them up.
open_lock = threading.Lock()


class DeviceError(UserFacingError):
    """The chosen audio device can't be used; the message says what to do."""


@dataclass(frozen=True)
class DeviceInfo:
    """One capturable audio input.

    Attributes:
        id: stable id: ``pulse:<source name>`` or ``pa:<host api>:<name>``.
        name: what the user sees ("VirtualMic", "Monitor of Speakers").
        kind: ``"input"`` (microphones) or ``"system"`` (what the computer plays).
        is_default: the default for its kind.
        host_api: "PulseAudio", "ALSA", "Windows WASAPI", "Core Audio", ...
        default_rate: the rate to open it at (the source's native rate).
        channels: input channels (capture opens at most 2).
        pa_index: PortAudio device index, for PortAudio devices.
        pulse_name: the PulseAudio source name, for PulseAudio sources.
    """

    id: str
    name: str
    kind: str
    is_default: bool
    host_api: str
    default_rate: int
    channels: int = 1
    pa_index: int | None = None
    pulse_name: str | None = None


@dataclass(frozen=True)
class PulseSource:
    name: str
    description: str
    rate_hz: int
    channels: int
    is_monitor: bool


@dataclass(frozen=True)
class PulseState:
    """What ``pactl`` reported: sources and the server's defaults."""

    sources: tuple[PulseSource, ...]
    default_source: str | None = None
    default_sink: str | None = None


@dataclass(frozen=True)
class Catalog:
    """A snapshot of the devices and how to reach PulseAudio sources.

    Attributes:
        devices: inputs then system-audio sources.
        platform: ``sys.platform`` it was taken on.
        pulse_route: PortAudio index of ALSA's ``pulse`` device, through which
            PulseAudio sources are opened (with ``PULSE_SOURCE``); None without it.
        default_sink: PulseAudio's default sink (its monitor is the system default).
        hints: advice for the user (printed by ``captioner devices``).
    """

    devices: tuple[DeviceInfo, ...]
    platform: str
    pulse_route: int | None = None
    default_sink: str | None = None
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resolved:
    """What to open. Unpacks as ``(device, env, name, fell_back)``.

    Attributes:
        device: the PortAudio device argument (an index).
        env: environment overrides to hold while opening (``PULSE_SOURCE``).
        name: display name for messages.
        fell_back: the requested device is gone; this is the default instead.
        info: the chosen device.
        notice: a message for the user when it fell back.
    """

    device: int | None
    env: dict[str, str]
    name: str
    fell_back: bool
    info: DeviceInfo
    notice: str = ""
    requested: str | int | None = field(default=None, compare=False)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.device, self.env, self.name, self.fell_back))


# -- pactl ------------------------------------------------------------------------------


def parse_sample_spec(spec: str) -> tuple[int, int]:
    """``"s16le 2ch 48000Hz"`` → ``(48000, 2)``; ``(48000, 2)`` when unreadable."""
    match = _SPEC.search(spec or "")
    if not match:
        return 48_000, 2
    return int(match.group(2)), int(match.group(1))


def parse_pactl_json(text: str) -> list[PulseSource]:
    """Sources from ``pactl -f json list sources``.

    Raises:
        ValueError: not the JSON list pactl prints.
    """
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError("pactl JSON is not a list")
    sources = []
    for item in data:
        name = item.get("name")
        if not isinstance(name, str) or not name:
            continue
        props = item.get("properties") or {}
        rate_hz, channels = parse_sample_spec(item.get("sample_specification", ""))
        is_monitor = name.endswith(".monitor") or props.get("device.class") == "monitor"
        description = item.get("description") or props.get("device.description") or name
        sources.append(PulseSource(name, description, rate_hz, channels, is_monitor))
    return sources


def parse_pactl_short(text: str) -> list[PulseSource]:
    """Sources from ``pactl list short sources`` (tab-separated; no descriptions)."""
    sources = []
    for line in text.splitlines():
        cols = line.split("\t")
        if len(cols) < 4 or not cols[1]:
            continue
        name = cols[1]
        rate_hz, channels = parse_sample_spec(cols[3])
        sources.append(PulseSource(name, name, rate_hz, channels, name.endswith(".monitor")))
    return sources


def parse_pactl_long(text: str) -> list[PulseSource]:
    """Sources from ``LC_ALL=C pactl list sources`` (pactl before 16 has no JSON)."""
    sources: list[PulseSource] = []
    fields: dict[str, str] = {}

    def flush() -> None:
        name = fields.get("Name", "")
        if name:
            rate_hz, channels = parse_sample_spec(fields.get("Sample Specification", ""))
            monitor = name.endswith(".monitor") or fields.get("device.class") == "monitor"
            sources.append(PulseSource(name, fields.get("Description") or name, rate_hz,
                                       channels, monitor))
        fields.clear()

    for line in text.splitlines():
        if line.startswith("Source #"):
            flush()
            continue
        key, sep, value = line.strip().partition(":" if "=" not in line else "=")
        if sep and key.strip() in ("Name", "Description", "Sample Specification",
                                   "device.class"):
            fields.setdefault(key.strip(), value.strip().strip('"'))
    flush()
    return sources


def human_name(source: PulseSource) -> str:
    """What to call a source: its description, with the silent stand-ins explained."""
    if source.description in NULL_INPUTS:
        return f"No microphone ({source.description}: silence)"
    if source.description in NULL_OUTPUT_MONITORS:
        return f"No sound output ({source.description.removeprefix('Monitor of ')}: silence)"
    return source.description


def parse_pactl_info(text: str) -> tuple[str | None, str | None]:
    """``(default sink, default source)`` from ``LC_ALL=C pactl info``."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("Default Sink", "Default Source") and value.strip():
            found[key.strip()] = value.strip()
    return found.get("Default Sink"), found.get("Default Source")


def _pactl(*args: str) -> str | None:
    exe = shutil.which("pactl")
    if exe is None:
        return None
    try:
        proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=3,
                              env=dict(os.environ, LC_ALL="C"), check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("pactl %s failed: %s", " ".join(args), exc)
        return None
    if proc.returncode != 0:
        log.debug("pactl %s: exit %s: %s", " ".join(args), proc.returncode, proc.stderr.strip())
        return None
    return proc.stdout


def pulse_source_names() -> set[str] | None:
    """Names of the PulseAudio sources now, or None if PulseAudio can't be asked."""
    text = _pactl("list", "short", "sources")
    return None if text is None else {s.name for s in parse_pactl_short(text)}


def query_pulse() -> PulseState | None:
    """Ask the PulseAudio (or PipeWire) server for its sources; None if there is none."""
    text = _pactl("-f", "json", "list", "sources")
    sources: list[PulseSource] | None = None
    if text is not None:
        try:
            sources = parse_pactl_json(text)
        except ValueError:
            log.info("pactl JSON unreadable; using the short listing")
    if sources is None:
        text = _pactl("list", "sources")
        sources = parse_pactl_long(text) if text is not None else None
    if not sources:
        text = _pactl("list", "short", "sources")
        if text is None:
            return None if sources is None else PulseState(())
        sources = parse_pactl_short(text)
    sink = (_pactl("get-default-sink") or "").strip() or None
    source = (_pactl("get-default-source") or "").strip() or None
    if sink is None or source is None:
        info_sink, info_source = parse_pactl_info(_pactl("info") or "")
        sink, source = sink or info_sink, source or info_source
    return PulseState(tuple(sources), source, sink)


# -- the catalog ------------------------------------------------------------------------


def build_catalog(pa_devices: list[dict[str, Any]], host_apis: list[dict[str, Any]],
                  default_input: int | None, pulse: PulseState | None,
                  platform: str) -> Catalog:
    """Combine PortAudio's devices and PulseAudio's sources (pure; for tests too).

    Args:
        pa_devices: ``sounddevice.query_devices()`` as a list of dicts.
        host_apis: ``sounddevice.query_hostapis()``.
        default_input: PortAudio's default input index, or None/-1.
        pulse: PulseAudio's state, or None without a server.
        platform: ``sys.platform``.
    """
    hints: list[str] = []
    route = next((i for i, d in enumerate(pa_devices)
                  if d.get("name") == "pulse" and d.get("max_input_channels", 0) > 0), None)
    pulse_ok = pulse is not None and route is not None and platform.startswith("linux")
    if pulse is not None and route is None and platform.startswith("linux"):
        hints.append("PulseAudio/PipeWire is running but PortAudio can't reach it: install the "
                     "ALSA PulseAudio plugin (Debian/Ubuntu: libasound2-plugins; Fedora: "
                     "alsa-plugins-pulseaudio) to choose sources and capture system audio.")
    devices: list[DeviceInfo] = []
    if pulse_ok:
        assert pulse is not None
        monitor_default = f"{pulse.default_sink}.monitor" if pulse.default_sink else None
        for src in pulse.sources:
            kind = "system" if src.is_monitor else "input"
            default = src.name == (monitor_default if src.is_monitor else pulse.default_source)
            devices.append(DeviceInfo(f"pulse:{src.name}", human_name(src), kind, default,
                                      PULSE_HOST_API, src.rate_hz, src.channels,
                                      pulse_name=src.name))
    for index, dev in enumerate(pa_devices):
        channels = int(dev.get("max_input_channels", 0))
        if channels <= 0:
            continue
        api_index = dev.get("hostapi", 0)
        api = host_apis[api_index]["name"] if 0 <= api_index < len(host_apis) else "?"
        name = str(dev.get("name", f"device {index}"))
        alias = platform.startswith("linux") and name in SERVER_DEFAULT_ALIASES
        if alias and pulse_ok:
            continue  # the sound server's default source, listed (and marked) above
        shown = "Default microphone (the system's choice)" if alias and name != "pulse" \
            else "Sound server's default microphone" if alias else name
        kind = "input"
        if (platform.startswith("win") and _WIN_LOOPBACK.search(name)) or (
                platform == "darwin" and _MAC_LOOPBACK.search(name)):
            kind = "system"
        default = not pulse_ok and kind == "input" and index == default_input
        devices.append(DeviceInfo(f"pa:{api}:{name}", shown, kind, default, api,
                                  int(dev.get("default_samplerate") or 48_000), channels,
                                  pa_index=index))
    if platform.startswith("win") and not any(d.kind == "system" for d in devices):
        hints.append(WINDOWS_LOOPBACK_HINT)
    if platform == "darwin" and not any(d.kind == "system" for d in devices):
        hints.append(BLACKHOLE_HINT)
    devices.sort(key=lambda d: KINDS.index(d.kind))  # stable: inputs first
    sink = pulse.default_sink if pulse_ok and pulse else None
    return Catalog(tuple(devices), platform, route if pulse_ok else None, sink, tuple(hints))


def snapshot() -> Catalog:
    """The devices now (PortAudio's list is as of its initialization)."""
    sd = import_sounddevice()
    pa_devices = [dict(d) for d in sd.query_devices()]
    host_apis = [dict(h) for h in sd.query_hostapis()]
    try:
        default_input = int(sd.default.device[0])
    except (TypeError, ValueError, IndexError):
        default_input = None
    pulse = query_pulse() if sys.platform.startswith("linux") else None
    return build_catalog(pa_devices, host_apis, default_input, pulse, sys.platform)


def list_devices() -> list[DeviceInfo]:
    """Every capturable input, microphones first, then system-audio sources."""
    return list(snapshot().devices)


# -- resolution -------------------------------------------------------------------------


def source_noun(source: str) -> str:
    """What a source is called in messages: "microphone" or "system audio source"."""
    return "system audio source" if source == "system" else "microphone"


def default_device(source: str, catalog: Catalog) -> DeviceInfo:
    """The default input (``source="mic"``) or system-audio source.

    Raises:
        DeviceError: there is none; the message says how to get one.
    """
    kind = "system" if source == "system" else "input"
    candidates = [d for d in catalog.devices if d.kind == kind]
    chosen = next((d for d in candidates if d.is_default), None)
    if chosen is None and candidates and (kind == "system" or catalog.pulse_route is None):
        chosen = candidates[0]
    if chosen is not None:
        return chosen
    if kind == "system":
        if catalog.platform == "darwin":
            raise DeviceError(BLACKHOLE_HINT)
        if catalog.platform.startswith("win"):
            raise DeviceError(WINDOWS_LOOPBACK_HINT)
        raise DeviceError("No system-audio source found. Capturing what the computer plays needs "
                          "PulseAudio or PipeWire (with pactl) and the ALSA PulseAudio plugin.")
    if not catalog.devices:
        raise DeviceError("No microphone found. Connect one, or check that the sound server "
                          "(PulseAudio/PipeWire) is running; `captioner devices` lists inputs.")
    raise DeviceError("No default microphone is set. Choose one with --device "
                      "(`captioner devices` lists them).")


def find_device(device: str | int, catalog: Catalog, source: str = "mic") -> DeviceInfo | None:
    """Look ``device`` up by PortAudio index, exact id, or (case-insensitively) PulseAudio
    source name, exact name, then a part of the name or id."""
    devices = catalog.devices
    if isinstance(device, int) or (isinstance(device, str) and device.strip().isdigit()):
        index = int(device)
        return next((d for d in devices if d.pa_index == index), None)
    wanted = device.strip()
    low = wanted.casefold()
    if low.startswith(("pulse:", "pa:")):  # an id: exact only ("pulse:mic" ≠ "pulse:mic2")
        return next((d for d in devices if d.id == wanted), None) or next(
            (d for d in devices if d.id.casefold() == low), None)
    kind = "system" if source == "system" else "input"
    # matches of the wanted kind first, so "Speakers" picks the monitor for system audio
    ordered = sorted(devices, key=lambda d: d.kind != kind)
    for match in (
        lambda d: d.pulse_name is not None and d.pulse_name.casefold() == low,
        lambda d: d.name.casefold() == low,
        lambda d: low in d.name.casefold(),
        lambda d: low in d.id.casefold(),
    ):
        found = next((d for d in ordered if match(d)), None)
        if found is not None:
            return found
    return None


def opening(info: DeviceInfo, catalog: Catalog) -> tuple[int | None, dict[str, str]]:
    """The PortAudio device argument and environment that open ``info``."""
    if info.pulse_name is not None:
        return catalog.pulse_route, {"PULSE_SOURCE": info.pulse_name}
    return info.pa_index, {}


def resolve(device: str | int | None, source: str = "mic", catalog: Catalog | None = None,
            *, strict: bool = False) -> Resolved:
    """Decide what to open for ``device`` (id, index, name or part of one; None = default).

    A device that is not there any more (a remembered choice, an unplugged
    headset) falls back to the default with ``fell_back`` and a notice.

    Raises:
        DeviceError: there's no device to fall back to, or ``strict`` and the
            requested device is missing.
    """
    catalog = catalog or snapshot()
    if isinstance(device, str) and catalog.pulse_route is not None and \
            device.strip().casefold() in _SERVER_DEFAULT_IDS:
        device = None  # ALSA's default/pulse: the sound server's default source
    if device is None or (isinstance(device, str) and device.strip().lower() in ("", "default")):
        info = default_device(source, catalog)
        dev, env = opening(info, catalog)
        return Resolved(dev, env, info.name, False, info, requested=device)
    found = find_device(device, catalog, source)
    if found is not None:
        info = found
        dev, env = opening(info, catalog)
        return Resolved(dev, env, info.name, False, info, requested=device)
    if strict:
        raise DeviceError(f"The {source_noun(source)} '{device}' is not connected.")
    info = default_device(source, catalog)
    dev, env = opening(info, catalog)
    notice = (f"The {source_noun(source)} '{device}' is not connected; using the default "
              f"'{info.name}' instead.")
    log.info("%s", notice)
    return Resolved(dev, env, info.name, True, info, notice, requested=device)


_SERVER_DEFAULT_IDS = {f"pa:alsa:{name}" for name in SERVER_DEFAULT_ALIASES} | {"pulse"}


@contextlib.contextmanager
def stream_env(env: dict[str, str]) -> Iterator[None]:
    """Hold :data:`open_lock` with ``env`` set in ``os.environ``; restore afterwards.

    Open the PortAudio stream inside; see the module docstring for why.
    """
    with open_lock:
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


# -- captioner devices --------------------------------------------------------------------


def format_devices(catalog: Catalog) -> str:
    """The table ``captioner devices`` prints."""
    if not catalog.devices:
        empty = ["No audio input devices found.",
                 "Connect a microphone, or check that the sound server (PulseAudio/PipeWire) "
                 "is running."]
        return "\n".join(empty + list(catalog.hints)) + "\n"
    width = max(len(d.id) for d in catalog.devices)
    name_width = max(len(d.name) for d in catalog.devices)
    lines: list[str] = []
    for kind, title in (("input", "Microphones and other inputs:"),
                        ("system", "System audio (what the computer plays):")):
        section = [d for d in catalog.devices if d.kind == kind]
        lines.append(title)
        if not section:
            lines.append("    (none)")
        for d in section:
            mark = "*" if d.is_default else " "
            lines.append(f"  {mark} {d.id:<{width}}  {d.name:<{name_width}}  "
                         f"{d.host_api}, {d.default_rate} Hz, {d.channels} ch")
        lines.append("")
    lines.append("* = default.  Choose one with --device ID (or part of its name), e.g. "
                 "`captioner transcribe --source mic --device ID`.")
    lines.extend(catalog.hints)
    return "\n".join(lines) + "\n"


def print_devices(out: TextIO | None = None) -> int:
    """``captioner devices``: 0 if any device was found, else 1."""
    catalog = snapshot()
    (out or sys.stdout).write(format_devices(catalog))
    return 0 if catalog.devices else 1
