"""Failures counted per identity and second, shared by every API process (like the rate
limit's counts): an identity that failed `per_second` times this second gets 429 before
its next attempt, which is then refused before it costs anything.

Two are kept: unknown credentials per client address (each costs a Postgres lookup), and
refused ingest requests per API key or inlet (each costs reading up to a request's
bytes: a sender of nothing but hostile bodies is held to a few a second)."""

from __future__ import annotations

import contextlib

from service.errors import RateLimited
from service.lib.ratelimit import RequestRateLimiter


class FailureLimit:
    def __init__(self, limiter: RequestRateLimiter, kind: str, refusal: str) -> None:
        """`refusal`: the 429's detail, with `{n}` for the limit."""
        self._limiter = limiter
        self._kind = kind
        self._refusal = refusal.format(n=limiter.per_second)

    def check(self, identity: str) -> None:
        """Raises RateLimited (429) when `identity` may not try now."""
        if self._limiter.full(self._key(identity)):
            raise RateLimited(self._refusal, retry_after_s=1)

    def failed(self, identity: str) -> None:
        """Counts a failure of `identity`."""
        with contextlib.suppress(RateLimited):  # already over: check() refuses the next
            self._limiter.check(self._key(identity))

    async def close(self) -> None:
        await self._limiter.close()

    def _key(self, identity: str) -> str:
        return f"{self._kind}:{identity}"
