"""A token bucket for a listener's `rate_limit_per_s`. One drain per listener runs at a
time, so the bucket lives in the drain; it is kept in Redis between drains (a drain gives
its slot back while it waits for tokens), so a new drain does not start with a full one.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from redis.asyncio import Redis


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

    def wait_s(self) -> float:
        """How long until a token is there."""
        tokens = self.tokens + (time.monotonic() - self.updated) * self.rate
        return max(0.0, (1 - tokens) / self.rate)


def pace_key(listener_id: uuid.UUID) -> str:
    return f"herald:pace:{listener_id}"


async def restore_bucket(redis: Redis, listener_id: uuid.UUID, rate_per_s: float) -> TokenBucket:
    """The listener's bucket as its last drain left it (full when that was long ago)."""
    bucket = TokenBucket(rate_per_s)
    saved = await redis.get(pace_key(listener_id))
    if saved:
        tokens, _, at = saved.decode().partition(" ")
        elapsed = max(0.0, time.time() - float(at))
        bucket.tokens = min(bucket.capacity, float(tokens) + elapsed * rate_per_s)
    return bucket


async def save_bucket(redis: Redis, listener_id: uuid.UUID, bucket: TokenBucket) -> None:
    now = time.monotonic()
    tokens = min(bucket.capacity, bucket.tokens + (now - bucket.updated) * bucket.rate)
    refill_s = (bucket.capacity - tokens) / bucket.rate
    if refill_s <= 0:
        await redis.delete(pace_key(listener_id))  # full: as if never used
        return
    await redis.set(pace_key(listener_id), f"{tokens} {time.time()}", ex=int(refill_s) + 1)


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
