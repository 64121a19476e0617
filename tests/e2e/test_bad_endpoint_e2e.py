"""A mistyped cloud endpoint and no network from the start, under the real app (rig): the
overlay names the setting to fix within the fail-fast budget (never a key or a query
string), and with the hot standby a session that never went live captions on the offline
engine, labelled as such — it never says "Live · Deepgram" while the cloud captions nothing.
Screenshots: ``test-artifacts/states/endpoint-*.png``."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from tests.conftest import reference_text
from tests.e2e.overlay_rig import App, Shown
from tests.e2e.rig_helpers import DATA, VirtualDevices
from tests.e2e.test_app_screenshot import finals, recording_from, words
from tests.e2e.test_overlay_states_e2e import OVERLAY, assert_on_screen
from tests.lifecycle import wait_for

pytestmark = pytest.mark.rig

FAIL_FAST_S = 10.0  # a session that has never been live gives up within this
MARKER = "marker-key-x"
WAV = DATA / "librivox-0880.wav"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deepgram_app(tmp_path, python, devices: VirtualDevices, endpoint: str,
                 standby: bool) -> App:
    conf = (f"[session]\nprovider=deepgram\nsource=mic\nmic_device={devices.mic_id}\n"
            f"fallback_offline={'true' if standby else 'false'}\n"
            f"[endpoints]\ndeepgram={endpoint}\n" + OVERLAY)
    return App(tmp_path, python, conf, DEEPGRAM_API_KEY=MARKER)


def assert_no_secret(app: App, *shown: Shown) -> None:
    everything = app.output() + app.log_file.read_text(errors="replace") + " ".join(
        s.text for s in app.shown())
    assert MARKER not in everything
    for s in shown:
        assert "?" not in s.text and "marker" not in s.text, s


def test_a_mistyped_endpoint_is_named_in_the_overlay_at_once(tmp_path, python,
                                                             virtual_devices):
    app = deepgram_app(tmp_path, python, virtual_devices,
                       f"ftp://api.deepgram.com/v1/listen?token={MARKER}", standby=True)
    try:
        started = app.wait_logged("the app to start", r"run state|status line shows")
        shown = app.wait_shown("the endpoint problem", lambda s: "endpoint" in s.text)
        assert shown.text == ("The Deepgram endpoint is not valid: fix it in Preferences → "
                              "Providers, or use the offline engine · Not started"), shown
        assert shown.level == "error" and shown.t - started.t <= FAIL_FAST_S
        assert_on_screen(app, "endpoint-invalid", "error", "Deepgram endpoint is not valid",
                         "Preferences")
        assert not any(s.text.startswith(("Live", "Connecting")) for s in app.shown())
        assert_no_secret(app, shown)
    finally:
        assert app.close() == 0, app.output()


def test_a_refused_endpoint_names_the_setting_within_the_fail_fast_budget(
        tmp_path, python, virtual_devices):
    app = deepgram_app(tmp_path, python, virtual_devices,
                       f"ws://127.0.0.1:{closed_port()}/v1/listen?x={MARKER}", standby=False)
    try:
        connecting = app.wait_shown("connecting", lambda s: s.text.startswith("Connecting"))
        shown = app.wait_shown("the refusal", lambda s: s.level == "error", timeout_s=60)
        assert shown.text == ("Can't connect to Deepgram: check its endpoint in Preferences, "
                              "or use the offline engine · Stopped by an error"), shown
        assert shown.t - connecting.t <= FAIL_FAST_S, shown.t - connecting.t
        assert_on_screen(app, "endpoint-refused", "error", "Can't connect to Deepgram",
                         "check its endpoint")
        assert not any(s.text.startswith("Live") for s in app.shown())
        assert_no_secret(app, shown)
    finally:
        assert app.close() == 0, app.output()
    print(f"refused: shown {(shown.t - connecting.t) * 1000:.0f} ms after Connecting")


def test_no_network_from_the_start_captions_offline_labelled_as_offline(
        tmp_path, python, virtual_devices):
    app = deepgram_app(tmp_path, python, virtual_devices,
                       f"ws://127.0.0.1:{closed_port()}/v1/listen", standby=True)
    try:
        offline = app.wait_shown("the offline engine standing in",
                                 lambda s: s.text.startswith("Live on the offline engine"),
                                 timeout_s=60)
        assert offline.text == ("Live on the offline engine (instead of Deepgram) · Can't "
                                "connect to Deepgram: check its endpoint"), offline
        wait_for("the app recording from the virtual microphone",
                 lambda: recording_from(virtual_devices.mic_source), 30)
        t_play = time.time()
        subprocess.run(["paplay", f"--device={virtual_devices.mic_sink}", str(WAV)],
                       check=True, timeout=60)
        expected = words(reference_text(WAV.name))
        wait_for("the offline engine's captions in the journal",
                 lambda: len(words(" ".join(finals(app.data_dir))) & expected) >= 5, 60, 0.2)
        assert_on_screen(app, "endpoint-no-network", "notice", "Live on the offline engine",
                         "instead of Deepgram", "check its endpoint", caption="young man")
        # it never claimed the cloud was live while nothing reached it
        assert not any(s.text.startswith("Live · Deepgram") for s in app.shown())
        assert all(s.t < t_play or "Deepgram" not in s.text or "instead of" in s.text
                   for s in app.shown()), [s.text for s in app.shown()]
    finally:
        assert app.close() == 0, app.output()
