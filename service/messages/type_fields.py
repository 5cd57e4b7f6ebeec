"""Each queue's `event_type_field`, read on the ingest path from memory: looked up in
Postgres at most once per TTL_S per queue. A change applies at once in the API process
that made it and within TTL_S in the others."""

from __future__ import annotations

import enum
import time
import uuid

import asyncpg

TTL_S = 5.0
MAX_ENTRIES = 10_000
FIND_FIELD = "SELECT event_type_field FROM queues WHERE id = $1 AND org_id = $2"


class Unknown(enum.Enum):
    UNKNOWN = enum.auto()


UNKNOWN = Unknown.UNKNOWN


class EventTypeFields:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._entries: dict[tuple[uuid.UUID, uuid.UUID], tuple[str | None, float]] = {}

    def cached(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> str | Unknown | None:
        """The queue's field from memory, or UNKNOWN (then `load` it): no await on the
        way of every ingest request."""
        cached = self._entries.get((org_id, queue_id))
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        return UNKNOWN

    async def load(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> str | None:
        """The queue's field (None for none, or for a queue that is not the org's)."""
        key = (org_id, queue_id)
        now = time.monotonic()
        field: str | None = await self._pool.fetchval(FIND_FIELD, queue_id, org_id)
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (field, now + TTL_S)
        return field

    def forget(self, queue_id: uuid.UUID) -> None:
        for key in [key for key in self._entries if key[1] == queue_id]:
            del self._entries[key]
