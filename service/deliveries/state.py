"""Delivery state: the statuses a delivery goes through, the moves between them, and every
statement that makes one. The API and the workers run these statements; no other module
writes a delivery's status.

                       fan-out (ingest; replay of what a listener never got)
                          |
                          v
    retry, replay ---> PENDING ----- claim -----> IN_FLIGHT ---- record ----> DELIVERED
                        ^   ^                      |  |  |
                        |   +-- release, expire ---+  |  +------ record ----> FAILED
                        +--------- record: retry -----+
    cancel:  PENDING, IN_FLIGHT -> CANCELLED  (listener deleted or gone, queue deleted)
    retry, replay:  DELIVERED, FAILED, CANCELLED -> PENDING  (a fresh schedule)
    purge:  a delivery leaves with its message once past retention, never while open

Statements use asyncpg's `$n` parameters; the API runs them on its request session
(`execute` below), so they join the request's transaction. Each statement finds delivery
rows through their key (listener_id, message_id): see the planner notes on the claims.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from service.operational_events.outbox import OperationalEvent, emit


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


PENDING, IN_FLIGHT, DELIVERED, FAILED, CANCELLED = DeliveryStatus
OPEN = (PENDING, IN_FLIGHT)  # may still be attempted
FINISHED = (DELIVERED, FAILED, CANCELLED)  # what a retry or a replay may start again


def sql_list(statuses: Iterable[str]) -> str:
    """`('a', 'b')`: statuses as an SQL list (they are fixed words, never user input)."""
    return "(" + ", ".join(f"'{status}'" for status in statuses) + ")"


async def execute(session: AsyncSession, statement: str, *args: Any) -> CursorResult[Any]:
    """Runs one of these statements in the session's transaction."""
    connection = await session.connection()
    return await connection.exec_driver_sql(statement, args)


# --- Fan-out: which listeners get a message, and their pending deliveries ---------------


# Listener `l` gets message `m` of its queue unless it is selective (it has filter_types
# or a filter): then only when `verdicts` (a relation of message_id, listener_id) holds
# the pair. Which selective listeners want a message is judged in Python, once, by
# service/routing (the same judge for ingest and replay); these statements only apply it.
def gets_message(verdicts: str) -> str:
    return (
        "l.queue_id = m.queue_id AND (NOT l.selective OR (m.id, l.id) IN"
        f" (SELECT message_id, listener_id FROM {verdicts}))"
    )


# Listener `l` takes new messages (a paused listener keeps them for later).
RECEIVING = "l.status IN ('active', 'paused') AND l.deleted_at IS NULL"


def fan_out(messages: str, *, listeners: str, verdicts: str, at: str) -> str:
    """INSERT of a pending delivery for each message of `messages` (rows `m` with id and
    queue_id) and each listener `l` that gets it among those matching `listeners`, due and
    created `at` (an SQL expression)."""
    return f"""
    INSERT INTO deliveries (message_id, listener_id, ordered, status, attempts,
                            next_attempt_at, created_at)
    SELECT m.id, l.id, l.ordered, '{PENDING}', 0, {at}, {at}
      FROM {messages} m JOIN listeners l ON {listeners} AND {gets_message(verdicts)}
    """


# Ingest's part of its one statement (service/messages/store.py): `new_message` is the
# messages it inserted, `verdict` the pairs its judge gave.
INGEST_FAN_OUT = (
    fan_out("new_message", listeners=RECEIVING, verdicts="verdict", at="m.received_at")
    + "RETURNING listener_id"
)

# A test message (console): one message, in a batch of its own, delivered to listener $8
# alone whatever its filters say. $1 batch, $2 org, $3 queue, $4 message (above $1),
# $5 content type, $6 body, $7 event type.
TEST_MESSAGE = """
    WITH batch AS (
        INSERT INTO batches (id, org_id, queue_id, received_at, accepted, rejected,
                             last_message_id)
        VALUES ($1, $2, $3, now(), 1, 0, $4)
    ), message AS (
        INSERT INTO messages (id, org_id, queue_id, batch_id, index, content_type, size,
                              received_at, has_original_headers, event_type, body)
        VALUES ($4, $2, $3, $1, 0, $5, length($6::bytea), now(), false, $7, $6::bytea)
        RETURNING id, queue_id
    )
    """ + fan_out(
    "message",
    listeners=f"l.id = $8 AND {RECEIVING}",
    verdicts="(SELECT $4::uuid AS message_id, $8::uuid AS listener_id) v",
    at="now()",
)

# --- Retry and replay (API) --------------------------------------------------------------

# $1 listener, $2 message.
RETRY = f"""
    UPDATE deliveries d
       SET status = '{PENDING}', next_attempt_at = now(), retry_base = d.attempts,
           lease_expires_at = NULL, ordered = l.ordered
      FROM listeners l
     WHERE l.id = $1 AND d.listener_id = l.id AND d.message_id = $2
       AND d.status IN {sql_list(FINISHED)}
    RETURNING d.message_id
"""
# How many messages a replay window holds, counted up to $4 (a replay takes at most
# replay_max_messages): $1 queue, $2 since, $3 until.
REPLAY_WINDOW_SIZE = """
    SELECT count(*) FROM (
        SELECT 1 FROM messages
         WHERE queue_id = $1 AND received_at >= $2 AND received_at < $3
         LIMIT $4
    ) w
"""
# A window's deliveries that did not get through, started again with a fresh schedule:
# $1 queue, $2 listener, $3 since, $4 until, $5 the statuses to start again, $6 ordered.
REPLAY_FINISHED = f"""
    UPDATE deliveries d
       SET status = '{PENDING}', next_attempt_at = now(), retry_base = d.attempts,
           lease_expires_at = NULL, ordered = $6
      FROM messages m
     WHERE m.queue_id = $1 AND m.received_at >= $3 AND m.received_at < $4
       AND d.listener_id = $2 AND d.message_id = m.id
       AND d.status = ANY($5::text[])
"""
# The window's messages the listener never got a delivery for (it was disabled, or not
# yet registered) get one now: $1 queue, $2 listener, $3 since, $4 until, and for a
# selective listener the messages it wants, $5 (see MISSED_MESSAGES).
REPLAY_MISSED = (
    fan_out(
        "(SELECT id, queue_id FROM messages"
        " WHERE queue_id = $1 AND received_at >= $3 AND received_at < $4)",
        listeners="l.id = $2",
        verdicts="unnest($5::uuid[], array_fill($2::uuid, ARRAY[cardinality($5::uuid[])]))"
        " AS v(message_id, listener_id)",
        at="now()",
    )
    + "ON CONFLICT (listener_id, message_id) DO NOTHING"
)
# What a selective listener's replay judges, a page at a time after message $5: the
# window's messages it has no delivery for, with their bodies when $6 (its filter reads
# them); $1 queue, $2 listener, $3 since, $4 until, $7 the page size.
MISSED_MESSAGES = """
    SELECT m.id, m.event_type, CASE WHEN $6 THEN m.body END AS body
      FROM messages m
     WHERE m.queue_id = $1 AND m.received_at >= $3 AND m.received_at < $4 AND m.id > $5
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.listener_id = $2 AND d.message_id = m.id)
     ORDER BY m.id
     LIMIT $7
"""

# --- Claim and release (worker) ----------------------------------------------------------

# $1 is the listener, $2 its queue: the keys of both tables start with them. Every row is
# found by its key (an ANY array or a scalar subquery, a LATERAL lookup per claimed row;
# OFFSET 0 keeps it from being flattened), never by a join the planner may reorder: with
# statistics that had not seen a new listener's rows yet, the UPDATE ... FROM due join ran
# as a nested loop over all of the listener's deliveries for every claimed one (2.4 s per
# 256-row claim on 20,000 deliveries; as key lookups 10 ms), and a join to messages as a
# hash join over the queue's messages.
# An inlet message's headers are its batch's, looked up only for inlet messages.
CLAIMED_COLUMNS = """
    SELECT c.message_id, c.attempts, c.retry_base, m.content_type, m.event_type,
           m.original_headers, m.body
      FROM claimed c
      CROSS JOIN LATERAL (
          SELECT content_type, event_type, body,
                 CASE WHEN has_original_headers
                      THEN (SELECT original_headers FROM batches WHERE id = messages.batch_id)
                 END AS original_headers
            FROM messages
           WHERE queue_id = $2 AND id = c.message_id
          OFFSET 0
      ) m
"""
# $3 how many, $4 the lease in seconds, $5 a byte budget: the claim stops before the
# delivery whose body would take it past the budget (the first is claimed whatever its size).
CLAIM_DUE = (
    f"""
    WITH candidates AS (
        SELECT message_id, next_attempt_at FROM deliveries
         WHERE listener_id = $1 AND status = '{PENDING}' AND next_attempt_at <= now()
         ORDER BY next_attempt_at
         LIMIT $3
         FOR UPDATE SKIP LOCKED
    ), sized AS (
        SELECT c.message_id,
               sum(m.size) OVER (ORDER BY c.next_attempt_at, c.message_id) - m.size AS before
          FROM candidates c
          CROSS JOIN LATERAL (
              SELECT size FROM messages
               WHERE queue_id = $2 AND id = c.message_id
              OFFSET 0
          ) m
    ), claimed AS (
        UPDATE deliveries d
           SET status = '{IN_FLIGHT}', attempts = d.attempts + 1,
               lease_expires_at = now() + make_interval(secs => $4)
         WHERE d.listener_id = $1
           AND d.message_id = ANY(ARRAY(SELECT message_id FROM sized WHERE before < $5))
        RETURNING d.message_id, d.attempts, d.retry_base
    )
    """
    + CLAIMED_COLUMNS
)
# Ordered listeners: only the oldest unfinished delivery may go, and only when it is due.
# The listener row lock serialises concurrent claimers of the same listener. $3 the lease.
CLAIM_OLDEST = (
    f"""
    WITH owner AS (
        SELECT id FROM listeners WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED
    ), oldest AS (
        SELECT d.message_id, d.status, d.next_attempt_at FROM deliveries d, owner
         WHERE d.listener_id = owner.id AND d.ordered AND d.status IN {sql_list(OPEN)}
         ORDER BY d.message_id
         LIMIT 1
    ), claimed AS (
        UPDATE deliveries d
           SET status = '{IN_FLIGHT}', attempts = d.attempts + 1,
               lease_expires_at = now() + make_interval(secs => $3)
         WHERE d.listener_id = $1
           AND d.message_id = (SELECT message_id FROM oldest
                                WHERE status = '{PENDING}' AND next_attempt_at <= now())
        RETURNING d.message_id, d.attempts, d.retry_base
    )
    """
    + CLAIMED_COLUMNS
)
# Claimed and not sent (the drain stopped): back at once, the attempt not spent.
RELEASE = f"""
    UPDATE deliveries
       SET status = '{PENDING}', attempts = attempts - 1, lease_expires_at = NULL,
           next_attempt_at = now()
     WHERE listener_id = $1 AND message_id = ANY($2::uuid[]) AND status = '{IN_FLIGHT}'
"""

# --- Record (worker) ---------------------------------------------------------------------

# One statement, so one round trip and no BEGIN/COMMIT of its own: the delivery rows take
# the outcome and the attempts log gains a row each. $1 is an attempt_outcome[] (migration
# 0008) whose status is the delivery's next one (PENDING, DELIVERED or FAILED). The guard
# on status and attempts keeps a late result (after the lease ran out and the delivery was
# claimed again, or after it was cancelled) from overwriting newer state; its attempt is
# still logged. Times come as unix seconds: a float encodes several times faster than a
# datetime.
#
# Each delivery row is found by its key, then updated by its ctid: the plan is then one
# lookup per outcome whatever the statistics say. Joined to the outcomes by key, with the
# statistics seeing almost no row in flight (the normal case), the planner scanned the
# whole table and compared every in-flight row with every outcome: 174 ms for 512 outcomes
# on 50,000 deliveries instead of 7. The status the guard expects comes from the outcomes'
# side for the same reason (as a constant, its estimate of one row made a generic plan
# compare each row with each outcome). A row that another transaction changes during the
# statement is skipped (its attempt is still logged). That change is almost always one the
# guard refuses anyway (lease expired, cancelled); the exception, a listener made ordered
# while its deliveries are in flight, leaves the delivery to be sent again after its lease.
# What a delivery.failed event says, from a row `r` of RECORD_OUTCOMES' `failed`.
FAILED_DATA = (
    "'message_id', r.message_id, 'listener_id', r.listener_id, 'queue_id', r.queue_id,"
    " 'event_type', r.event_type, 'attempts', r.attempts,"
    " 'last_status_code', r.last_status_code, 'last_error', r.last_error"
)
RECORD_OUTCOMES = f"""
    WITH v AS (
        SELECT o.*, to_timestamp(o.started_at) AS started
          FROM unnest($1::attempt_outcome[]) o
    ), target AS MATERIALIZED (
        SELECT v.*, found.ctid AS row_ctid, '{IN_FLIGHT}'::text AS open_status
          FROM v CROSS JOIN LATERAL (
              SELECT ctid FROM deliveries
               WHERE listener_id = v.listener_id AND message_id = v.message_id
              OFFSET 0
          ) found
    ), updated AS (
        UPDATE deliveries d
           SET status = t.status, next_attempt_at = to_timestamp(t.next_attempt_at),
               lease_expires_at = NULL, last_status_code = t.status_code, last_error = t.error,
               delivered_at = CASE WHEN t.status = '{DELIVERED}'
                                   THEN t.started + make_interval(secs => t.duration_ms / 1000.0)
                              END
          FROM target t
         WHERE d.ctid = t.row_ctid AND d.status = t.open_status AND d.attempts = t.number
        RETURNING d.listener_id, d.message_id, d.status, d.attempts, d.last_status_code,
                  d.last_error
    ), failed AS (
        SELECT u.*, l.org_id, l.queue_id,
               (SELECT event_type FROM messages
                 WHERE queue_id = l.queue_id AND id = u.message_id) AS event_type
          FROM updated u JOIN listeners l ON l.id = u.listener_id
         WHERE u.status = '{FAILED}'
    ), event AS ({emit("failed", OperationalEvent.DELIVERY_FAILED, FAILED_DATA)})
    INSERT INTO attempts (listener_id, message_id, number, started_at, duration_ms,
                          status_code, error, response_body)
    SELECT listener_id, message_id, number, started, duration_ms, status_code, error,
           response_body
      FROM v
    ON CONFLICT (listener_id, message_id, number) DO NOTHING
"""

# --- Expire, cancel (worker and API) ------------------------------------------------------

# Leases that ran out (their worker died) go back to pending, $1 at a time. The rows are
# updated by the row address they were locked at (a TID scan), not through a join the
# planner could turn into a scan of the whole table.
EXPIRE_LEASES = f"""
    UPDATE deliveries
       SET status = '{PENDING}', lease_expires_at = NULL, next_attempt_at = now()
     WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM deliveries
         WHERE status = '{IN_FLIGHT}' AND lease_expires_at < now()
         ORDER BY lease_expires_at
         LIMIT $1
         FOR UPDATE SKIP LOCKED))
"""
# $1 the listeners whose open deliveries end.
CANCEL_OPEN = f"""
    UPDATE deliveries
       SET status = '{CANCELLED}', next_attempt_at = NULL, lease_expires_at = NULL
     WHERE listener_id = ANY($1::uuid[]) AND status IN {sql_list(OPEN)}
"""

# --- The listener's `ordered`, copied onto its open deliveries ------------------------------

# $1 the listener, $2 its new `ordered`.
SET_ORDERED = f"""
    UPDATE deliveries SET ordered = $2 WHERE listener_id = $1 AND status IN {sql_list(OPEN)}
"""
# An ingest statement that read the listener before it was made ordered wrote its
# deliveries unordered; the sweeper sets the flag on them ($1 the listeners).
ORDERED_STRAGGLERS = f"""
    UPDATE deliveries SET ordered = true
     WHERE listener_id = ANY($1::uuid[]) AND status = '{PENDING}' AND NOT ordered
"""

# --- Purge (worker) -----------------------------------------------------------------------

# Up to $3 messages of queue $1 older than id $2 go with their deliveries and attempts
# (found through the queue's listeners, $5), unless ($4) one of those deliveries is open.
PURGE_MESSAGES = f"""
    WITH doomed AS (
        SELECT m.id FROM messages m
         WHERE m.queue_id = $1 AND m.id < $2
           AND NOT ($4 AND EXISTS (SELECT FROM deliveries d
                                    WHERE d.listener_id = ANY($5::uuid[]) AND d.message_id = m.id
                                      AND d.status IN {sql_list(OPEN)}))
         ORDER BY m.id
         LIMIT $3
    ), gone_deliveries AS (
        DELETE FROM deliveries d USING doomed
         WHERE d.listener_id = ANY($5::uuid[]) AND d.message_id = doomed.id
    ), gone_attempts AS (
        DELETE FROM attempts a USING doomed
         WHERE a.listener_id = ANY($5::uuid[]) AND a.message_id = doomed.id
    )
    DELETE FROM messages m USING doomed WHERE m.queue_id = $1 AND m.id = doomed.id
"""
