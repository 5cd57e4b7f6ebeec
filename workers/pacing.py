"""A token bucket for a listener's `rate_limit_per_s` (one drain per listener, so in-process)."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    def __init__(self, rate_per_s: float, burst: float | None = None) -> None:
        self.rate = rate_per_s
        self.capacity = burst if burst is not None else max(1.0, rate_per_s)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


# A rate-limited listener is claimed at most this far ahead of its sends: claimed
# deliveries wait in the worker for their token, and their lease must cover the wait.
PACED_AHEAD_S = 10.0


def claim_limit(max_in_flight: int, rate_per_s: float | None) -> int:
    """Deliveries a drain may hold claimed at once."""
    if not rate_per_s:
        return max_in_flight
    return max(1, min(max_in_flight, int(rate_per_s * PACED_AHEAD_S)))


def lease_s(margin_s: float, timeout_s: float, claimed: int, rate_per_s: float | None) -> float:
    """A lease that outlives the attempt: the wait for a token behind the `claimed`
    deliveries the drain holds (these included), the attempt's timeout, and a margin for
    recording its outcome."""
    waiting_s = claimed / rate_per_s if rate_per_s else 0.0
    return margin_s + waiting_s + timeout_s
