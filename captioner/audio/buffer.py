"""A bounded, drop-oldest buffer of PCM blocks between capture and the session loop.

The capture callback (PortAudio's thread) copies a block and hands it over with
``loop.call_soon_threadsafe(buffer.put, block)``; only the asyncio loop calls
:meth:`AudioBuffer.put` and :meth:`AudioBuffer.get`. When the sender falls
behind, the oldest blocks are dropped and counted so the session can mark a gap.
"""

from __future__ import annotations

import asyncio
import collections
import logging

from captioner.config import BYTES_PER_MS

log = logging.getLogger(__name__)


class AudioBuffer:
    """Bounded FIFO of PCM blocks with drop counting.

    Attributes:
        max_bytes: capacity; beyond it the oldest blocks are dropped.
        dropped_bytes: total bytes dropped since creation.
        closed: True once :meth:`close` was called (end of input).
    """

    def __init__(self, max_ms: int = 30_000) -> None:
        self.max_bytes = max_ms * BYTES_PER_MS
        self._blocks: collections.deque[bytes] = collections.deque()
        self._size_bytes = 0
        self.dropped_bytes = 0
        self.closed = False
        self._ready = asyncio.Event()
        self._taken = asyncio.Event()

    @property
    def size_bytes(self) -> int:
        return self._size_bytes

    def put(self, block: bytes) -> None:
        """Append a block (loop thread only); drops the oldest on overflow."""
        if self.closed or not block:
            return
        self._blocks.append(block)
        self._size_bytes += len(block)
        while self._size_bytes > self.max_bytes and len(self._blocks) > 1:
            old = self._blocks.popleft()
            self._size_bytes -= len(old)
            if not self.dropped_bytes:
                log.warning("audio buffer overflow: dropping oldest audio")
            self.dropped_bytes += len(old)
        self._ready.set()

    def close(self) -> None:
        """No more audio will come; :meth:`get` returns None once drained."""
        self.closed = True
        self._ready.set()

    def get_nowait(self) -> bytes | None:
        if not self._blocks:
            return None
        block = self._blocks.popleft()
        self._size_bytes -= len(block)
        self._taken.set()
        if not self._blocks and not self.closed:
            self._ready.clear()
        return block

    async def wait_below(self, size_bytes: int) -> None:
        """Wait until at most ``size_bytes`` are buffered (producer back-pressure)."""
        while self._size_bytes > size_bytes and not self.closed:
            self._taken.clear()
            await self._taken.wait()

    async def get(self) -> bytes | None:
        """Next block, waiting if empty; None at end of input."""
        while True:
            block = self.get_nowait()
            if block is not None:
                return block
            if self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()
