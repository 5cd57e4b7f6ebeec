"""Console page times on a seeded database: one queue with 1,000,000 messages (quick:
100,000), 100 listeners, one of which has a delivery and an attempt for every message (1 in
100 failed), each page requested in turn while signed in, timed from request to last
byte over loopback (the server's time plus a loopback round trip)."""

from __future__ import annotations

import re
import statistics
import time
import uuid
from typing import Any

import aiohttp
import asyncpg

from bench.backlog import SEED_CHUNK, org_of
from bench.harness import Bench

SEED = """
WITH batch AS (
    INSERT INTO batches (id, org_id, queue_id, received_at, accepted, rejected)
    VALUES (herald_uuid7(), $1, $2, now() - interval '2 hours', $5::int - $4::int + 1, 0)
    RETURNING id
), message AS (
    INSERT INTO messages (id, org_id, queue_id, batch_id, index, content_type, size, received_at,
                          event_type, body)
    SELECT herald_uuid7(), $1, $2, batch.id, g, 'application/json', 300,
           now() - interval '2 hours', 'invoice.paid',
           convert_to('{"n": ' || g || ', "pad": "' || repeat('x', 280) || '"}', 'UTF8')
      FROM batch, generate_series($4::int, $5::int) g
    RETURNING id, index
), delivery AS (
    INSERT INTO deliveries (message_id, listener_id, status, attempts, next_attempt_at,
                            last_status_code, delivered_at, created_at)
    SELECT message.id, $3,
           CASE WHEN message.index % 100 = 0 THEN 'failed' ELSE 'delivered' END, 1, NULL,
           CASE WHEN message.index % 100 = 0 THEN 503 ELSE 200 END,
           CASE WHEN message.index % 100 = 0 THEN NULL ELSE now() END, now()
      FROM message
    RETURNING message_id, last_status_code
)
INSERT INTO attempts (listener_id, message_id, number, started_at, duration_ms, status_code,
                      response_body)
SELECT $3, message_id, 1, now(), 5, last_status_code, 'ok' FROM delivery
"""
# A day of activity for every listener of the queue (the charts' and rates' rows), and a
# backlog over the console's count cap on a second listener ($2 queue, $3 listener).
SEED_ACTIVITY = """
INSERT INTO delivery_minutes (listener_id, minute, org_id, queue_id, delivered, retried, failed,
                              le_10, le_25, le_50, le_100, le_250, le_500, le_1000, le_2500,
                              le_5000, le_10000, le_30000)
SELECT l.id, date_trunc('minute', now()) - make_interval(mins => g), l.org_id, l.queue_id,
       100, 2, 1, 40, 80, 95, 100, 101, 102, 103, 103, 103, 103, 103
  FROM listeners l, generate_series(0, 1439) g
 WHERE l.queue_id = $1
"""
SEED_INGEST_RATE = """
INSERT INTO ingest_minutes (queue_id, minute, org_id, messages)
SELECT id, date_trunc('minute', now()) - make_interval(mins => g), org_id, 700
  FROM queues, generate_series(0, 1439) g
 WHERE id = $1
"""
SEED_BACKLOG = """
INSERT INTO deliveries (message_id, listener_id, status, attempts, next_attempt_at, created_at)
SELECT id, $2, 'pending', 0, now(), now() FROM messages WHERE queue_id = $1 ORDER BY id LIMIT $3
"""
BACKLOG = 20_000
TURNS = 20
NOWHERE = "http://127.0.0.1:9/none"
TARGET_MS = 200


async def seed(
    dsn: str, org_id: str, queue_id: str, listener_id: str, backlog_id: str, messages: int
) -> str:
    """Seeds the messages, a day of activity and a backlog; returns the id of a message
    near the middle."""
    connection = await asyncpg.connect(dsn)
    try:
        ids = [uuid.UUID(org_id), uuid.UUID(queue_id), uuid.UUID(listener_id)]
        for start in range(1, messages + 1, SEED_CHUNK):
            end = min(messages, start + SEED_CHUNK - 1)
            await connection.execute(SEED, *ids, start, end)
        await connection.execute(SEED_ACTIVITY, ids[1])
        await connection.execute(SEED_INGEST_RATE, ids[1])
        await connection.execute(SEED_BACKLOG, ids[1], uuid.UUID(backlog_id), BACKLOG)
        await connection.execute("ANALYZE")
        seeded = await connection.fetchval(
            "SELECT count(*) FROM deliveries WHERE listener_id = $1", uuid.UUID(listener_id)
        )
        assert seeded == messages, f"seeded {seeded} deliveries, not {messages}"
        middle = await connection.fetchval(
            "SELECT id FROM messages WHERE queue_id = $1 AND index = $2",
            uuid.UUID(queue_id),
            messages // 2,
        )
        return str(middle)
    finally:
        await connection.close()


async def sign_in(session: aiohttp.ClientSession, key: str) -> None:
    async with session.get("/console/sign-in") as response:
        token = re.search(r'name="_csrf_token" value="([^"]+)"', await response.text())
    assert token is not None
    form = {"_csrf_token": token.group(1), "api_key": key, "next": "/console"}
    async with session.post("/console/sign-in", data=form, allow_redirects=False) as response:
        assert response.status == 303, await response.text()


async def console_pages(bench: Bench) -> list[tuple[str, dict[str, Any]]]:
    messages = bench.pick(full=1_000_000, quick=100_000, smoke=1_000)
    api, url = await bench.api()
    headers, queue_id = await bench.org(url)
    listener_id = await bench.listener(url, headers, queue_id, notify_url=NOWHERE, enabled=False)
    backlog_id = await bench.listener(url, headers, queue_id, notify_url=NOWHERE, enabled=False)
    for _ in range(98):
        await bench.listener(url, headers, queue_id, notify_url=NOWHERE, enabled=False)
    org_id = await org_of(bench.dsn, queue_id)
    middle = await seed(bench.dsn, org_id, queue_id, listener_id, backlog_id, messages)
    await bench.settle(bench.dsn)
    listener = f"/console/queues/{queue_id}/listeners/{listener_id}"
    pages = {
        "queues": "/console",
        "queues-day": "/console?window=day",
        "queue": f"/console/queues/{queue_id}",
        "queue-day": f"/console/queues/{queue_id}?window=day",
        "listener": listener,
        "listener-day": f"{listener}?window=day",
        "listener-failed": f"{listener}?status=failed",
        "listener-pending": f"{listener}?status=pending",
        "listener-type-none": f"{listener}?event_type=no.such.type",
        "listener-window": f"{listener}?since=2000-01-01T00:00&until=2000-01-02T00:00",
        "message": f"/console/queues/{queue_id}/messages/{middle}",
        "batches": f"/console/queues/{queue_id}/batches",
    }
    times: dict[str, list[float]] = {name: [] for name in pages}
    jar = aiohttp.CookieJar(unsafe=True)  # cookies of an IP address host
    async with aiohttp.ClientSession(base_url=url, cookie_jar=jar) as session:
        await sign_in(session, headers["X-API-KEY"])
        for _ in range(bench.pick(full=TURNS, quick=TURNS, smoke=2)):
            for name, path in pages.items():
                started = time.perf_counter()
                async with session.get(path) as response:
                    await response.read()
                    assert response.status == 200, (path, response.status)
                times[name].append((time.perf_counter() - started) * 1000)
    await bench.stop(api)
    p50 = {name: statistics.median(samples) for name, samples in times.items()}
    slowest = max(p50, key=lambda name: p50[name])
    note = ", ".join(f"{name} {ms:.1f}" for name, ms in p50.items())
    return [
        (
            "console-pages",
            {
                "value": p50[slowest],
                "unit": "ms (p50, slowest page)",
                "target": TARGET_MS,
                "baseline": None,
                "note": f"p50 ms per page on {messages:,} messages, slowest {slowest}: {note}",
            },
        )
    ]
