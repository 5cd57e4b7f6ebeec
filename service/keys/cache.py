"""API keys by hash, cached per process, with revocations heard on Redis pub/sub.

A Postgres lookup per request costs more than the rest of an ingest request. The cache is
used only while this process is subscribed to the revocation channel: a revoking request
publishes after its commit and before it answers 204, so a revoked key stops working in
every process as soon as it hears the message (milliseconds). While not subscribed (Redis
down, reconnecting), every lookup goes to Postgres and the cache starts empty again
afterwards. Unknown keys are remembered too (service/lib/failure_limit.py limits how many
new ones an address may try).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.auth import Principal
from service.lib.failure_limit import FailureLimit
from service.lib.pubsub import Subscription
from service.lib.secrets import hash_token

logger = logging.getLogger("herald.keys")

CHANNEL = "herald:api-keys:revoked"
FIND_KEY = "SELECT id, org_id, scopes FROM api_keys WHERE key_hash = $1"
TTL_S = 60.0  # bounds staleness for keys deleted behind Herald's back (by hand in SQL)
UNKNOWN_TTL_S = 60.0
MAX_ENTRIES = 10_000


class ApiKeyCache:
    def __init__(self, pool: asyncpg.Pool, redis: Redis, lookups: FailureLimit) -> None:
        self._pool = pool
        self._redis = redis
        self._lookups = lookups
        self._entries: dict[bytes, tuple[Principal, float]] = {}
        # Keys that do not exist. A key is random, so one created later is never in here.
        self._unknown: dict[bytes, float] = {}
        self._subscribed = False
        self._revocations = 0  # a lookup that overlapped a revocation is not cached
        self._subscription: Subscription | None = None

    def start(self) -> None:
        self._subscription = Subscription(
            self._redis, CHANNEL, self._forget, on_listening=self._listening
        )

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()

    @property
    def caching(self) -> bool:
        """Whether revocations are heard, so that lookups may be served from memory."""
        return self._subscribed

    async def principal(self, key: str, client: str) -> Principal | None:
        """The key's principal, or None when no such key exists; RateLimited (429) when
        `client` (its address) has looked up too many unknown keys this second."""
        key_hash = hash_token(key)
        now = time.monotonic()
        cached = self._entries.get(key_hash)
        if cached is not None and cached[1] > now:
            return cached[0]
        unknown_until = self._unknown.get(key_hash)
        if unknown_until is not None and unknown_until > now:
            return None
        await self._lookups.check(client)
        self._lookups.count(client)  # before the query: concurrent misses count at once
        revocations = self._revocations
        row = await self._pool.fetchrow(FIND_KEY, key_hash)
        if row is None:
            _bounded_put(self._unknown, key_hash, now + UNKNOWN_TTL_S)
            return None
        principal = Principal(
            org_id=row["org_id"], key_id=row["id"], scopes=frozenset(row["scopes"])
        )
        if self._subscribed and revocations == self._revocations:
            _bounded_put(self._entries, key_hash, (principal, now + TTL_S))
        return principal

    async def revoked(self, key_hash: bytes) -> None:
        """Call after the deletion committed: forgets the key here and in every process."""
        self._forget(key_hash)
        try:
            await self._redis.publish(CHANNEL, key_hash)
        except (RedisError, OSError) as exc:
            # Every other process lost Redis too, so none of them is using its cache.
            logger.warning("api key revocation not published: %r", exc)

    def _forget(self, key_hash: bytes) -> None:
        self._revocations += 1
        self._entries.pop(key_hash, None)

    def _listening(self, subscribed: bool) -> None:
        self._subscribed = subscribed
        self._entries.clear()  # whatever was missed meanwhile must not be served


def _bounded_put(entries: dict[bytes, Any], key: bytes, value: Any) -> None:
    if len(entries) >= MAX_ENTRIES:
        entries.clear()
    entries[key] = value
