"""Per-key request rate limits shared by every API process (fixed one-second windows in Redis)."""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter

from service.errors import RateLimited


class RequestRateLimiter:
    def __init__(self, redis_url: str, per_second: int) -> None:
        storage_url = redis_url.replace("redis://", "async+redis://", 1).replace(
            "rediss://", "async+rediss://", 1
        )
        self._limiter = FixedWindowRateLimiter(RedisStorage(storage_url, implementation="redispy"))
        self._item = RateLimitItemPerSecond(per_second)

    async def check(self, identity: str) -> None:
        """Counts one request for `identity`; raises RateLimited (429) past the limit."""
        if await self._limiter.hit(self._item, "ingest", identity):
            return
        stats = await self._limiter.get_window_stats(self._item, "ingest", identity)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"More than {self._item.amount} requests per second for this key",
            retry_after_s=retry_after,
        )
