"""The run's state machine: phases, the user's intent, alerts that start and end."""

from __future__ import annotations

from captioner.runstate import OFFLINE_TITLE, Phase, RunMachine, RunStatus, describe


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def started(provider: str = "Deepgram") -> tuple[RunMachine, Clock]:
    clock = Clock()
    machine = RunMachine(clock)
    machine.begin(provider)
    machine.on_stream("mic", "live")
    return machine, clock


def test_a_run_goes_connecting_live_stopping_stopped():
    machine = RunMachine(Clock())
    assert machine.phase is Phase.IDLE and machine.coarse == "idle"
    machine.begin("Offline engine")
    assert machine.phase is Phase.CONNECTING and machine.coarse == "starting"
    machine.on_stream("mic", "live")
    assert machine.phase is Phase.LIVE
    assert machine.stop() is True
    assert machine.phase is Phase.STOPPING
    assert machine.finished() == "stopped"
    assert machine.phase is Phase.STOPPED


def test_stop_while_reconnecting_stops_for_good():
    """Regression: the failure handler ran the offline fallback after Stop, because its
    'what next' flag was 'stop' both before any command and after the user's Stop."""
    machine, _clock = started()
    machine.on_stream("mic", "reconnecting", "Can't reach Deepgram.", 6.0)
    assert machine.phase is Phase.RECONNECTING
    assert machine.stop()
    machine.on_stream("mic", "failed", "Gave up after 8 attempts.")
    assert not machine.may_fall_back()
    assert machine.phase is Phase.STOPPING  # late events don't change what the user chose
    assert machine.finished() == "stopped"
    assert machine.alert() is None


def test_a_cloud_failure_while_running_falls_back_and_says_which_provider():
    machine, _clock = started()
    machine.on_stream("mic", "failed", "Deepgram rejected the API key.")
    assert machine.may_fall_back()
    machine.fall_back("Deepgram rejected the API key.")
    assert describe(machine.status()).startswith("Switching to the offline engine")
    assert machine.finished() == "fallback"
    machine.begin(OFFLINE_TITLE, offline_for=machine.replaced_provider)
    machine.on_stream("mic", "live")
    assert machine.phase is Phase.DEGRADED
    status = machine.status()
    assert status.provider == OFFLINE_TITLE and status.replaced_provider == "Deepgram"
    # which provider, and why (in its words: what to do about it)
    assert describe(status) == ("Live on the offline engine (instead of Deepgram) · "
                                "Deepgram rejected the API key")
    assert status.icon == "offline" and status.level == "notice"
    # a second failure (the offline engine) does not fall back again
    machine.on_stream("mic", "failed", "The offline engine stopped.")
    assert not machine.may_fall_back()
    assert machine.finished() == "failed"


def test_reconnecting_counts_what_is_not_captioned_yet():
    machine, clock = started()
    machine.on_stream("mic", "reconnecting", "", 4.0)
    clock.t += 12.0
    text = describe(machine.status(), now_s=clock.t)
    assert "12 s not captioned yet" in text, text
    assert machine.status().level == "warning" and machine.status().icon == "reconnecting"
    machine.on_stream("mic", "live")
    assert machine.alert() is None and "not captioned" not in describe(machine.status())


def test_the_stream_may_say_how_far_behind_it_is():
    machine, clock = started()
    machine.on_stream("mic", "reconnecting", "", 0.0, behind_ms=3400)
    assert "3 s not captioned yet" in describe(machine.status(), now_s=clock.t)


def test_degraded_from_a_hot_standby_and_back():
    machine, _clock = started()
    machine.on_stream("mic", "degraded", replaced_provider="Deepgram")
    assert machine.phase is Phase.DEGRADED
    assert "instead of Deepgram" in describe(machine.status())
    machine.on_stream("mic", "live")
    assert machine.phase is Phase.LIVE and machine.alert() is None


def test_capture_faults_are_alerts_that_end_with_their_condition():
    machine, _clock = started("Offline engine")
    machine.on_capture("mic", "silent", "No sound from 'USB Mic' for 10 s")
    assert machine.status().icon == "mic-off"
    assert describe(machine.status()).startswith("No sound from 'USB Mic' for 10 s · Live")
    machine.on_capture("mic", "lost", "Lost the microphone 'USB Mic'")
    assert machine.status().icon == "unplugged" and machine.status().level == "error"
    assert list(machine.alerts) == ["device_lost:mic"]  # one problem, not two
    # what to do, and not "Live": nothing is captioned while the only device is gone
    assert describe(machine.status()) == ("Lost the microphone 'USB Mic': reconnect it · "
                                          "Captions paused · Offline engine")
    machine.on_capture("mic", "resumed", "")
    assert machine.alert() is None


def test_stopping_ends_every_run_alert():
    machine, _clock = started("Offline engine")
    machine.on_capture("mic", "silent", "No sound from 'VirtualMic' for 10 s")
    machine.stop()
    machine.finished()
    assert machine.alert() is None and describe(machine.status()) == "Stopped · Offline engine"


def test_a_refused_start_names_the_chosen_provider():
    machine = RunMachine(Clock())
    machine.refuse("no_key", "No API key for Rev AI: add it in Preferences", "Rev AI")
    status = machine.status()
    assert status.state == "failed" and status.icon == "key"
    assert describe(status) == "No API key for Rev AI: add it in Preferences · Not started"


def test_pause_then_resume_then_stop():
    machine, _clock = started("Offline engine")
    assert machine.pause()
    assert machine.finished() == "paused" and machine.coarse == "paused"
    assert machine.stop() is False  # nothing is running: it just ends
    assert machine.phase is Phase.STOPPED


def test_the_most_serious_alert_is_shown():
    machine, clock = started()
    machine.on_capture("mic", "silent", "No sound")
    clock.t += 1
    machine.on_stream("mic", "reconnecting", "Can't reach Deepgram.")
    assert machine.alert().kind == "reconnecting"  # type: ignore[union-attr]
    machine.on_capture("system", "lost", "Lost the system audio")
    assert machine.alert().kind == "device_lost"  # type: ignore[union-attr]


def test_status_defaults_describe_idle():
    assert describe(RunStatus()) == "Not captioning"


def test_a_detected_language_is_named_while_live() -> None:
    live = RunStatus(state="live", provider=OFFLINE_TITLE, language="Spanish")
    assert describe(live) == f"Live · {OFFLINE_TITLE} · Spanish"
    degraded = RunStatus(state="degraded", replaced_provider="Deepgram", language="German")
    assert describe(degraded) == "Live on the offline engine (instead of Deepgram) · German"
    for state in ("paused", "stopped", "connecting"):
        assert "Spanish" not in describe(RunStatus(state=state, language="Spanish"))


def test_one_lost_device_of_two_does_not_pause_the_captions():
    machine, _clock = started("Offline engine")
    machine.on_stream("mic", "live")
    machine.on_stream("system", "live")
    machine.on_capture("system", "lost", "Lost the system audio 'Speakers'")
    assert describe(machine.status()) == ("Lost the system audio 'Speakers': reconnect it · "
                                          "Live · Offline engine")
    machine.on_capture("mic", "lost", "Lost the microphone 'USB Mic'")
    assert machine.status().captions_paused
