"""A stream that was never live gives up within seconds; one that was live holds on.

Every vendor is tried against an invalid endpoint (no connection at all), a
closed port, a server that accepts TCP and hangs up, and a WebSocket server
that refuses the upgrade with HTTP 503. Attempts are counted by the servers
and the retry delays the stream announces (and then sleeps) are checked against
the fail-fast schedule; wall-clock time is only bounded, generously, against
hangs (the "exits within 10 s" figure is measured by ``bench/failfast.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from captioner.audio.buffer import AudioBuffer
from captioner.config import SessionConfig
from captioner.providers.assemblyai import AssemblyAiProvider
from captioner.providers.deepgram import DeepgramProvider
from captioner.providers.revai import RevAiProvider
from captioner.providers.speechmatics import SpeechmaticsProvider
from captioner.retry import RetryPolicy
from captioner.stream import FailureKind, State, StateChanged, StreamEvent, VendorStream
from captioner.testing import Close, Drop, Utterance
from captioner.testing.fake_revai import FakeRevAi
from captioner.transcript import Transcript

PROVIDERS = [
    pytest.param(RevAiProvider, id="revai"),
    pytest.param(AssemblyAiProvider, id="assemblyai"),
    pytest.param(DeepgramProvider, id="deepgram"),
    pytest.param(SpeechmaticsProvider, id="speechmatics"),
]
BAD_ENDPOINTS = ["ftp://api.example.com/stream", "wss://host:99999/x", "wss://:443/x",
                 "wss://bad host/x", "file:///etc/passwd"]


def run(coro: Any, timeout_s: float = 30.0) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout_s)

    return asyncio.run(bounded())


async def stream_to(provider_cls: Callable[[SessionConfig], Any], endpoint: str,
                    events: list[StreamEvent], secret: str = "test-key",
                    audio: AudioBuffer | None = None, **kwargs: Any) -> VendorStream:
    cfg = SessionConfig(provider=provider_cls.name, endpoint=endpoint)  # type: ignore[attr-defined]
    if audio is None:
        audio = AudioBuffer()
        audio.put(bytes(3200))
    stream = VendorStream(lambda: provider_cls(cfg), audio, Transcript(), secret=secret,
                          title=provider_cls.title, listener=events.append,  # type: ignore
                          **kwargs)
    await stream.run()
    return stream


@contextlib.asynccontextmanager
async def hang_up_server() -> AsyncIterator[tuple[int, list[int]]]:
    """Accepts TCP connections and closes them at once; yields (port, accepted counter)."""
    accepted: list[int] = []

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], accepted
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def refusing_server(status: int = 503) -> AsyncIterator[tuple[int, list[str]]]:
    """A WebSocket server refusing every upgrade with ``status``; yields (port, requests)."""
    requests: list[str] = []

    def refuse(connection: ServerConnection, request: Request) -> Response:
        requests.append(request.path)
        return connection.respond(status, "unavailable\n")

    async def handler(ws: ServerConnection) -> None:  # never reached
        await ws.close()

    async with serve(handler, "127.0.0.1", 0, process_request=refuse) as server:
        yield server.sockets[0].getsockname()[1], requests


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def failed(events: list[StreamEvent]) -> StateChanged:
    states = [e for e in events if isinstance(e, StateChanged)]
    assert states[-1].state is State.FAILED, states
    assert not any(s.state is State.RECONNECTING for s in states), "never live: no backoff"
    return states[-1]


@pytest.mark.parametrize("endpoint", BAD_ENDPOINTS)
@pytest.mark.parametrize("provider_cls", PROVIDERS)
def test_invalid_endpoint_fails_before_any_connection(provider_cls, endpoint) -> None:
    async def scenario() -> None:
        events: list[StreamEvent] = []
        stream = await stream_to(provider_cls, endpoint, events)
        final = failed(events)
        assert final.kind == FailureKind.ENDPOINT
        assert "endpoint" in final.message and "?" not in final.message
        assert stream.ever_live is False

    run(scenario())


def retry_delays(events: list[StreamEvent]) -> list[float]:
    """The delays the stream announced before each retry (it sleeps exactly these)."""
    return [e.retry_in_s for e in events if isinstance(e, StateChanged) and e.retry_in_s > 0]


@pytest.mark.parametrize("provider_cls", PROVIDERS)
def test_closed_port_gives_up_after_two_quick_retries(provider_cls) -> None:
    async def scenario() -> None:
        events: list[StreamEvent] = []
        stream = await stream_to(provider_cls, f"ws://127.0.0.1:{closed_port()}", events)
        final = failed(events)
        assert final.kind == FailureKind.UNREACHABLE
        assert "refused" in final.message and "3 attempts" in final.message
        assert "\n" not in final.message
        quick = [e for e in events if isinstance(e, StateChanged) and e.retry_in_s > 0]
        assert len(quick) == stream.quick_retries == 2
        assert all(e.state is State.CONNECTING for e in quick)
        # the fail-fast schedule: each quick retry waits at most 1 s, well inside the budget
        assert all(0 < d <= 1.0 for d in retry_delays(events))
        assert sum(retry_delays(events)) < stream.fail_fast_s

    run(scenario())


@pytest.mark.parametrize(("policy", "expected"), [
    (RetryPolicy(jitter=0.0), [0.5, 0.75]),  # the default backoff's first steps
    # a slow backoff is not what a never-live stream waits: capped at 1 s
    (RetryPolicy(initial_s=5.0, factor=2.0, max_s=60.0, jitter=0.0), [1.0, 1.0]),
])
def test_never_live_retries_use_the_fail_fast_schedule(policy, expected) -> None:
    async def scenario() -> None:
        events: list[StreamEvent] = []
        await stream_to(RevAiProvider, f"ws://127.0.0.1:{closed_port()}", events,
                        policy=policy)
        failed(events)
        assert retry_delays(events) == expected

    run(scenario())


@pytest.mark.parametrize("provider_cls", PROVIDERS)
def test_hang_up_server_is_tried_three_times(provider_cls) -> None:
    async def scenario() -> None:
        async with hang_up_server() as (port, accepted):
            events: list[StreamEvent] = []
            await stream_to(provider_cls, f"ws://127.0.0.1:{port}", events)
            final = failed(events)
            assert final.kind == FailureKind.UNREACHABLE
            assert len(accepted) == 3

    run(scenario())


@pytest.mark.parametrize("provider_cls", PROVIDERS)
def test_refused_upgrade_is_tried_three_times(provider_cls) -> None:
    async def scenario() -> None:
        async with refusing_server(503) as (port, requests):
            events: list[StreamEvent] = []
            await stream_to(provider_cls, f"ws://127.0.0.1:{port}", events)
            final = failed(events)
            assert final.kind == FailureKind.UNREACHABLE
            assert len(requests) == 3

    run(scenario())


def test_silent_server_fails_within_the_budget() -> None:
    """A server that accepts TCP but never answers the upgrade: one long try (its timeout
    cut to the fail-fast budget), then give up."""

    async def scenario() -> None:
        held: list[asyncio.StreamWriter] = []

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)

        server = await asyncio.start_server(on_client, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            events: list[StreamEvent] = []
            stream = await stream_to(RevAiProvider, f"ws://127.0.0.1:{port}", events,
                                     open_timeout_s=60.0)
            final = failed(events)
            assert final.kind == FailureKind.UNREACHABLE and "did not answer" in final.message
            waited = re.search(r"within (\d+) s", final.message)
            assert waited and int(waited.group(1)) <= stream.fail_fast_s  # not the 60 s
            assert len(held) == 1  # no retry: the budget is spent
        finally:
            for writer in held:
                writer.close()
            server.close()
            await server.wait_closed()

    run(scenario())


def test_a_stream_that_was_live_holds_on_with_backoff() -> None:
    """Once live, a dropped connection is retried with backoff, beyond the quick retries."""

    async def scenario() -> None:
        speech = [Utterance("Hello there.", 100, 400)]
        # connection 0 goes live and drops; 1..4 are closed at once (server trouble); 5 works
        actions = [Drop(at_ms=500, connection=0),
                   *(Close(1011, "internal error", at_ms=None, connection=i) for i in range(1, 5))]
        async with FakeRevAi(speech, actions) as server:
            audio = AudioBuffer()
            for _ in range(10):
                audio.put(bytes(3200))
            audio.close()
            events: list[StreamEvent] = []
            stream = await stream_to(RevAiProvider, server.url, events, audio=audio,
                                     policy=RetryPolicy(initial_s=0.05, max_s=0.2,
                                                        max_attempts=20))
            reconnecting = [e for e in events if isinstance(e, StateChanged)
                            and e.state is State.RECONNECTING]
            assert len(reconnecting) == 5 > stream.quick_retries
            assert len(server.connections) == 6
            assert stream.state is State.STOPPED, stream.message

    run(scenario())
