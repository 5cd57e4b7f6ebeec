"""Inlet tokens resolved from memory: an inlet URL is called by third parties at their
pace, so each token is looked up in Postgres at most once per TTL_S, and so is a token
that does not exist (service/lib/failure_limit.py limits how many new ones an address
may try). A deleted inlet stops working at once in the API process that deleted it, and
within TTL_S in the others."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from service.lib.failure_limit import FailureLimit
from service.lib.secrets import hash_token
from service.lib.ttl_cache import MISS, TtlCache

TTL_S = 5.0
FIND_INLET = "SELECT id, org_id, queue_id FROM inlets WHERE token_hash = $1"


@dataclass(frozen=True, slots=True)
class ResolvedInlet:
    id: uuid.UUID
    org_id: uuid.UUID
    queue_id: uuid.UUID


class InletCache:
    def __init__(self, pool: asyncpg.Pool, lookups: FailureLimit) -> None:
        self._pool = pool
        self._lookups = lookups
        self._inlets: TtlCache[bytes, ResolvedInlet | None] = TtlCache(TTL_S)

    async def resolve(self, token: str, client: str) -> ResolvedInlet | None:
        """The inlet `token` opens, or None; RateLimited (429) when `client` (its address)
        has tried too many unknown tokens this second."""
        token_hash = hash_token(token)
        cached = self._inlets.get(token_hash)
        if cached is not MISS:
            return cached
        await self._lookups.check(client)
        self._lookups.count(client)  # before the query: concurrent misses count at once
        row = await self._pool.fetchrow(FIND_INLET, token_hash)
        inlet = ResolvedInlet(row["id"], row["org_id"], row["queue_id"]) if row else None
        self._inlets.put(token_hash, inlet)
        return inlet

    def forget(self, inlet_id: uuid.UUID) -> None:
        """Drops a deleted inlet from this process's memory."""
        self._inlets.forget(lambda _, inlet: inlet is not None and inlet.id == inlet_id)
