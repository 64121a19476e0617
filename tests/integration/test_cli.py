"""The ``captioner`` command as a user runs it: help, version, exit codes, transcribe offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import wave

import numpy as np
import pytest

from captioner import __version__
from tests.conftest import DATA, REPO, reference_text

COMMANDS = ["gui", "transcribe", "devices", "serve", "sessions", "export"]


def captioner(*args: str, env: dict | None = None, timeout: float = 180,
              prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, sys.executable, "-m", "captioner", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def words(text: str) -> list[str]:
    return "".join(c if c.isalnum() or c.isspace() else " " for c in text.lower()).split()


def test_version_and_help():
    result = captioner("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"captioner {__version__}"
    result = captioner("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command):
    result = captioner(command, "--help")
    assert result.returncode == 0 and "usage: captioner" in result.stdout


def test_entry_point_script_is_installed():
    script = shutil.which("captioner", path=os.path.dirname(sys.executable))
    assert script, "pip install should put a `captioner` script next to python"
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and __version__ in result.stdout


@pytest.mark.parametrize("args", [["transcribe"], ["transcribe", "x.wav", "--format", "doc"],
                                  ["--no-such-flag"], ["transcribe", "x.wav", "--provider", "x"]])
def test_usage_errors_exit_2(args):
    result = captioner(*args)
    assert result.returncode == 2 and "usage:" in result.stderr


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("captioner: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_missing_file_is_a_one_line_error(tmp_path):
    assert "No such file" in one_line_error(captioner("transcribe", str(tmp_path / "nope.wav")))


def test_unreadable_audio_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is not audio")
    assert "Can't read" in one_line_error(captioner("transcribe", str(bad)))


def test_cloud_provider_without_a_key_says_where_to_put_it(tmp_path):
    env = {"DEEPGRAM_API_KEY": "", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    message = one_line_error(captioner("transcribe", str(DATA / "cmu-cards-001.wav"),
                                       "--provider", "deepgram", env=env))
    assert "DEEPGRAM_API_KEY" in message


def test_serve_refuses_a_public_bind_without_a_token():
    message = one_line_error(captioner("serve", "--host", "0.0.0.0"))
    assert "--token" in message


def test_transcribe_prints_the_words_offline_with_no_network():
    """The default path: offline engine, no key, networking unshared (loopback only)."""
    script = (f"ip link set lo up && exec {sys.executable} -m captioner transcribe "
              f"{DATA / 'librivox-0880.wav'}")
    result = subprocess.run(["unshare", "-n", "sh", "-c", script], cwd=REPO,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    expected = words(reference_text("librivox-0880.wav"))  # he was not an ill disposed ...
    heard = words(result.stdout)
    assert sum(w in heard for w in expected) >= len(expected) - 1, result.stdout


def test_transcribe_any_rate_and_channels_to_srt_file(tmp_path):
    """A 44.1 kHz stereo float-free WAV is converted to 16 kHz mono on the way in."""
    with wave.open(str(DATA / "librivox-0930.wav")) as src:
        mono = np.frombuffer(src.readframes(src.getnframes()), "<i2")
    t_in = np.arange(mono.size) / 16000
    t_out = np.arange(int(mono.size * 44100 / 16000)) / 44100
    up = np.interp(t_out, t_in, mono).astype("<i2")
    stereo = np.stack([up, up], axis=1)
    path = tmp_path / "stereo44k.wav"
    with wave.open(str(path), "wb") as dst:
        dst.setnchannels(2)
        dst.setsampwidth(2)
        dst.setframerate(44100)
        dst.writeframes(stereo.tobytes())
    out = tmp_path / "out.srt"
    result = captioner("transcribe", str(path), "--format", "srt", "-o", str(out))
    assert result.returncode == 0, result.stderr
    srt = out.read_text()
    assert srt.startswith("1\n00:00:")
    assert "-->" in srt
    expected = set(words(reference_text("librivox-0930.wav")))
    assert len(expected & set(words(srt))) >= len(expected) - 2
    # the live captions were printed too
    assert "amiable" in result.stdout.lower()


def test_transcribe_json_has_segments_with_word_times(tmp_path):
    out = tmp_path / "t.json"
    result = captioner("transcribe", str(DATA / "meeting-2speakers.wav"), "--format", "json",
                       "-o", str(out))
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text())
    segments = doc["segments"]
    assert len(segments) >= 3  # three turns with 1.2 s pauses between them
    starts = [s["start_ms"] for s in segments]
    assert starts == sorted(starts)
    assert all(s["words"] and s["source"] == "mic" for s in segments)
    text = " ".join(s["text"] for s in segments).lower()
    assert "quarterly" in text and "slides" in text
