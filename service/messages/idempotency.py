"""Idempotency keys: the first request under a key (per queue, for 24 h) is stored, a repeat
gets the first response back and stores nothing. Runs inside the writer's transaction."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import asyncpg

from service.errors import InvalidInput
from service.messages.records import IngestJob


async def lock_queues(
    connection: asyncpg.Connection, queue_ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, int]]:
    """Each queue's organization and routing_version. SHARE keeps each queue from being
    deleted, and its routing from changing, until this transaction ends: a job whose key
    is claimed below is then stored whole."""
    rows = await connection.fetch(
        "SELECT id, org_id, routing_version FROM queues WHERE id = ANY($1::uuid[]) FOR SHARE",
        list(queue_ids),
    )
    return {row["id"]: (row["org_id"], row["routing_version"]) for row in rows}


async def claim_idempotency_key(
    connection: asyncpg.Connection, job: IngestJob, ttl: timedelta
) -> dict[str, Any] | None:
    """Inserts the job's batch under its key; returns the stored response if the key was taken,
    raises InvalidInput (422) if it was taken by another request."""
    insert = (
        "INSERT INTO batches (id, org_id, queue_id, received_at, accepted, rejected,"
        " idempotency_key, response, last_message_id, original_headers, request_hash)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10::jsonb, $11)"
        " ON CONFLICT (queue_id, idempotency_key) WHERE idempotency_key IS NOT NULL"
        " DO NOTHING RETURNING id"
    )
    args = (
        *job.batch_values,
        job.idempotency_key,
        json.dumps(job.response),
        job.last_message_id,
        json.dumps(job.original_headers) if job.original_headers is not None else None,
        job.request_hash,
    )
    if await connection.fetchval(insert, *args) is not None:
        return None
    existing = await connection.fetchrow(
        "SELECT id, received_at, response, request_hash FROM batches"
        " WHERE queue_id = $1 AND idempotency_key = $2 FOR UPDATE",
        job.queue_id,
        job.idempotency_key,
    )
    if existing is not None and existing["received_at"] > job.received_at - ttl:
        if existing["request_hash"] not in (None, job.request_hash):
            raise InvalidInput(
                "This Idempotency-Key was used with another request in the last"
                f" {int(ttl.total_seconds())} seconds",
                errors=[{"field": "Idempotency-Key", "message": "used with another request"}],
            )
        stored: dict[str, Any] = json.loads(existing["response"])
        return stored
    if existing is not None:
        # The key's 24 hours are over: it now names this new batch.
        await connection.execute(
            "UPDATE batches SET idempotency_key = NULL WHERE id = $1", existing["id"]
        )
    await connection.fetchval(insert, *args)
    return None
