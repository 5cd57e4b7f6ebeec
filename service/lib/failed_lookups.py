"""Credentials that do not exist, counted per client address: each costs a Postgres
lookup, so an address whose lookups failed `per_second` times this second gets 429 before
its next lookup, in every API process (the counts are shared like the rate limit's)."""

from __future__ import annotations

import contextlib

from service.errors import RateLimited
from service.lib.ratelimit import RequestRateLimiter


class FailedLookups:
    def __init__(self, limiter: RequestRateLimiter) -> None:
        self._limiter = limiter

    def check(self, client: str) -> None:
        """Raises RateLimited (429) when `client` may not look up credentials now."""
        if self._limiter.full(_identity(client)):
            raise RateLimited(
                f"More than {self._limiter.per_second} unknown credentials per second"
                " from this address",
                retry_after_s=1,
            )

    def failed(self, client: str) -> None:
        """Counts a lookup of `client` that found nothing."""
        with contextlib.suppress(RateLimited):  # already over: check() refuses the next
            self._limiter.check(_identity(client))

    async def close(self) -> None:
        await self._limiter.close()


def _identity(client: str) -> str:
    return f"unknown-credentials:{client}"
