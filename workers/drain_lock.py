"""At most one drain per listener: a Redis lock with a short TTL that the drain keeps renewing.

If the worker dies, the lock lapses within LOCK_TTL_MS and the next wake-up (the sweeper's
at the latest) starts a new drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator

from redis.asyncio import Redis

LOCK_TTL_MS = 10_000
RENEW_EVERY_S = LOCK_TTL_MS / 3000
RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then"
    " return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)
RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


def lock_key(listener_id: uuid.UUID) -> str:
    return f"herald:draining:{listener_id}"


@contextlib.asynccontextmanager
async def drain_lock(redis: Redis, listener_id: uuid.UUID) -> AsyncIterator[bool]:
    """Yields True when this drain holds the lock (renewed while held), False otherwise."""
    key, token = lock_key(listener_id), secrets.token_hex(8)
    if not await redis.set(key, token, px=LOCK_TTL_MS, nx=True):
        yield False
        return
    renewer = asyncio.create_task(_renew(redis, key, token))
    try:
        yield True
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await renewer
        with contextlib.suppress(Exception):
            await asyncio.shield(_release(redis, key, token))


async def _release(redis: Redis, key: str, token: str) -> None:
    await redis.eval(RELEASE, 1, key, token)  # type: ignore[misc]


async def _renew(redis: Redis, key: str, token: str) -> None:
    while True:
        await asyncio.sleep(RENEW_EVERY_S)
        await redis.eval(RENEW, 1, key, token, str(LOCK_TTL_MS))  # type: ignore[misc]
