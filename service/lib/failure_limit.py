"""Costly attempts counted per identity and second, shared by every API process (like the
rate limit's counts): an identity that used up `per_second` of them this second gets 429
before its next one, which then costs nothing.

Two are kept: credential lookups that miss the cache, per client address (each costs a
Postgres query, and floods of made-up keys miss it every time), and refused ingest
requests per API key or inlet (each costs reading up to a request's bytes: a sender of
nothing but hostile bodies is held to a few a second)."""

from __future__ import annotations

import asyncio
import contextlib

from service.errors import RateLimited
from service.lib.ratelimit import RequestRateLimiter

TARPIT_S = 1.0
MAX_HELD = 256


class FailureLimit:
    def __init__(self, limiter: RequestRateLimiter, kind: str, refusal: str) -> None:
        """`refusal`: the 429's detail, with `{n}` for the limit."""
        self._limiter = limiter
        self._kind = kind
        self._refusal = refusal.format(n=limiter.per_second)
        self._held = 0

    async def check(self, identity: str) -> None:
        """Raises RateLimited (429) when `identity` may not try now, after holding the
        request for TARPIT_S: a client that sends again as soon as it is answered (as
        floods do) then costs one request a second, not as many as Herald can refuse.
        At most MAX_HELD requests are held at once; past them the 429 is immediate."""
        if not self._limiter.full(self._key(identity)):
            return
        if self._held < MAX_HELD:
            self._held += 1
            try:
                await asyncio.sleep(TARPIT_S)
            finally:
                self._held -= 1
        raise RateLimited(self._refusal, retry_after_s=1)

    def count(self, identity: str) -> None:
        """Counts one of `identity`'s costly attempts."""
        with contextlib.suppress(RateLimited):  # already over: check() refuses the next
            self._limiter.check(self._key(identity))

    async def close(self) -> None:
        await self._limiter.close()

    def _key(self, identity: str) -> str:
        return f"{self._kind}:{identity}"
