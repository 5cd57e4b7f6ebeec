"""One SQL statement that stores a group of ingest jobs: batches, messages (with their bytes),
failures and the fan-out delivery rows (service/deliveries/state.py), for the queues that
exist and belong to the job's organization.

A single statement is atomic on its own, so the hot path needs no BEGIN/COMMIT round trips:
one round trip per group, which matters as much for latency as for throughput.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from service.deliveries.state import INGEST_FAN_OUT
from service.messages.records import IngestJob

STORE_GROUP = (
    """
WITH job AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::int[],
                         $6::int[], $7::bool[], $8::uuid[], $9::text[], $10::jsonb[],
                         $19::bigint[])
        AS j(batch_id, org_id, queue_id, received_at, accepted, rejected, new_batch,
             last_message_id, content_type, original_headers, routing_version)
), owned AS (
    -- KEY SHARE keeps each queue from being deleted until this statement commits.
    SELECT q.id, q.org_id, q.routing_version FROM queues q
     WHERE (q.id, q.org_id) IN (SELECT queue_id, org_id FROM job)
       FOR KEY SHARE
), stored_job AS (
    -- A job judged with an older routing is left out whole (the writer answers StaleRouting).
    SELECT job.* FROM job
      JOIN owned ON owned.id = job.queue_id AND owned.org_id = job.org_id
                AND owned.routing_version = job.routing_version
), verdict AS (
    SELECT * FROM unnest($20::uuid[], $21::uuid[]) AS v(message_id, listener_id)
), new_batch AS (
    INSERT INTO batches (id, org_id, queue_id, received_at, accepted, rejected, last_message_id,
                         original_headers)
    SELECT batch_id, org_id, queue_id, received_at, accepted, rejected, last_message_id,
           original_headers
      FROM stored_job WHERE new_batch
), item AS (
    SELECT * FROM unnest($11::uuid[], $12::int[], $13::bytea[], $18::text[])
        AS i(id, index, body, event_type)
), new_message AS (
    -- A job's messages are the ids (batch_id, last_message_id]: no batch id per item.
    INSERT INTO messages (id, org_id, queue_id, batch_id, index, content_type, size,
                          received_at, has_original_headers, event_type, body)
    SELECT item.id, j.org_id, j.queue_id, j.batch_id, item.index, j.content_type,
           length(item.body), j.received_at, j.original_headers IS NOT NULL, item.event_type,
           item.body
      FROM item JOIN stored_job j ON item.id > j.batch_id AND item.id <= j.last_message_id
    RETURNING id, queue_id, received_at, event_type
), new_delivery AS ("""
    + INGEST_FAN_OUT
    + """
), new_failure AS (
    INSERT INTO batch_failures (batch_id, index, reason, raw)
    SELECT f.batch_id, f.index, f.reason, f.raw
      FROM unnest($14::uuid[], $15::int[], $16::text[], $17::bytea[])
           AS f(batch_id, index, reason, raw)
      JOIN stored_job j ON j.batch_id = f.batch_id
)
SELECT owned.id AS queue_id, owned.org_id, owned.routing_version,
       ARRAY(SELECT l.id FROM listeners l
              WHERE l.queue_id = owned.id AND l.id IN (SELECT listener_id FROM new_delivery)
              ORDER BY l.id) AS listener_ids
  FROM owned
"""
)


@dataclass
class StoredGroup:
    """The queues found (id -> org), their routing versions, and per queue the listeners
    that got deliveries."""

    owners: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    versions: dict[uuid.UUID, int] = field(default_factory=dict)
    listeners: dict[uuid.UUID, tuple[uuid.UUID, ...]] = field(default_factory=dict)


async def store_group(
    connection: asyncpg.Connection | asyncpg.Pool,
    jobs: list[IngestJob],
    *,
    batch_exists: frozenset[uuid.UUID] = frozenset(),
) -> StoredGroup:
    """Stores `jobs` whose queue exists in their organization; others are left out.

    `batch_exists`: batches already inserted (idempotent requests claim theirs first).
    """
    rows = await connection.fetch(STORE_GROUP, *_parameters(jobs, batch_exists))
    stored = StoredGroup()
    for row in rows:
        stored.owners.add((row["queue_id"], row["org_id"]))
        stored.versions[row["queue_id"]] = row["routing_version"]
        stored.listeners[row["queue_id"]] = tuple(row["listener_ids"])
    return stored


def _parameters(jobs: list[IngestJob], batch_exists: frozenset[uuid.UUID]) -> list[list[Any]]:
    job_columns: list[list[Any]] = [[] for _ in range(10)]
    message_ids: list[uuid.UUID] = []
    indexes: list[int] = []
    bodies: list[bytes] = []
    event_types: list[str | None] = []
    versions: list[int] = []
    verdict_messages: list[uuid.UUID] = []
    verdict_listeners: list[uuid.UUID] = []
    failure_columns: list[list[Any]] = [[] for _ in range(4)]
    for job in jobs:
        values = (
            *job.batch_values,
            job.batch_id not in batch_exists,
            job.last_message_id,
            job.content_type,
            json.dumps(job.original_headers) if job.original_headers is not None else None,
        )
        for column, value in zip(job_columns, values, strict=True):
            column.append(value)
        message_ids += job.message_ids
        indexes += [item.index for item in job.items]
        bodies += [item.body for item in job.items]
        event_types += [item.event_type for item in job.items]
        versions.append(job.routing_version)
        for position, listener_id in job.verdicts:
            verdict_messages.append(job.message_ids[position])
            verdict_listeners.append(listener_id)
        for failure in job.failures:
            failure_columns[0].append(job.batch_id)
            failure_columns[1].append(failure.index)
            failure_columns[2].append(failure.reason)
            failure_columns[3].append(failure.raw)
    return [
        *job_columns,
        message_ids,
        indexes,
        bodies,
        *failure_columns,
        event_types,
        versions,
        verdict_messages,
        verdict_listeners,
    ]
