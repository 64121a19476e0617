"""The fakes enforce each vendor's session cap and concurrency rule the way the service does.

Caps (configurable short for tests): AssemblyAI 3 h → ``Error`` 3008 and close
3008; Speechmatics 48 h → ``Error`` ``session_timeout`` and close 1008; Rev AI
3 h → the stream is terminated; Deepgram documents none. Concurrency: Rev 10
open streams (close 4013), Speechmatics 50 on Pro / 2 on Free (``Error``
``quota_exceeded``, close 4005), Deepgram 50 (HTTP 429 with ``dg-error``),
AssemblyAI limits *new sessions per minute* instead (close 3009). Each refusal
is one the provider classifies as "try again", never as fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from captioner.config import SessionConfig
from captioner.providers import make_provider
from captioner.providers.assemblyai import AssemblyAiOptions
from captioner.providers.base import CloseKind, Provider
from captioner.testing import FakeServer
from captioner.testing.fake_assemblyai import FakeAssemblyAi
from captioner.testing.fake_deepgram import FakeDeepgram
from captioner.testing.fake_revai import FakeRevAi
from captioner.testing.fake_speechmatics import FakeSpeechmatics

KEY = "test-key"
CAPPED = [
    pytest.param(FakeRevAi, "revai", 1000, id="revai"),
    pytest.param(FakeAssemblyAi, "assemblyai", 3008, id="assemblyai"),
    pytest.param(FakeSpeechmatics, "speechmatics", 1008, id="speechmatics"),
]


def run(coro: Any, timeout_s: float = 15.0) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout_s)

    return asyncio.run(bounded())


def provider_for(server: FakeServer, vendor: str) -> Provider:
    return make_provider(SessionConfig(provider=vendor, endpoint=server.url))


async def open_session(server: FakeServer, vendor: str) -> ClientConnection:
    """Connect the way the provider does (URL, headers, first message)."""
    handshake = provider_for(server, vendor).handshake(KEY)
    ws = await connect(handshake.url, additional_headers=handshake.headers)
    if handshake.first_message is not None:
        with contextlib.suppress(ConnectionClosed):  # a refusal may come first
            await ws.send(handshake.first_message)
    return ws


async def until_closed(ws: ClientConnection, provider: Provider | None = None
                       ) -> tuple[int | None, str]:
    """Read until the close (each frame parsed by ``provider``, as the stream does)."""
    with contextlib.suppress(ConnectionClosed):
        async for raw in ws:
            if provider is not None:
                provider.parse(raw)
    return ws.close_code, ws.close_reason or ""


@pytest.mark.parametrize(("fake", "vendor", "code"), CAPPED)
def test_a_session_past_the_vendor_cap_is_ended_the_vendors_way(fake, vendor, code) -> None:
    async def scenario() -> None:
        async with fake(keys=(KEY,), max_session_s=0.3) as server:
            ws = await open_session(server, vendor)
            provider = provider_for(server, vendor)
            close_code, reason = await until_closed(ws, provider)
            assert close_code == code
            assert any("cap of 0.3 s" in v for v in server.violations)
            verdict = provider.classify_close(close_code, reason)
            assert verdict.kind is not CloseKind.FATAL, verdict  # a new session may follow

    run(scenario())


def test_the_vendor_caps_are_the_documented_ones() -> None:
    assert FakeRevAi.session_cap_s == FakeAssemblyAi.session_cap_s == 3 * 3600
    assert FakeSpeechmatics.session_cap_s == 48 * 3600
    assert FakeDeepgram.session_cap_s is None
    assert (FakeRevAi.concurrency_limit, FakeSpeechmatics.concurrency_limit,
            FakeDeepgram.concurrency_limit, FakeAssemblyAi.concurrency_limit) == (10, 50, 50, None)


@pytest.mark.parametrize(("fake", "vendor", "code"), [
    pytest.param(FakeRevAi, "revai", 4013, id="revai"),
    pytest.param(FakeSpeechmatics, "speechmatics", 4005, id="speechmatics"),
])
def test_a_session_beyond_the_concurrency_limit_is_refused_after_the_upgrade(
        fake, vendor, code) -> None:
    async def scenario() -> None:
        async with fake(keys=(KEY,), max_concurrent=1) as server:
            first = await open_session(server, vendor)
            second = await open_session(server, vendor)
            provider = provider_for(server, vendor)
            close_code, reason = await until_closed(second, provider)
            assert close_code == code
            verdict = provider.classify_close(close_code, reason)
            assert verdict.kind is CloseKind.RETRY, verdict
            assert (server.refused_busy, server.peak_active) == (1, 1)
            await first.close()
            await server.wait_done(0)
            third = await open_session(server, vendor)  # a slot is free again
            assert server.refused_busy == 1 and server.active == 1
            await third.close()

    run(scenario())


def test_deepgram_refuses_a_connection_beyond_its_limit_with_http_429() -> None:
    async def scenario() -> None:
        async with FakeDeepgram(keys=(KEY,), max_concurrent=1) as server:
            first = await open_session(server, "deepgram")
            with pytest.raises(InvalidStatus) as refused:
                await open_session(server, "deepgram")
            response = refused.value.response
            assert response.status_code == 429 and response.headers["dg-error"]
            verdict = provider_for(server, "deepgram").classify_refusal(
                429, response.headers, bytes(response.body or b""))
            assert verdict.kind is CloseKind.RETRY, verdict
            await first.close()

    run(scenario())


def test_assemblyai_limits_new_sessions_per_minute_not_open_sessions() -> None:
    async def scenario() -> None:
        async with FakeAssemblyAi(keys=(KEY,), new_sessions_per_minute=2) as server:
            first = await open_session(server, "assemblyai")
            await first.close()
            await server.wait_done(0)
            second = await open_session(server, "assemblyai")  # one open, two this minute
            third = await open_session(server, "assemblyai")
            close_code, reason = await until_closed(third)
            assert (close_code, reason) == (3009, "Unauthorized Connection: Too many "
                                                  "concurrent sessions")
            verdict = provider_for(server, "assemblyai").classify_close(close_code, reason)
            assert verdict.kind is CloseKind.RETRY, verdict
            await second.close()

    run(scenario())


def test_an_assemblyai_temporary_token_caps_its_session_at_its_max_duration() -> None:
    async def scenario() -> None:
        async with FakeAssemblyAi(keys=(KEY,)) as server:
            provider = make_provider(SessionConfig(
                provider="assemblyai", endpoint=server.url,
                options=AssemblyAiOptions(temporary_token=True, max_session_duration_s=600)))
            handshake = await asyncio.to_thread(provider.handshake, KEY)
            ws = await connect(handshake.url, additional_headers=handshake.headers)
            await server.wait_connection(0)
            assert server.session_cap_for(server.connections[0]) == 600.0  # not 3 h
            assert provider.max_session_s is not None and provider.max_session_s < 600
            await ws.close()

    run(scenario())
