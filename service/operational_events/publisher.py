"""Moves operational events from the outbox into each organization's events queue, as JSON
messages `{"type", "timestamp", "data"}` typed `type`: judged by the queue's routing and
stored by the ingest statement like any message, in the transaction that deletes their
outbox rows, so each event becomes exactly one message. Runs every second in one worker
(workers/crons.py)."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from typing import Any

import asyncpg
import msgspec

from service.event_types.counts import EventTypeCounts
from service.lib.ttl_cache import MISS
from service.messages.records import IngestJob
from service.messages.splitting import Item, Split
from service.messages.store import store_group
from service.routing.cache import RoutingCache

logger = logging.getLogger("herald.events")

BATCH = 1000
MAX_BATCHES = 20  # per run: a backlog is worked off over the following seconds
CLAIM_EVENTS = """
    SELECT o.id, o.org_id, o.type, o.data::text AS data, o.occurred_at, e.id AS queue_id
      FROM operational_events o
      LEFT JOIN queues e ON e.org_id = o.org_id AND e.operational_events
     ORDER BY o.id
     LIMIT $1
       FOR UPDATE OF o SKIP LOCKED
"""
DELETE_EVENTS = "DELETE FROM operational_events WHERE id = ANY($1::uuid[])"
CONTENT_TYPE = "application/json"

Group = tuple[uuid.UUID, uuid.UUID, str]  # organization, events queue, event type


class EventPublisher:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._routing = RoutingCache(pool)
        self._counts = EventTypeCounts(pool)

    async def publish(self) -> list[uuid.UUID]:
        """Publishes what the outbox holds; returns the listeners that got deliveries."""
        listeners: list[uuid.UUID] = []
        for _ in range(MAX_BATCHES):
            claimed, woken = await self._publish_batch()
            listeners += woken
            if claimed < BATCH:
                break
        await self._counts.flush()
        return listeners

    async def _publish_batch(self) -> tuple[int, list[uuid.UUID]]:
        stale: list[Group] = []
        woken: list[uuid.UUID] = []
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(CLAIM_EVENTS, BATCH)
            done = [row["id"] for row in rows if row["queue_id"] is None]  # no events queue
            groups: dict[Group, list[asyncpg.Record]] = defaultdict(list)
            for row in rows:
                if row["queue_id"] is not None:
                    groups[(row["org_id"], row["queue_id"], row["type"])].append(row)
            jobs = [await self._job(group, events) for group, events in groups.items()]
            stored = await store_group(connection, jobs)
            for (group, events), job in zip(groups.items(), jobs, strict=True):
                ids = [row["id"] for row in events]
                if (job.queue_id, job.org_id) not in stored.owners:
                    done += ids  # the events queue went meanwhile
                elif stored.versions[job.queue_id] != job.routing_version:
                    stale.append(group)  # stays in the outbox for the next run
                else:
                    done += ids
                    woken += stored.listeners.get(job.queue_id, ())
                    if job.failures:
                        logger.warning(
                            "%d %s events refused by their queue's schema",
                            len(job.failures),
                            group[2],
                        )
                    self._counts.add(job.queue_id, {group[2]: len(job.items)})
            await connection.execute(DELETE_EVENTS, done)
        for org_id, queue_id, _ in stale:
            await self._routing.load(org_id, queue_id)
        return len(rows), woken

    async def _job(self, group: Group, events: list[asyncpg.Record]) -> IngestJob:
        org_id, queue_id, event_type = group
        routing = self._routing.cached(org_id, queue_id)
        if routing is MISS:
            routing = await self._routing.load(org_id, queue_id)
        items = [Item(index, _body(row)) for index, row in enumerate(events)]
        routed = await routing.route(Split(items=items), event_type)
        return IngestJob.of(org_id, queue_id, CONTENT_TYPE, routed, routing.version)


def _body(row: asyncpg.Record) -> bytes:
    event: dict[str, Any] = {
        "type": row["type"],
        "timestamp": row["occurred_at"].isoformat().replace("+00:00", "Z"),
        "data": msgspec.Raw(row["data"].encode()),
    }
    return msgspec.json.encode(event)
