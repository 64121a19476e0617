"""A TCP proxy on 127.0.0.1 that can take the network away: for reconnect tests and benchmarks.

:class:`OutageProxy` forwards connections to a fake vendor. :meth:`OutageProxy.cut`
starts an outage: open connections are aborted (as when a network goes down
under a socket) and new ones are refused until :meth:`OutageProxy.restore`;
with ``silent=True`` open connections stay up but nothing gets through (a
stalled network), which only pings can notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


class OutageProxy:
    """Forwards ``127.0.0.1:<port>`` to ``127.0.0.1:<target_port>``; use ``async with``.

    Attributes:
        port: where clients connect (stays the same across outages).
        connections: connections accepted so far.
        down: an outage is in progress.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.connections = 0
        self.down = False
        self._silent = False
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> OutageProxy:
        await self._listen()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self, silent: bool = False) -> None:
        """Start an outage: refuse new connections; abort (or, ``silent``, stall) open ones."""
        self.down, self._silent = True, silent
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if not silent:
            for writer in list(self._writers):
                writer.transport.abort()

    async def restore(self) -> None:
        """End the outage: accept connections again on the same port."""
        if self._silent:
            for writer in list(self._writers):
                writer.transport.abort()  # what stalled is gone for good
        self.down, self._silent = False, False
        await self._listen()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _on_client(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        tasks = [asyncio.create_task(self._pipe(reader, up_writer)),
                 asyncio.create_task(self._pipe(up_reader, writer))]
        self._pipes.update(tasks)
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._pipes.difference_update(tasks)
            self._writers.difference_update((writer, up_writer))
            for w in (writer, up_writer):
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if self._silent:
                    continue  # a stalled network: bytes go nowhere
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
