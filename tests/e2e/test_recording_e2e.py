"""The real app records a session from the rig's virtual microphone, is killed mid-recording,
and leaves a playable recording and a recoverable journal, which then gets an improved transcript.

Launches ``python -m captioner gui --start`` with recording on (the preference), plays a
speech WAV into this session's private virtual microphone, waits for its finals in the
journal and its audio in the FLAC file, then SIGKILLs the app. The recording decodes (and
correlates with the WAV), ``captioner export`` recovers the session and completes the
FLAC header, and ``captioner improve`` re-transcribes it with the offline engine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jiwer
import numpy as np
import pytest

from captioner.audio import recorder
from captioner.transcript import codec
from tests.conftest import REPO, reference_text
from tests.e2e.rig_helpers import DATA, VirtualDevices, best_ncc, read_wav
from tests.e2e.test_app_screenshot import finals, wait_for, words

pytestmark = pytest.mark.rig

WAV = DATA / "librivox-0870.wav"
ARTIFACTS = REPO / "test-artifacts"


def _record_while_playing(sessions: Path, mic_sink: str, min_ms: int) -> None:
    """Wait for the recording to start, play the WAV into the mic, wait until it is recorded."""
    wait_for("a FLAC file being recorded", lambda: list(sessions.glob("*.mic.0.flac")), 60)
    subprocess.run(["paplay", f"--device={mic_sink}", str(WAV)], check=True, timeout=60)
    wait_for("the spoken audio in the recording", lambda: _recorded_ms(sessions) >= min_ms, 30)


def _recorded_ms(sessions: Path) -> int:
    files = list(sessions.glob("*.mic.*.flac"))
    try:
        return len(recorder.read_pcm(files[0])) // 32 if files else 0
    except ValueError:  # nothing decodable yet
        return 0


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _captioner(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "captioner", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_killed_app_leaves_a_playable_recording_and_a_recoverable_journal(
        tmp_path: Path, virtual_devices: VirtualDevices, engine: object) -> None:
    config = tmp_path / "config" / "captioner"
    config.mkdir(parents=True)
    (config / "captioner.conf").write_text(
        "[session]\nprovider=local\nsource=mic\nrecord_audio=true\n"
        f"mic_device={virtual_devices.mic_id}\n")
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"),
               CAPTIONER_DATA_DIR=str(tmp_path / "data"), CAPTIONER_LOG_DIR=str(tmp_path / "log"),
               PYTHONUNBUFFERED="1")
    sessions = tmp_path / "data" / "sessions"
    expected = words(reference_text(WAV.name))
    wav_ms = len(read_wav(WAV)) // 16
    log = (tmp_path / "app.out").open("w")
    app = subprocess.Popen([sys.executable, "-m", "captioner", "gui", "--start"], cwd=REPO,
                           env=env, stdout=log, stderr=subprocess.STDOUT)
    orphans: list[int] = []
    try:
        _record_while_playing(sessions, virtual_devices.mic_sink, wav_ms + 1000)
        wait_for("the spoken words in the journal",
                 lambda: len(words(" ".join(finals(sessions.parent))) & expected)
                 >= 0.7 * len(expected), 60)
        assert app.poll() is None, (tmp_path / "app.out").read_text()
        ARTIFACTS.mkdir(exist_ok=True)  # the overlay's status line says REC (looked at by hand)
        subprocess.run(["import", "-window", "root", str(ARTIFACTS / "recording.png")],
                       check=True, timeout=30)
        orphans = _children(app.pid)  # the offline engine child: a killed app can't stop it
        app.send_signal(signal.SIGKILL)  # mid-recording: the FLAC file is still open
        assert app.wait(10) == -signal.SIGKILL
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(10)
        for pid in orphans + _children(app.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()

    [journal] = sessions.glob("*.jsonl")
    session_id = journal.stem
    [(source, start_ms, flac)] = codec.audio_parts(sessions, session_id)
    assert (source, start_ms) == ("mic", 0)
    assert recorder.needs_repair(flac)  # killed before its header was completed
    pcm = recorder.read_pcm(flac)
    got = np.frombuffer(pcm, "<i2").astype(np.float64)
    ncc, _lag = best_ncc(got, read_wav(WAV))
    assert ncc > 0.9, f"the recording does not match what was played (ncc {ncc:.3f})"

    listed = _captioner(env, "sessions")
    assert "unfinished, recorded" in listed.stdout, listed.stdout
    live = _captioner(env, "export", session_id, "--format", "json")
    assert live.returncode == 0, live.stderr
    assert "recovered, recorded" in _captioner(env, "sessions").stdout
    assert not recorder.needs_repair(flac)  # recovery completed the header
    soxi = subprocess.run(["soxi", "-D", str(flac)], capture_output=True, text=True, check=True)
    assert float(soxi.stdout) * 1000 >= wav_ms

    url = engine.url  # type: ignore[attr-defined]
    improved = _captioner(env, "improve", session_id, "--endpoint", url)
    assert improved.returncode == 0, improved.stderr
    text = _captioner(env, "export", session_id).stdout
    norm = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(),
                          jiwer.RemoveMultipleSpaces(), jiwer.Strip()])
    wer = jiwer.wer(norm(reference_text(WAV.name)), norm(text.replace("Me:", "")))
    assert wer <= 0.15, (wer, text)
    live_text = _captioner(env, "export", session_id, "--version", "live").stdout
    assert len(words(live_text) & expected) >= 0.7 * len(expected)  # the live one, on request
    versions = [json.loads(_captioner(env, "export", session_id, "--format", "json",
                                      *extra).stdout) for extra in ([], ["--version", "live"])]
    assert versions[0]["meta"]["improved"]["operating_point"] == "enhanced"
    assert "improved" not in versions[1]["meta"]
    print(f"recorded {len(pcm) // 32} ms (ncc {ncc:.3f}); improved WER {wer:.1%}: {text!r}")


def test_cli_records_a_live_session_that_ctrl_c_closes(tmp_path: Path,
                                                       virtual_devices: VirtualDevices) -> None:
    env = dict(os.environ, CAPTIONER_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    sessions = tmp_path / "data" / "sessions"
    wav_ms = len(read_wav(WAV)) // 16
    proc = subprocess.Popen([sys.executable, "-m", "captioner", "transcribe", "--source", "mic",
                             "--device", virtual_devices.mic_id, "--record"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _record_while_playing(sessions, virtual_devices.mic_sink, wav_ms + 500)
        proc.send_signal(signal.SIGINT)  # Ctrl-C: ends cleanly
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    [journal] = sessions.glob("*.jsonl")
    assert f"saved session {journal.stem} with its recording" in err
    assert "captioning and recording live" not in out  # messages go to stderr
    [(_source, _start, flac)] = codec.audio_parts(sessions, journal.stem)
    assert not recorder.needs_repair(flac)  # closed properly
    ncc, _lag = best_ncc(np.frombuffer(recorder.read_pcm(flac), "<i2").astype(np.float64),
                         read_wav(WAV))
    assert ncc > 0.9
    listed = _captioner(env, "sessions")
    assert "complete, recorded" in listed.stdout
    assert "Dashwood" in _captioner(env, "export", journal.stem).stdout  # the live captions
