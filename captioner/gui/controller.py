"""The app's glue: turns Settings into a captioning run, owns its thread, transcript and journal.

A run is one :class:`SessionThread` executing a *runner* built by a
:data:`RunnerFactory` (by default :func:`live_runner`, i.e.
:class:`captioner.live.LiveCaptioning`; tests pass scripted ones). A *session*
(one journal file, one transcript) spans runs: pausing ends the run cleanly and
resuming starts a new one that appends to the same transcript, its times
continuing from where the session is now.

Durability: the listener handed to the runner writes every final (and gap) to
the journal on the loop thread *before* the event is emitted to the GUI, so
what the user saw is on disk. A 1 s timer fsyncs and retries the journal and
reports disk trouble as a problem.

The session's life (connecting, live, reconnecting, degraded, paused,
stopping, stopped, failed) is one Qt-free :class:`captioner.runstate.RunMachine`;
this class turns its decisions into threads, banners and signals. If a cloud
provider fails for good mid-run (and the user allows it), the session carries
on with the offline engine, and the status says so; Stop always stops.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from captioner import __version__
from captioner.audio.devices import DeviceError
from captioner.audio.recorder import Recorder
from captioner.bridge import Runner, SessionThread
from captioner.config import SessionConfig
from captioner.errors import UserFacingError
from captioner.gui.announce import announce
from captioner.gui.choices import AUTO_LANGUAGES, language_name
from captioner.providers.base import Final
from captioner.providers.translation import check_targets
from captioner.providers.wire import endpoint_problem
from captioner.runstate import OFFLINE_TITLE, Phase, RunMachine, RunStatus, with_click_through
from captioner.secrets import ENV_VARS, SecretStore, SecretStoreError, resolve_secret
from captioner.settings import Key, Settings
from captioner.stream import GapAdded, Notice, State, StateChanged, TranscriptChanged
from captioner.transcript import Change, Gap, Segment, Transcript
from captioner.transcript import export as exporter
from captioner.transcript.journal import Journal, WriteThenShow
from captioner.vendors import title as vendor_title

log = logging.getLogger(__name__)

RUN_STATES = ("idle", "starting", "live", "paused", "stopping", "stopped", "failed")
# banner keys that belong to a run: cleared when the session ends
RUN_BANNERS = ("reconnect", "fallback", "notice:mic", "notice:system", "capture:mic",
               "capture:system")
LEVEL_POLL_MS = 50
JOURNAL_SYNC_MS = 1000
SHUTDOWN_WAIT_MS = 8000
_ORPHANS: list[SessionThread] = []  # runs that outlived shutdown, kept from destruction


@dataclass(frozen=True)
class RunRequest:
    """What one run captions, and with what.

    Attributes:
        config: the provider settings.
        secret: the provider's key, or None.
        source: ``"mic"``, ``"system"`` or ``"both"``.
        mic_device, system_device: device ids or names; None = the default.
        recorder: the session's recorder (records while enabled), or None.
        standby: a cloud stream's outage is captioned by the offline engine (hot
            standby; the "continue with the offline engine" preference).
    """

    config: SessionConfig
    secret: str | None
    source: str = "mic"
    mic_device: str | None = None
    system_device: str | None = None
    recorder: Recorder | None = None
    standby: bool = True


@dataclass(frozen=True)
class Problem:
    """Something to tell the user in a banner, with the action that fixes it.

    Attributes:
        message: plain words, what happened and what to do.
        level: "error", "warning" or "info".
        action: what its button does: "preferences", "add_key", "offline" (switch to the
            offline engine and start), "devices", "system_devices", "retry", "history"
            or "" (dismiss only).
        key: a banner with the same key replaces the previous one.
        also: further actions, each a button after the first.
        icon: a status icon (``resources/icons/status/<icon>.svg``); "" = by level.
    """

    message: str
    level: str = "error"
    action: str = ""
    key: str = "run"
    also: tuple[str, ...] = ()
    icon: str = ""


RunnerFactory = Callable[[RunRequest, Transcript, Callable[[Any], None]], Runner]


def live_runner(request: RunRequest, transcript: Transcript,
                register: Callable[[Any], None]) -> Runner:
    """The real runner: capture and sessions via :class:`captioner.live.LiveCaptioning`.

    ``register`` receives the LiveCaptioning object (its ``captures`` carry the
    level meters the GUI polls).
    """

    async def run(listener: Callable[[Any], None], stop: Any) -> Awaitable[object]:
        from captioner.live import LiveCaptioning

        first = request.system_device if request.source == "system" else request.mic_device
        live = LiveCaptioning(request.config, request.secret, request.source, first or None,
                              transcript, listener, system_device=request.system_device or None,
                              recorder=request.recorder,
                              base_ms=getattr(transcript, "base_ms", 0),
                              standby=request.standby)
        register(live)
        return await live.run(stop)

    return run


class ResumableTranscript(Transcript):
    """A transcript whose new runs continue after the earlier ones in time.

    Attributes:
        base_ms: added to every time applied (the session time the run started at).
    """

    def __init__(self) -> None:
        super().__init__()
        self.base_ms = 0

    def apply(self, event, source: str = "mic", offset_ms: int = 0):
        return super().apply(event, source, offset_ms + self.base_ms)

    def add_gap(self, gap: Gap) -> None:
        super().add_gap(self.shifted(gap))

    def shifted(self, gap: Gap) -> Gap:
        if not self.base_ms:
            return gap
        return replace(gap, start_ms=gap.start_ms + self.base_ms,
                       end_ms=gap.end_ms + self.base_ms)

    def end_ms(self) -> int:
        return max([s.end_ms for s in self.finals] + [g.end_ms for g in self.gaps] + [0])


class Controller(QObject):
    """Starts, pauses, resumes and stops captioning; everything the windows show comes from here.

    Attributes:
        settings: the user's settings.
        transcript: the current session's transcript (None before the first start).
        journal: the current session's journal (None when no session is open).
        recording: whether this session's audio is recorded (the next
            session's, when none is open); starts as the preference.
        recorder: the open session's :class:`Recorder`, or None.
        run_state: one of :data:`RUN_STATES` (the machine's coarse state).
        machine: the session's :class:`RunMachine`.
        status: the :class:`RunStatus` shown in the overlay.
        announce_target: the widget announcements are sent from (set by the app).

    Signals:
        transcript_changed(TranscriptChanged): a partial or final, after journaling.
        segment_finalized(Segment): a final was added (and is on disk).
        gap_added(Gap): audio that could not be captioned.
        transcript_reset(): a new session began; views clear.
        run_state_changed(str): see :data:`RUN_STATES`.
        status_changed(RunStatus): for the overlay's status line.
        problem_posted(Problem): show a banner.
        problem_cleared(str): remove the banner with this key.
        level_changed(object): input peak in dBFS, or None when not capturing.
        recording_changed(bool): recording was switched on or off.
    """

    transcript_changed = Signal(object)
    segment_finalized = Signal(object)
    gap_added = Signal(object)
    transcript_reset = Signal()
    run_state_changed = Signal(str)
    status_changed = Signal(object)
    problem_posted = Signal(object)
    problem_cleared = Signal(str)
    level_changed = Signal(object)
    recording_changed = Signal(bool)

    def __init__(self, settings: Settings, store: SecretStore | None = None, *,
                 runner_factory: RunnerFactory | None = None,
                 journal_dir: str | Path | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 environ: dict[str, str] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.store = store
        self.runner_factory = runner_factory or live_runner
        self.journal_dir = journal_dir
        self.clock = clock
        self.environ = environ
        self.transcript: ResumableTranscript | None = None
        self.journal: Journal | None = None
        self.machine = RunMachine(clock)
        self.recording: bool = settings.get(Key.RECORD_AUDIO)
        self.recorder: Recorder | None = None
        self._recorder_error = ""
        self.run_state = "idle"
        self.status = RunStatus()
        self.detected_language = ""  # by name, while the provider detects the language
        self.announce_target: QObject | None = None
        self._thread: SessionThread | None = None
        self._request: RunRequest | None = None
        self._live: Any = None
        self._session_t0 = 0.0
        self._standby_heard = False  # a caption arrived since the offline engine stood in
        self._went_live = False  # this run's stream has been live (a failure is not a drop)
        self._journal_error = ""
        self._unsaved: Journal | None = None  # closed with lines still waiting for the disk
        self._no_key_for = ""  # the provider a "no key" banner is about
        self._last_level: float | None = None
        self._level_timer = QTimer(self)
        self._level_timer.setInterval(LEVEL_POLL_MS)
        self._level_timer.timeout.connect(self.on_level_timer_timeout)
        self._journal_timer = QTimer(self)
        self._journal_timer.setInterval(JOURNAL_SYNC_MS)
        self._journal_timer.timeout.connect(self.on_journal_timer_timeout)

    # -- state ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.run_state in ("starting", "live", "stopping")

    @property
    def _fallback(self) -> bool:
        return self.machine.active_provider == OFFLINE_TITLE and bool(
            self.machine.replaced_provider)

    def _sync(self) -> None:
        """Publish the machine's state: the coarse run state, then the status line."""
        state = self.machine.coarse
        if state != self.run_state:
            log.info("run state: %s -> %s", self.run_state, state)
            self.run_state = state
            self.run_state_changed.emit(state)
        status = with_click_through(self.machine.status(), self.status.click_through,
                                    self.status.click_through_keys)
        status = replace(status, recording=self.recording and self.recorder is not None
                         and self.machine.phase.value not in ("stopped", "failed", "idle"),
                         language=self.detected_language)
        if status != self.status:
            self.status = status
            self.status_changed.emit(status)

    def _set_status(self, **_changes: Any) -> None:
        """Re-publish the status (what it says comes from the machine and the recorder)."""
        self._sync()

    # -- building a run ---------------------------------------------------------------

    def build_request(self, provider: str | None = None) -> RunRequest | None:
        """A :class:`RunRequest` from the settings, or None after posting the problem."""
        config = self.settings.session_config(provider)
        title = vendor_title(config.provider)
        problem = endpoint_problem(config.endpoint)
        if problem:
            cloud = config.provider != "local"
            self._refuse("bad_endpoint", f"The {title} endpoint is not valid: fix it in "
                         "Preferences → Providers" + (", or use the offline engine" if cloud
                                                       else ""), title)
            self.problem_posted.emit(Problem(f"{problem} Fix it in Preferences → Providers.",
                                             "error", "preferences",
                                             also=("offline",) if cloud else ()))
            return None
        try:
            if config.provider == "local" and not config.endpoint:
                secret = None  # the built-in engine needs no key: don't wake the keychain
            else:
                secret, _origin = resolve_secret(config.provider, self.store, self.environ)
        except SecretStoreError as exc:
            if config.provider == "local":
                secret = None
            else:
                self._refuse("no_key", f"Can't read the key for {title}", title)
                self._no_key_for = config.provider
                self.problem_posted.emit(Problem(str(exc), "error", "preferences",
                                                 also=("offline",), icon="key"))
                return None
        if secret is None and config.provider != "local":
            env = ENV_VARS.get(config.provider, "")
            self._refuse("no_key", f"No API key for {title}: add it in Preferences", title)
            self._no_key_for = config.provider
            self.problem_posted.emit(Problem(
                f"No API key for {title}. Add it in Preferences (it is kept in your "
                f"keychain){f', or set {env}' if env else ''}; or use the offline engine, "
                "which needs no key.", "error", "add_key", also=("offline",), icon="key"))
            return None
        problem = check_targets(config.provider, config.language, config.translate_to)
        if not problem:
            self.problem_cleared.emit("translation")  # fixed since: the banner goes
        if problem:
            # captions matter more than their translation: caption, and say why not translated
            self.problem_posted.emit(Problem(f"Live translation is off: {problem}", "warning",
                                             "preferences", key="translation"))
            config = replace(config, translate_to=())
        return RunRequest(
            config=config, secret=secret, source=self.settings.get(Key.SOURCE),
            mic_device=self.settings.get(Key.MIC_DEVICE) or None,
            system_device=self.settings.get(Key.SYSTEM_DEVICE) or None,
            standby=self.settings.get(Key.FALLBACK_OFFLINE))

    def has_key(self, provider: str) -> bool:
        """Whether a key for ``provider`` is in the keychain or the environment."""
        try:
            secret, _origin = resolve_secret(provider, self.store, self.environ)
        except SecretStoreError:
            return False
        return secret is not None

    def recheck(self) -> None:
        """After the settings changed: end a "no key" problem that no longer holds (the key
        was added, or another provider chosen), and a translation one that was fixed."""
        config = self.settings.session_config()
        if not check_targets(config.provider, config.language, config.translate_to):
            self.problem_cleared.emit("translation")
        if "bad_endpoint" in self.machine.alerts and not endpoint_problem(config.endpoint):
            self.problem_cleared.emit("run")  # fixed (or another provider chosen)
            self.machine.end_alert("bad_endpoint")
            self._sync()
        provider = self._no_key_for
        if not provider:
            return
        if self.settings.get(Key.PROVIDER) == provider and not self.has_key(provider):
            return
        self._no_key_for = ""
        self.problem_cleared.emit("run")
        self.machine.end_alert("no_key")
        self._sync()

    def _refuse(self, kind: str, text: str, title: str) -> None:
        if self.machine.active and self.machine.phase.value != "stopping":
            return  # e.g. resuming: the running session's state stays true
        self.machine.refuse(kind, text, title)
        self._sync()

    # -- commands ---------------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        """Start a new session (or resume a paused one)."""
        if self.running:
            return
        if self.run_state == "paused":
            self.resume()
            return
        log.info("start requested")
        self.problem_cleared.emit("run")  # each attempt says anew what stops it
        self._no_key_for = ""
        request = self.build_request()
        if request is None:
            return
        self._clear_run_banners()
        self.transcript = ResumableTranscript()
        self.transcript_reset.emit()
        sources = ["mic", "system"] if request.source == "both" else [request.source]
        meta = {"provider": request.config.provider, "language": request.config.language,
                "sources": sources, "app": f"captioner {__version__}"}
        if request.config.translate_to:
            meta["translate_to"] = list(request.config.translate_to)
        self.journal = Journal.create(self.journal_dir, meta)
        self._journal_error = ""
        self.machine.end_alert("not_saved")  # a new journal: the last one's problem is over
        self._unsaved = None  # (still failing, the new one says so within a second)
        self.recorder = Recorder(self.journal.dir, self.journal.id, enabled=self.recording)
        self._recorder_error = ""
        self._journal_timer.start()
        self._session_t0 = self.clock()
        self.machine.replaced_provider = ""
        self._launch(request)

    @Slot()
    def stop(self) -> None:
        """End the session from any state: the run ends cleanly (trailing finals kept),
        the journal closes, and nothing starts again by itself."""
        was_paused = self.run_state == "paused"
        must_end = self.machine.stop()
        if was_paused:
            self._close_session()
            self._clear_run_banners()
        elif must_end and self._thread is not None:
            self._thread.request_stop()
        self._sync()

    @Slot()
    def pause(self) -> None:
        """Stop listening but keep the session open; :meth:`resume` continues it."""
        if self._thread is None or self.run_state not in ("starting", "live"):
            return
        if self.machine.pause():
            self._thread.request_stop()
        self._sync()

    @Slot()
    def resume(self) -> None:
        if self.run_state != "paused" or self._request is None or self.transcript is None:
            return
        # what was changed while paused (device, source, provider) applies now
        self.problem_cleared.emit("run")
        request = self.build_request("local" if self._fallback else None)
        if request is None:
            return
        self._launch(request, offline_for=self.machine.replaced_provider if self._fallback
                     else "")

    @Slot(bool)
    def set_recording(self, on: bool) -> None:
        """Record this session's audio from now on (or stop); with no session, the next one's."""
        if on == self.recording:
            return
        self.recording = on
        if self.recorder is not None:
            self.recorder.enabled = on  # NB: the capture taps read it on the loop thread
        log.info("recording %s", "on" if on else "off")
        self._set_status(recording=on and self.recorder is not None)
        self.recording_changed.emit(on)

    @Slot()
    def use_offline(self) -> None:
        """Caption with the offline engine from now on: a cloud run hands over to it (the
        same session), a stopped one starts with it."""
        self.settings.set(Key.PROVIDER, "local")
        self.recheck()
        self.problem_cleared.emit("reconnect")
        request = self._request
        if self._thread is not None and request is not None and \
                request.config.provider != "local" and self.machine.may_fall_back():
            self.problem_cleared.emit("run")
            self.machine.fall_back("the user chose the offline engine")
            self._thread.request_stop()
            self._sync()
        elif not self.running:
            self.start()

    @Slot()
    def toggle_start_stop(self) -> None:
        if self.running and self.run_state != "stopping":
            self.stop()
        elif not self.running:
            self.start()

    @Slot()
    def toggle_pause(self) -> None:
        if self.run_state == "paused":
            self.resume()
        elif self.run_state in ("starting", "live"):
            self.pause()

    def _launch(self, request: RunRequest, offline_for: str = "") -> None:
        assert self.transcript is not None and self.journal is not None
        self.transcript.base_ms = max(self.transcript.end_ms(),
                                      int((self.clock() - self._session_t0) * 1000))
        request = replace(request, recorder=self.recorder)
        self._request = request
        self._live = None
        self._went_live = False
        self.detected_language = ""
        thread = SessionThread(self._journaled(self.runner_factory(
            request, self.transcript, self._register_live)), self)
        thread.transcript_changed.connect(self.on_thread_transcript_changed)
        thread.state_changed.connect(self.on_thread_state_changed)
        thread.notice_posted.connect(self.on_thread_notice_posted)
        thread.gap_added.connect(self.on_thread_gap_added)
        thread.run_finished.connect(self.on_thread_run_finished)
        self._thread = thread
        title = vendor_title(request.config.provider)
        self.journal.note_provider(request.config.provider, "fallback" if offline_for else "")
        self.machine.begin(title, offline_for=offline_for)
        self._sync()
        thread.start()
        self._level_timer.start()

    def _register_live(self, live: Any) -> None:
        # NB: called on the loop thread; only a reference is stored
        self._live = live

    def _journaled(self, runner: Runner) -> Runner:
        """Wrap a runner so finals and gaps hit the journal before the GUI hears of them."""
        journal = self.journal
        transcript = self.transcript
        assert journal is not None and transcript is not None

        async def run(listener, stop):
            loop = asyncio.get_running_loop()
            shown = WriteThenShow(journal, listener, loop.call_soon_threadsafe)

            def journaled(event: Any) -> None:
                # NB: loop thread. Written first, then the GUI may show it (in order).
                seq = 0
                if isinstance(event, TranscriptChanged):
                    seg, tr = event.change.segment, event.change.translation
                    if seg is not None and seg.is_final and journal.append_final(seg):
                        seq = journal.appended_seq
                    if tr is not None and tr.is_final and journal.append_translation(tr):
                        seq = journal.appended_seq
                elif isinstance(event, GapAdded):
                    event = GapAdded(transcript.shifted(event.gap))
                    if journal.append_gap(event.gap):
                        seq = journal.appended_seq
                elif isinstance(event, StateChanged) and event.state is State.DEGRADED:
                    journal.note_provider("local", "standby")  # the offline engine stands in
                shown.submit(event, seq)

            try:
                return await runner(journaled, stop)
            finally:
                await asyncio.to_thread(journal.flush)
                shown.close()

        return run

    # -- events from the run ----------------------------------------------------------

    @Slot(object)
    def on_thread_transcript_changed(self, event: TranscriptChanged) -> None:
        self.transcript_changed.emit(event)
        seg = event.change.segment
        if seg is not None and seg.language:
            self._note_language(seg.language)
        if seg is not None and self.machine.phase is Phase.DEGRADED and not self._standby_heard:
            self._standby_heard = True
            log.info("first caption from the offline engine standing in for %s",
                     self.machine.replaced_provider)
        if seg is not None and seg.is_final:
            self.segment_finalized.emit(seg)
            self._announce(seg)

    def _note_language(self, code: str) -> None:
        """Show the language the provider recognised, when it detects it (automatic)."""
        config = self._request.config if self._request is not None else None
        if config is None or config.language not in AUTO_LANGUAGES:
            return
        name = language_name(code)
        if name != self.detected_language:
            log.info("language detected: %s", code)
            self.detected_language = name
            self._sync()

    @Slot(object)
    def on_thread_gap_added(self, event: GapAdded) -> None:
        self.gap_added.emit(event.gap)

    @Slot(object)
    def on_thread_state_changed(self, event: StateChanged) -> None:
        if self.sender() is not None and self.sender() is not self._thread:
            return  # a run that was told to stop and has been replaced
        self.machine.on_stream(event.source, event.state.value, event.message,
                               event.retry_in_s,
                               vendor_title(event.replaced_provider)
                               if event.replaced_provider else "",
                               event.behind_ms)
        if self.machine.phase is not Phase.DEGRADED:
            self._standby_heard = False
        if event.state is State.LIVE:
            self._went_live = True
        if event.state is State.RECONNECTING:
            self._drop_partial(event.source)  # its audio is resent: it will be said again
        if event.state is State.FAILED:
            self._on_failed(event)
        elif event.state is State.RECONNECTING and event.message \
                and self.machine.intent.value == "run":
            self.problem_posted.emit(Problem(
                f"{event.message} Reconnecting automatically; captions resume by themselves.",
                "warning", "", key="reconnect", also=("offline",), icon="reconnecting"))
        elif event.state in (State.LIVE, State.DEGRADED):
            self.problem_cleared.emit("reconnect")
        self._sync()

    def _on_failed(self, event: StateChanged) -> None:
        request = self._request
        title = vendor_title(request.config.provider) if request else ""
        reason = event.message or f"{title} stopped."
        cloud = request is not None and request.config.provider != "local"
        if self.machine.intent.value != "run":
            return  # the user stopped or paused: nothing restarts, nothing to announce
        # never live and the endpoint is to blame: the overlay's one line names the setting
        # to fix (the banner keeps the host and why)
        unreachable = f"Can't connect to {title}: check its endpoint" if (
            cloud and not self._went_live and "endpoint" in reason.lower()) else ""
        if cloud and self.settings.get(Key.FALLBACK_OFFLINE) and self.machine.may_fall_back():
            self.machine.fall_back(unreachable or reason)
            self.problem_posted.emit(Problem(
                f"{title} stopped: {reason} Captions continue with the offline engine. "
                "Check the key and provider in Preferences to use it again.",
                "warning", "preferences", key="fallback", icon="offline"))
            if self._thread is not None:
                self._thread.request_stop()
            return
        if unreachable:
            self.machine.raise_alert("failed", f"{unreachable} in Preferences, or use the "
                                     "offline engine")
        self.problem_posted.emit(Problem(f"{reason}", "error",
                                         "preferences" if cloud else "retry",
                                         also=("offline",) if cloud else ()))

    @Slot(object)
    def on_thread_notice_posted(self, event: Notice) -> None:
        kind = getattr(event, "kind", "")
        level = event.level if event.level in ("error", "warning", "info") else "warning"
        if kind in ("lost", "silent", "resumed"):
            self.machine.on_capture(event.source, kind, _short(event.message))
            if kind in ("lost", "silent"):
                self._drop_partial(event.source)  # its audio stopped: never left pending
            key = f"capture:{event.source}"
            if kind == "resumed":
                self.problem_cleared.emit(key)
            else:
                self.problem_posted.emit(Problem(
                    event.message, level, "system_devices" if event.source == "system"
                    else "devices", key=key, icon="unplugged" if kind == "lost" else
                    "speaker-off" if event.source == "system" else "mic-off"))
            self._sync()
            return
        self.problem_posted.emit(Problem(event.message, level, "", key=f"notice:{event.source}"))

    def _drop_partial(self, source: str) -> None:
        """Take a partial whose audio stopped off the screens (the transcript keeps it
        until the run ends, when :meth:`_finalize_partials` saves what is left)."""
        transcript = self.transcript
        if transcript is not None and source in transcript.partials:
            self.transcript_changed.emit(TranscriptChanged(source, Change(
                cleared_partial=source)))

    def _finalize_partials(self) -> None:
        """The run is over: a partial no final replaced becomes a final (journaled first)."""
        transcript = self.transcript
        if transcript is None:
            return
        for source, seg in transcript.partials.items():
            event = Final(seg.text, seg.start_ms, seg.end_ms, words=seg.words, speaker=seg.speaker)
            change = Transcript.apply(transcript, event, source, 0)
            final = change.segment
            if final is None:
                continue
            if self.journal is not None:
                self.journal.append_final(final)
            self.on_thread_transcript_changed(TranscriptChanged(source, change))

    def _clear_run_banners(self) -> None:
        for key in RUN_BANNERS:
            self.problem_cleared.emit(key)

    @Slot(object)
    def on_thread_run_finished(self, result: object) -> None:
        thread = self._thread
        self._thread = None
        self._live = None
        self._level_timer.stop()
        self._emit_level(None)
        if thread is not None:
            thread.wait(2000)
            thread.deleteLater()
        self._finalize_partials()
        error = ""
        if isinstance(result, BaseException):
            problem = self._problem_from(result)
            self.problem_posted.emit(problem)
            error = _short(problem.message)
            if isinstance(result, DeviceError):  # nothing could be opened: it never began
                kind = "no_sound_server" if self._no_sound_server(result) else "no_device"
                self.machine.raise_alert(kind, _with_action(problem.message))
                error = ""
        after = self.machine.finished(error)
        if after == "fallback" and self.transcript is not None:
            request = self.build_request("local")
            if request is not None:
                self._launch(request, offline_for=self.machine.replaced_provider)
                return
            after = self.machine.finished("The offline engine could not start.")
        if after != "paused":
            self._close_session()
            self._clear_run_banners()
        self._sync()

    @staticmethod
    def _no_sound_server(exc: BaseException) -> bool:
        text = str(exc).lower()
        return "sound server" in text or "no audio devices" in text or \
            "pulseaudio" in text and "not running" in text

    def _problem_from(self, exc: BaseException) -> Problem:
        if isinstance(exc, DeviceError):
            system = self._request is not None and self._request.source == "system"
            return Problem(str(exc), "error", "system_devices" if system else "devices",
                           icon="unplugged")
        if isinstance(exc, SecretStoreError):
            return Problem(str(exc), "error", "preferences")
        if isinstance(exc, UserFacingError):
            return Problem(str(exc), "error", "retry")
        log.error("captioning run failed", exc_info=exc)
        return Problem("Captioning stopped because of an unexpected error. The transcript so "
                       "far is saved; start again to continue. Details are in the log file "
                       "(Help → About).", "error", "retry")

    def _close_session(self) -> None:
        journal = self.journal
        self.journal = None
        self._journal_timer.stop()
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.close()  # finishes the files (quick: the writer keeps up)
            self._report_recorder(recorder)
        if self.recording != self.settings.get(Key.RECORD_AUDIO):  # a per-session choice
            self.recording = self.settings.get(Key.RECORD_AUDIO)
            self.recording_changed.emit(self.recording)
        if self.status.recording:
            self._set_status(recording=False)
        if journal is not None and not journal.close():
            self.problem_posted.emit(Problem(
                journal.last_error or "Part of the transcript could not be saved. Export it "
                "to keep it.", "warning", "", key="journal"))
            self.machine.raise_alert("not_saved", journal.last_error_short
                                     or "Part of the transcript was not saved: export it")
            self._unsaved = journal  # its writer keeps trying: say so when it is written
            self._journal_timer.start()
        elif journal is not None:
            self.machine.end_alert("not_saved")  # written in the end: nothing is missing

    # -- levels, journal, announcements -------------------------------------------------

    @Slot()
    def on_level_timer_timeout(self) -> None:
        live = self._live
        captures = getattr(live, "captures", None) if live is not None else None
        if not captures:
            return
        peaks = []
        if all(getattr(c, "lost", False) for c in list(captures.values())):
            self._emit_level(None)  # no device: no meter (not the last level before the loss)
            return
        for source, capture in list(captures.items()):
            if getattr(capture, "lost", False):
                continue
            level = capture.levels.read()
            if level is not None:
                peaks.append(level.peak_db)
                if f"no_audio:{source}" in self.machine.alerts and \
                        capture.levels.silent_for_s == 0.0:
                    self.machine.on_capture(source, "sound", "")  # the sound is back
                    self.problem_cleared.emit(f"capture:{source}")
                    self._sync()
        if peaks:
            self._emit_level(max(peaks))

    def _emit_level(self, level_db: float | None) -> None:
        if level_db is None or self._last_level is None or abs(level_db - self._last_level) > 0.5:
            if level_db != self._last_level:
                self._last_level = level_db
                self.level_changed.emit(level_db)

    def _report_recorder(self, recorder: Recorder) -> None:
        if recorder.error and recorder.error != self._recorder_error:
            self._recorder_error = recorder.error
            self.problem_posted.emit(Problem(recorder.error, "warning", "", key="recording"))

    @Slot()
    def on_journal_timer_timeout(self) -> None:
        if self.recorder is not None:
            self._report_recorder(self.recorder)
        journal = self.journal or self._unsaved
        if journal is None:
            return
        healthy = journal.sync()
        if journal is self._unsaved and healthy and not journal.pending_lines:
            self._unsaved = None  # written after all: nothing is missing
            self._journal_timer.stop()
        error = "" if healthy else journal.last_error
        if error != self._journal_error:
            self._journal_error = error
            if error:
                self.problem_posted.emit(Problem(error, "warning", "", key="journal"))
                self.machine.raise_alert("not_saved", journal.last_error_short)
            else:
                self.problem_cleared.emit("journal")
                self.machine.end_alert("not_saved")
            self._sync()

    def set_click_through(self, on: bool, keys: str) -> None:
        """The overlay's click-through reminder travels with the status."""
        self.status = with_click_through(self.status, on, keys)
        self.status_changed.emit(self.status)

    def _announce(self, seg: Segment) -> None:
        if self.announce_target is None or not self.settings.get(Key.ANNOUNCE_FINALS):
            return
        announce(self.announce_target, seg.text)

    # -- export and shutdown ------------------------------------------------------------

    def export_to(self, path: str | Path, fmt: str | None = None) -> list[Path]:
        """Write everything final so far (SRT/WebVTT: one more file per translated language).

        Returns:
            The files written, the speech's first.

        Raises:
            ValueError: unknown format.
            ExportError: the file can't be written (message for the user).
        """
        transcript = self.transcript or Transcript()
        meta: dict[str, Any] = {}
        if self.journal is not None:
            meta = {k: v for k, v in self.journal.header.items() if k != "type"}
        elif self._request is not None:
            meta = {"provider": self._request.config.provider,
                    "language": self._request.config.language}
        return exporter.export_files(transcript, path, fmt, meta=meta)

    def shutdown(self, wait_ms: int = SHUTDOWN_WAIT_MS) -> None:
        """End any run cleanly (waiting up to ``wait_ms``) and close the journal."""
        thread = self._thread
        if thread is not None:
            self.machine.stop()
            thread.request_stop()
            if not thread.wait(wait_ms):
                log.warning("the captioning run did not stop within %d ms", wait_ms)
                # NB: destroying a running QThread aborts the process; let it run out
                thread.setParent(None)
                _ORPHANS.append(thread)
        self._thread = None
        self._level_timer.stop()
        self.machine.stop()
        self._finalize_partials()
        self._close_session()


def _with_action(message: str) -> str:
    """What happened and what to do, short enough for the overlay: "No microphone found.
    Connect one, or check that the sound server (PulseAudio) is running; …" becomes
    "No microphone found: connect one, or check that the sound server is running"."""
    what, _, rest = message.strip().partition(". ")
    action = re.sub(r"\s*\([^)]*\)", "", rest.split(";")[0]).strip().rstrip(".")
    what = what.rstrip(".")
    if not action:
        return f"{what}: connect it, or choose another"
    return f"{what}: {action[0].lower()}{action[1:]}"


def _short(message: str) -> str:
    """The first sentence of a message, without its final full stop (for the overlay)."""
    first = message.strip().split(". ")[0].strip()
    return first[:-1] if first.endswith(".") else first
