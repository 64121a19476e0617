"""The four fake batch vendors by provider name, and engine timing fast enough for tests.

``FAKES["revai"]`` is :class:`~captioner.testing.fake_revai_batch.FakeRevAiBatch`
and so on; :data:`FAST` polls and retries every 10 ms instead of every second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from captioner.batch.engine import EngineSettings
from captioner.batch.http import RetrySettings
from captioner.retry import RetryPolicy
from captioner.testing.fake_assemblyai_batch import FakeAssemblyAiBatch
from captioner.testing.fake_deepgram_batch import FakeDeepgramBatch
from captioner.testing.fake_http import FakeHttpServer
from captioner.testing.fake_revai_batch import FakeRevAiBatch
from captioner.testing.fake_speechmatics_batch import FakeSpeechmaticsBatch

FAKES: dict[str, type[FakeHttpServer]] = {
    "revai": FakeRevAiBatch,
    "assemblyai": FakeAssemblyAiBatch,
    "speechmatics": FakeSpeechmaticsBatch,
    "deepgram": FakeDeepgramBatch,
}

T = TypeVar("T")
_QUICK = RetryPolicy(initial_s=0.01, factor=1.0, max_s=0.01, jitter=0.0, max_attempts=None)
FAST = EngineSettings(poll=_QUICK, retry=RetrySettings(backoff=_QUICK, timeout_s=10.0),
                      delete_timeout_s=5.0)


def run_bounded(coro: Coroutine[Any, Any, T], timeout_s: float = 30.0) -> T:
    """``asyncio.run(coro)``, failing after ``timeout_s`` instead of hanging a test."""
    async def bounded() -> T:
        async with asyncio.timeout(timeout_s):
            return await coro
    return asyncio.run(bounded())
