"""No key or token in any message, log line, crash report or file, whatever goes wrong.

Each provider gets a marker key and is pointed at bad schemes, malformed URLs,
a closed port, a server that refuses the upgrade and one that drops a live
connection; everything the stream says (events, their reprs) and every log
record (with websockets' own debug logging on, which prints request lines) is
searched for the marker. The command line is run the same way, and its output,
log and settings folders are searched too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from captioner.redact import MASK, install_log_redaction, redact, register_secret
from captioner.stream import StreamEvent
from captioner.testing import Drop, Utterance
from captioner.testing.fake_assemblyai import FakeAssemblyAi
from captioner.testing.fake_deepgram import FakeDeepgram
from captioner.testing.fake_revai import FakeRevAi
from captioner.testing.fake_speechmatics import FakeSpeechmatics
from tests.conftest import DATA, REPO
from tests.integration.test_fail_fast import (
    BAD_ENDPOINTS,
    PROVIDERS,
    closed_port,
    refusing_server,
    run,
    stream_to,
)

MARKER = "MARKER-9f3a7c2e-KEY"
FAKES = {"revai": FakeRevAi, "assemblyai": FakeAssemblyAi, "deepgram": FakeDeepgram,
         "speechmatics": FakeSpeechmatics}
ENV = {"revai": "REV_ACCESS_TOKEN", "assemblyai": "ASSEMBLYAI_API_KEY",
       "deepgram": "DEEPGRAM_API_KEY", "speechmatics": "SPEECHMATICS_API_KEY"}


@pytest.fixture
def log_file(tmp_path: Path) -> Any:
    """Every log record of the test (DEBUG, websockets included) in a file, as the app writes it."""
    install_log_redaction()
    path = tmp_path / "captioner.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


def assert_no_marker(events: list[StreamEvent], log_path: Path) -> None:
    said = "\n".join(repr(e) for e in events)
    assert MARKER not in said
    assert events, "the stream said nothing"
    logged = log_path.read_text(encoding="utf-8")
    assert MARKER not in logged


@pytest.mark.parametrize("endpoint", [*BAD_ENDPOINTS, "closed", "refused", "http//no-scheme"])
@pytest.mark.parametrize("provider_cls", PROVIDERS)
def test_no_marker_when_the_endpoint_is_wrong(provider_cls, endpoint, log_file) -> None:
    async def scenario() -> None:
        events: list[StreamEvent] = []
        if endpoint == "refused":
            async with refusing_server(401) as (port, _requests):
                await stream_to(provider_cls, f"ws://127.0.0.1:{port}?user=x", events,
                                secret=MARKER)
        else:
            url = f"ws://127.0.0.1:{closed_port()}" if endpoint == "closed" else endpoint
            await stream_to(provider_cls, url, events, secret=MARKER)
        assert_no_marker(events, log_file)

    run(scenario())


@pytest.mark.parametrize("provider_cls", PROVIDERS)
def test_no_marker_when_a_live_connection_drops(provider_cls, log_file) -> None:
    async def scenario() -> None:
        speech = [Utterance("Hello there.", 100, 400)]
        fake = FAKES[provider_cls.name](speech, [Drop(at_ms=300, connection=0)], keys=(MARKER,))
        async with fake as server:
            from captioner.audio.buffer import AudioBuffer

            audio = AudioBuffer()
            for _ in range(8):
                audio.put(bytes(3200))
            audio.close()
            events: list[StreamEvent] = []
            await stream_to(provider_cls, server.url, events, secret=MARKER, audio=audio)
        assert_no_marker(events, log_file)
        assert any(c.dropped for c in server.connections)

    run(scenario())


def test_redact_masks_queries_headers_and_registered_secrets() -> None:
    register_secret("tmp-Zq81-temporary")
    text = ("InvalidURI: ftp://ec1.api.rev.ai/v1/stream?access_token=abc&content_type=x; "
            "GET /v3/ws?sample_rate=16000&token=t0k HTTP/1.1; "
            "{'Authorization': 'Bearer eyJhbGciOiJI.x.y'} Authorization: Token k3y-value-long; "
            "got tmp-Zq81-temporary back")
    clean = redact(text)
    for secret in ("abc", "t0k", "eyJhbGciOiJI", "k3y-value-long", "tmp-Zq81-temporary",
                   "content_type=x"):
        assert secret not in clean
    assert "ftp://ec1.api.rev.ai/v1/stream?" + MASK in clean


def test_redaction_covers_tracebacks_in_logs(log_file) -> None:
    register_secret(MARKER)
    try:
        raise ValueError(f"bad URL wss://x/y?access_token={MARKER}")
    except ValueError:
        logging.getLogger("captioner.test").exception("failed with %s", MARKER)
    logged = log_file.read_text(encoding="utf-8")
    assert "ValueError" in logged and MARKER not in logged


def cli(args: list[str], provider: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, ENV[provider]: MARKER, "XDG_CONFIG_HOME": str(home / "config"),
           "CAPTIONER_LOG_DIR": str(home / "log"), "CAPTIONER_DATA_DIR": str(home / "data")}
    return subprocess.run([sys.executable, "-m", "captioner", "-vv", "transcribe",
                           str(DATA / "cmu-cards-001.wav"), "--streaming", "--provider", provider,
                           *args],
                          cwd=REPO, capture_output=True, text=True, timeout=60, env=env)


def files_text(folder: Path) -> str:
    if not folder.exists():
        return ""
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("endpoint", ["ftp://ec1.api.rev.ai", "wss://host:70000", "closed"])
@pytest.mark.parametrize("provider", list(ENV))
def test_cli_prints_no_marker_and_exits_1(provider, endpoint, tmp_path) -> None:
    url = f"ws://127.0.0.1:{closed_port()}" if endpoint == "closed" else endpoint
    result = cli(["--endpoint", url], provider, tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("captioner: error: ")
    everything = result.stdout + result.stderr + files_text(tmp_path)
    assert MARKER not in everything


def test_cli_against_a_closed_port_gives_up_after_three_attempts(tmp_path) -> None:
    """Regression: a refused first connection took ~90 s (8 attempts with backoff). The
    attempts are counted here; the wall time is ``bench/failfast.py``'s to measure."""
    result = cli(["--endpoint", f"ws://127.0.0.1:{closed_port()}"], "revai", tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("captioner: ")]
    assert len(errors) == 1, result.stderr
    assert "refused" in errors[0] and "3 attempts" in errors[0]


def test_stream_events_are_frozen_and_never_raise_on_unexpected_errors(log_file) -> None:
    """An exception the stream did not foresee ends as FAILED with a redacted line."""
    from captioner.audio.buffer import AudioBuffer
    from captioner.config import SessionConfig
    from captioner.providers.revai import RevAiProvider
    from captioner.stream import State, StateChanged, VendorStream
    from captioner.transcript import Transcript

    class Broken(RevAiProvider):
        def frame_audio(self, pcm: bytes) -> list[bytes]:
            raise RuntimeError(f"surprise with wss://h/p?access_token={MARKER}")

    async def scenario() -> None:
        async with FakeRevAi([], keys=(MARKER,)) as server:
            cfg = SessionConfig(provider="revai", endpoint=server.url)
            audio = AudioBuffer()
            audio.put(bytes(3200))
            events: list[StreamEvent] = []
            stream = VendorStream(lambda: Broken(cfg), audio, Transcript(), secret=MARKER,
                                  listener=events.append, title="Rev AI")
            state = await asyncio.wait_for(stream.run(), 20)
        assert state is State.FAILED
        assert isinstance(events[-1], StateChanged) and "RuntimeError" in events[-1].message
        assert_no_marker(events, log_file)

    run(scenario())
