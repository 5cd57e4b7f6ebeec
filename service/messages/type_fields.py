"""Each queue's `event_type_field`, read on the ingest path from memory: looked up in
Postgres at most once per TTL_S per queue. A change applies at once in the API process
that made it and within TTL_S in the others."""

from __future__ import annotations

import uuid

import asyncpg

from service.lib.ttl_cache import Miss, TtlCache

TTL_S = 5.0
FIND_FIELD = "SELECT event_type_field FROM queues WHERE id = $1 AND org_id = $2"


class EventTypeFields:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._fields: TtlCache[tuple[uuid.UUID, uuid.UUID], str | None] = TtlCache(TTL_S)

    def cached(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> str | Miss | None:
        """The queue's field from memory, or MISS (then `load` it): no await on the way of
        every ingest request."""
        return self._fields.get((org_id, queue_id))

    async def load(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> str | None:
        """The queue's field (None for none, or for a queue that is not the org's)."""
        field: str | None = await self._pool.fetchval(FIND_FIELD, queue_id, org_id)
        self._fields.put((org_id, queue_id), field)
        return field

    def forget(self, queue_id: uuid.UUID) -> None:
        self._fields.forget(lambda key, _: key[1] == queue_id)
