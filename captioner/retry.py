"""Reconnect timing: exponential backoff with jitter, pure and deterministic under a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again after a retryable close or a dropped connection.

    Attributes:
        initial_s: first delay.
        factor: growth per failed attempt.
        max_s: cap on one delay.
        jitter: +/- fraction of randomness so many clients don't reconnect in step.
        max_attempts: consecutive failures before giving up (None: never).
    """

    initial_s: float = 0.5
    factor: float = 1.5  # back soon after a short outage: 0.5, 0.75, 1.1, 1.7, 2.5, … s
    max_s: float = 10.0
    jitter: float = 0.2
    max_attempts: int | None = 12  # about a minute of trying

    def delay_s(
        self, attempt: int, rng: random.Random | None = None, floor_s: float = 0.0
    ) -> float:
        """Delay before reconnect number ``attempt`` (1-based)."""
        base = min(self.max_s, self.initial_s * self.factor ** max(0, attempt - 1))
        spread = base * self.jitter
        r = (rng or random).uniform(-spread, spread)
        return max(floor_s, base + r, 0.0)

    def gives_up(self, attempt: int) -> bool:
        return self.max_attempts is not None and attempt > self.max_attempts
