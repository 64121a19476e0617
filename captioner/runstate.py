"""The life of one captioning session as a single state machine, and what to tell the user about it.

Qt-free. The GUI's controller feeds it what happens (the user's commands,
each stream's :class:`~captioner.stream.StateChanged`, capture faults, the run
ending) and reads back :class:`RunStatus`: the phase, the provider actually
captioning, and the one :class:`Alert` the overlay shows in plain words with
its own colour and icon. Decisions that used to hide in flags live here:

* the user's *intent* (keep running, pause, stop) is kept apart from what the
  run is doing, so a failure while stopping never restarts anything: Stop
  always stops, from any phase;
* a cloud failure leads to the offline engine only while the intent is to run;
* alerts are conditions with a start and an end (no audio, device lost,
  reconnecting, fell back, no key, no sound server, failed): each ends when
  its condition does, and the most serious current one is shown.

Phases: ``idle`` (nothing yet), ``connecting``, ``live``, ``reconnecting``,
``degraded`` (the cloud is down and the offline engine captions),
``paused``, ``stopping``, ``stopped``, ``failed``.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

log = logging.getLogger(__name__)

OFFLINE_TITLE = "Offline engine"


class Phase(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    DEGRADED = "degraded"
    PAUSED = "paused"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


class Intent(enum.Enum):
    RUN = "run"
    PAUSE = "pause"
    STOP = "stop"


#: the coarse run states the control window's buttons follow
COARSE = {
    Phase.IDLE: "idle", Phase.CONNECTING: "starting", Phase.LIVE: "live",
    Phase.RECONNECTING: "live", Phase.DEGRADED: "live", Phase.PAUSED: "paused",
    Phase.STOPPING: "stopping", Phase.STOPPED: "stopped", Phase.FAILED: "failed",
}
ACTIVE = (Phase.CONNECTING, Phase.LIVE, Phase.RECONNECTING, Phase.DEGRADED)

# alert kind -> (severity 0..3, icon name under resources/icons/status)
ALERT_KINDS: dict[str, tuple[int, str]] = {
    "no_sound_server": (3, "speaker-off"),
    "no_key": (3, "key"),
    "bad_endpoint": (3, "error"),
    "no_device": (3, "unplugged"),
    "failed": (3, "error"),
    "device_lost": (3, "unplugged"),
    "reconnecting": (2, "reconnecting"),
    "no_audio": (2, "mic-off"),
    "fell_back": (1, "offline"),
    "not_saved": (2, "warning"),
}
LEVELS = {3: "error", 2: "warning", 1: "notice"}
#: alerts of a start that could not begin
REFUSALS = ("no_key", "no_sound_server", "no_device", "bad_endpoint")
# phase -> icon when no alert is shown
PHASE_ICONS = {
    Phase.IDLE: "idle", Phase.CONNECTING: "connecting", Phase.LIVE: "live",
    Phase.RECONNECTING: "reconnecting", Phase.DEGRADED: "offline", Phase.PAUSED: "paused",
    Phase.STOPPING: "connecting", Phase.STOPPED: "idle", Phase.FAILED: "error",
}


@dataclass(frozen=True)
class Alert:
    """A problem going on now.

    Attributes:
        kind: one of :data:`ALERT_KINDS`.
        text: a short sentence for the overlay ("No sound from 'USB Mic' for 10 s").
        source: ``"mic"``/``"system"`` for per-source faults, else "".
        since_s: clock time it began.
    """

    kind: str
    text: str
    source: str = ""
    since_s: float = 0.0

    @property
    def severity(self) -> int:
        return ALERT_KINDS.get(self.kind, (2, "warning"))[0]

    @property
    def level(self) -> str:
        return LEVELS[self.severity]

    @property
    def icon(self) -> str:
        return ALERT_KINDS.get(self.kind, (2, "warning"))[1]


@dataclass(frozen=True)
class RunStatus:
    """What the overlay's status line shows.

    Attributes:
        state: the :class:`Phase` value ("live", "reconnecting", …).
        provider: the title of the provider captioning now ("Offline engine").
        message: extra words from the stream (a reconnect reason), may be "".
        retry_at_s: clock time of the next reconnect attempt, or 0.
        click_through: remind how to get the mouse back.
        click_through_keys: the shortcut that turns click-through off.
        alert: the most serious problem now, or None.
        replaced_provider: the cloud provider the offline engine stands in for.
        behind_since_s: clock time from which audio is not captioned yet
            (reconnecting), or 0; ``behind_ms`` when the stream knows better.
        behind_ms: how much audio is waiting to be captioned, if the stream says.
        recording: the session's audio is being recorded ("REC").
        language: the language being recognised, by name ("Spanish"), when the
            provider detects it (automatic language); "" otherwise.
        captions_paused: every source's device is lost: nothing is captioned until
            one is back (the run itself goes on).
        replaced_reason: why the offline engine replaced the cloud provider for the
            rest of the session, in the provider's words (what to do), or "".
    """

    state: str = "idle"
    provider: str = ""
    message: str = ""
    retry_at_s: float = 0.0
    click_through: bool = False
    click_through_keys: str = ""
    alert: Alert | None = None
    replaced_provider: str = ""
    behind_since_s: float = 0.0
    behind_ms: int = 0
    recording: bool = False
    language: str = ""
    captions_paused: bool = False
    replaced_reason: str = ""

    @property
    def level(self) -> str:
        """"error", "warning", "notice" or "ok": picks the status line's colour."""
        return self.alert.level if self.alert is not None else (
            "error" if self.state == "failed" else "ok")

    @property
    def icon(self) -> str:
        if self.alert is not None:
            return self.alert.icon
        try:
            return PHASE_ICONS[Phase(self.state)]
        except ValueError:
            return "idle"


def _seconds(ms: float) -> str:
    s = max(0, round(ms / 1000))
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60:02d} s"


def describe(status: RunStatus, now_s: float | None = None) -> str:
    """The status in words: "Live · Offline engine", "Live · Offline engine · Spanish"
    (a detected language), "Reconnecting to Deepgram in 4 s · 12 s not captioned yet"."""
    now_s = time.monotonic() if now_s is None else now_s
    state = status.state
    provider = status.provider
    if state == "reconnecting":
        left_s = max(0, math.ceil(status.retry_at_s - now_s)) if status.retry_at_s else 0
        to = f" to {provider}" if provider else ""
        words = f"Reconnecting{to} in {left_s} s" if left_s else f"Reconnecting{to}…"
        behind_ms = status.behind_ms or (
            (now_s - status.behind_since_s) * 1000 if status.behind_since_s else 0)
        parts = [words]
        if behind_ms >= 1000:
            parts.append(f"{_seconds(behind_ms)} not captioned yet")
    elif state == "degraded" or (status.replaced_provider and state in ("live", "connecting")):
        instead = f" (instead of {status.replaced_provider})" if status.replaced_provider else ""
        parts = [f"Live on the offline engine{instead}"]
        if state == "connecting":
            parts = [f"Switching to the offline engine{instead}…"]
        if status.replaced_reason:
            parts.append(status.replaced_reason)
    else:
        words = {
            "idle": "Not captioning", "connecting": "Connecting…", "starting": "Starting…",
            "live": "Live", "paused": "Paused", "stopping": "Stopping…", "stopped": "Stopped",
            "failed": "Stopped by an error",
        }.get(state, state.capitalize())
        if state == "failed" and status.alert is not None and status.alert.kind in REFUSALS:
            words = "Not started"  # nothing ran: nothing was "stopped"
        parts = [words]
        if provider:
            parts.append(provider)
    if status.captions_paused and state in ("live", "degraded"):
        parts[0] = "Captions paused"  # not "Live": no audio reaches the provider
    if status.language and state in ("live", "degraded"):
        parts.append(status.language)
    alert = status.alert
    if alert is not None and alert.kind not in ("reconnecting", "fell_back"):
        parts.insert(0, alert.text)
        if state in ("stopped", "failed", "idle") and parts[-1] == provider:
            parts.pop()
    if status.click_through:
        keys = f" ({status.click_through_keys} to undo)" if status.click_through_keys else ""
        parts.append(f"Click-through on{keys}")
    if status.recording:
        parts.insert(0, "REC")
    return " · ".join(parts)


@dataclass
class RunMachine:
    """The session's one state machine.

    Attributes:
        phase: the current :class:`Phase`.
        intent: what the user asked for last.
        provider: title of the provider the user chose.
        active_provider: title of the provider captioning now.
        replaced_provider: the cloud provider the offline engine stands in for, or "".
        alerts: current problems by key (``kind`` or ``kind:source``).
        clock: ``time.monotonic`` (tests pass their own).
    """

    clock: Callable[[], float] = time.monotonic
    phase: Phase = Phase.IDLE
    intent: Intent = Intent.STOP
    provider: str = ""
    active_provider: str = ""
    replaced_provider: str = ""
    fallback_reason: str = ""
    alerts: dict[str, Alert] = field(default_factory=dict)
    message: str = ""
    retry_at_s: float = 0.0
    behind_since_s: float = 0.0
    behind_ms: int = 0
    _streams: dict[str, str] = field(default_factory=dict)

    # -- reading -----------------------------------------------------------------------

    @property
    def coarse(self) -> str:
        """"idle", "starting", "live", "paused", "stopping", "stopped" or "failed"."""
        return COARSE[self.phase]

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE or self.phase is Phase.STOPPING

    def alert(self) -> Alert | None:
        """The most serious current alert (the newest among equals)."""
        if not self.alerts:
            return None
        return max(self.alerts.values(), key=lambda a: (a.severity, a.since_s))

    def status(self) -> RunStatus:
        return RunStatus(state=self.phase.value, provider=self.active_provider,
                         message=self.message, retry_at_s=self.retry_at_s, alert=self.alert(),
                         replaced_provider=self.replaced_provider,
                         behind_since_s=self.behind_since_s, behind_ms=self.behind_ms,
                         captions_paused=self._captions_paused(),
                         replaced_reason=self.fallback_reason if self.replaced_provider
                         else "")

    def _captions_paused(self) -> bool:
        lost = {a.source for a in self.alerts.values() if a.kind == "device_lost"}
        return bool(lost) and lost >= set(self._streams)

    # -- alerts ------------------------------------------------------------------------

    def raise_alert(self, kind: str, text: str, source: str = "") -> None:
        key = f"{kind}:{source}" if source else kind
        old = self.alerts.get(key)
        text = text.strip()
        text = text[:-1] if text.endswith(".") and not text.endswith("..") else text
        self.alerts[key] = Alert(kind, text, source, old.since_s if old else self.clock())

    def end_alert(self, kind: str, source: str | None = None) -> None:
        """End alerts of ``kind`` (for ``source`` only, when given)."""
        for key, alert in list(self.alerts.items()):
            if alert.kind == kind and (source is None or alert.source == source):
                del self.alerts[key]

    # -- commands ----------------------------------------------------------------------

    def begin(self, provider: str, *, offline_for: str = "") -> None:
        """A run starts (first, resumed, or the offline engine standing in for ``offline_for``)."""
        self.intent = Intent.RUN
        self.provider = provider if not offline_for else self.provider or offline_for
        self.active_provider = OFFLINE_TITLE if offline_for else provider
        self.replaced_provider = offline_for
        self._streams = {}
        for kind in ("failed", *REFUSALS, "reconnecting", "device_lost", "no_audio"):
            self.end_alert(kind)
        if not offline_for:
            self.end_alert("fell_back")
            self.fallback_reason = ""
        self._reset_retry()
        self._set(Phase.CONNECTING)

    def refuse(self, kind: str, text: str, provider: str = "") -> None:
        """A start that could not begin (no key, no sound server): say why, in the overlay."""
        self.intent = Intent.STOP
        if provider:
            self.active_provider = provider
        self.raise_alert(kind, text)
        self._set(Phase.FAILED)

    def stop(self) -> bool:
        """The user pressed Stop. Returns True if a run must be told to end."""
        self.intent = Intent.STOP
        if self.phase in ACTIVE or self.phase is Phase.STOPPING:
            self._set(Phase.STOPPING)
            return True
        if self.phase is Phase.PAUSED:
            self._ended(Phase.STOPPED)
        return False

    def pause(self) -> bool:
        """The user pressed Pause. Returns True if a run must be told to end."""
        if self.phase not in ACTIVE:
            return False
        self.intent = Intent.PAUSE
        self._set(Phase.STOPPING)
        return True

    def may_fall_back(self) -> bool:
        """Whether a cloud failure now may hand over to the offline engine."""
        return self.intent is Intent.RUN and not self.replaced_provider

    def fall_back(self, reason: str) -> None:
        """A cloud provider failed for good; the offline engine takes over after this run."""
        self.raise_alert("fell_back", f"{self.provider} is unavailable; the offline engine "
                         "captions instead", "")
        log.info("falling back to the offline engine: %s", reason)
        self.replaced_provider = self.provider
        self.fallback_reason = reason.strip().removesuffix(".")
        self.end_alert("failed")
        self._set(Phase.CONNECTING)  # "Switching to the offline engine…"

    # -- events from the run -------------------------------------------------------------

    def on_stream(self, source: str, state: str, message: str = "", retry_in_s: float = 0.0,
                  replaced_provider: str = "", behind_ms: int = 0) -> None:
        """A stream's state changed (``captioner.stream.State`` values)."""
        self._streams[source] = state
        combined = self._combined()
        if state == "failed" and self.intent is Intent.RUN:
            self.raise_alert("failed", message or f"{self.active_provider} stopped")
        if combined == "reconnecting":
            if not self.behind_since_s:
                self.behind_since_s = self.clock()
            self.behind_ms = behind_ms
            self.retry_at_s = self.clock() + retry_in_s if retry_in_s else 0.0
            self.message = message
            what = message or f"Lost the connection to {self.active_provider}."
            self.raise_alert("reconnecting", what)
        elif combined in ("live", "degraded"):
            self._reset_retry()
            self.end_alert("reconnecting")
        if combined == "degraded":
            replaced = replaced_provider or self.replaced_provider or self.provider
            self.replaced_provider = replaced
            self.raise_alert("fell_back", f"{replaced} is unreachable; the offline engine "
                             "captions until it is back")
        elif combined == "live" and self.replaced_provider and not replaced_provider \
                and self.active_provider != OFFLINE_TITLE:
            self.replaced_provider = ""
            self.end_alert("fell_back")
        if self.phase is Phase.STOPPING or self.phase in (Phase.STOPPED, Phase.FAILED,
                                                          Phase.PAUSED, Phase.IDLE):
            return  # the user's Stop/Pause decides; late events change only the details
        phase = {"connecting": Phase.CONNECTING, "live": Phase.LIVE,
                 "reconnecting": Phase.RECONNECTING, "degraded": Phase.DEGRADED,
                 "failed": Phase.FAILED}.get(combined)
        if phase is Phase.LIVE and self.replaced_provider and \
                self.active_provider == OFFLINE_TITLE:
            phase = Phase.DEGRADED
        if phase is not None:
            self._set(phase)

    def _combined(self) -> str:
        order = ("failed", "reconnecting", "degraded", "connecting", "live", "stopped")
        states = [s for s in self._streams.values() if s in order]
        return min(states, key=order.index) if states else ""

    def on_capture(self, source: str, kind: str, text: str) -> None:
        """A capture fault: ``lost``, ``silent``, ``resumed`` (or ``notice``)."""
        if kind == "lost":
            self.end_alert("no_audio", source)
            self.raise_alert("device_lost", f"{text}: reconnect it", source)
        elif kind == "silent":
            self.raise_alert("no_audio", text, source)
        elif kind in ("resumed", "sound"):
            self.end_alert("device_lost", source)
            self.end_alert("no_audio", source)

    def finished(self, error: str = "") -> str:
        """The run ended (``error``: why, if it failed). Returns what happens next:
        ``"fallback"`` (start the offline engine), ``"paused"``, ``"stopped"`` or ``"failed"``."""
        self._reset_retry()
        if self.intent is Intent.RUN and self.replaced_provider and \
                self.active_provider != OFFLINE_TITLE and not error:
            return "fallback"
        if error:
            self.raise_alert("failed", error)
        if self.intent is Intent.PAUSE and not error:
            self._set(Phase.PAUSED)
            for kind in ("no_audio", "device_lost", "reconnecting"):
                self.end_alert(kind)
            return "paused"
        failed = bool(error) or "failed" in self.alerts or any(
            a.kind in REFUSALS for a in self.alerts.values())
        self._ended(Phase.FAILED if failed else Phase.STOPPED)
        return self.phase.value

    def _ended(self, phase: Phase) -> None:
        self.intent = Intent.STOP
        self.fallback_reason = ""
        for kind in ("no_audio", "device_lost", "reconnecting", "fell_back"):
            self.end_alert(kind)
        self._set(phase)

    def _reset_retry(self) -> None:
        self.retry_at_s = 0.0
        self.behind_since_s = 0.0
        self.behind_ms = 0
        self.message = ""

    def _set(self, phase: Phase) -> None:
        if phase is not self.phase:
            log.info("run: %s -> %s", self.phase.value, phase.value)
            self.phase = phase


def with_click_through(status: RunStatus, on: bool, keys: str) -> RunStatus:
    return replace(status, click_through=on, click_through_keys=keys)
