"""Each queue's routing, read on the ingest path from memory and loaded in one statement
(one snapshot) when missing or found stale. Correctness never rests on the cache: the
ingest statement refuses work judged with an older routing_version, and the request is
judged again with a fresh load. Entries expire only to bound what an idle queue holds."""

from __future__ import annotations

import asyncio
import logging
import uuid

import asyncpg
import msgspec

from service.lib.ttl_cache import Miss, TtlCache
from service.routing.filters import FilterError
from service.routing.routing import ABSENT_VERSION, QueueRouting
from service.routing.schemas import SchemaValidators
from service.routing.selection import Selection

logger = logging.getLogger("herald.routing")

TTL_S = 300.0
LOAD_ROUTING = """
    SELECT q.routing_version, q.event_type_field,
           (SELECT coalesce(json_agg(json_build_object(
                       'id', l.id, 'types', l.filter_types, 'filter', l.filter)), '[]')
              FROM listeners l
             WHERE l.queue_id = q.id AND l.selective AND l.deleted_at IS NULL) AS selective,
           CASE WHEN q.validate_schemas THEN
               (SELECT coalesce(json_object_agg(e.name, e.schema), '{}')
                  FROM event_types e WHERE e.queue_id = q.id AND e.schema IS NOT NULL)
           END AS schemas
      FROM queues q
     WHERE q.id = $1 AND q.org_id = $2
"""


class _Listener(msgspec.Struct):
    id: uuid.UUID
    types: list[str] | None
    filter: object


class RoutingCache:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._routes: TtlCache[tuple[uuid.UUID, uuid.UUID], QueueRouting] = TtlCache(TTL_S)
        self._loading: dict[tuple[uuid.UUID, uuid.UUID], asyncio.Future[QueueRouting]] = {}
        self.validators = SchemaValidators()

    def cached(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> QueueRouting | Miss:
        """The queue's routing from memory (perhaps stale), or MISS: then `load` it."""
        return self._routes.get((org_id, queue_id))

    async def load(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> QueueRouting:
        """The queue's routing as committed now (concurrent loads of a queue share one)."""
        key = (org_id, queue_id)
        if (pending := self._loading.get(key)) is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[QueueRouting] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            routing = await self._fetch(org_id, queue_id)
            future.set_result(routing)
            self._routes.put(key, routing)
            return routing
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a load nobody else waits for is not an error
            raise
        finally:
            del self._loading[key]

    async def _fetch(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> QueueRouting:
        row = await self._pool.fetchrow(LOAD_ROUTING, queue_id, org_id)
        if row is None:
            return QueueRouting(ABSENT_VERSION)
        selections = []
        for listener in msgspec.json.decode(row["selective"], type=list[_Listener]):
            try:
                selections.append(Selection.of(listener.id, listener.types, listener.filter))
            except FilterError as exc:  # stored before a limit was lowered
                logger.warning("listener %s: filter no longer compiles: %s", listener.id, exc)
                selections.append(Selection(listener.id, lambda _: False, None))
        return QueueRouting(
            version=row["routing_version"],
            event_type_field=row["event_type_field"],
            selections=tuple(selections),
            schemas={
                name: msgspec.json.encode(schema).decode()
                for name, schema in msgspec.json.decode(row["schemas"] or "{}").items()
            },
            validators=self.validators,
        )
