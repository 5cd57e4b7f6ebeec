"""The retention purge: old messages go with their payloads and deliveries, open work stays,
and a deleted queue leaves nothing behind (real Postgres)."""

from datetime import timedelta

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.config import Settings
from service.db.base import utcnow
from service.db.engine import create_pg_pool
from tests.conftest import Org
from workers.retention import purge_expired


async def _ingest(org: Org, queue_id: str, count: int) -> list[str]:
    body = b"".join(b'{"n": %d}\n' % n for n in range(count))
    response = await org.post(
        f"/v1/queues/{queue_id}/messages",
        content=body,
        headers={"content-type": "application/x-ndjson", "Sync": "1"},
    )
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["messages"]]


async def _count(session: AsyncSession, sql: str, queue_id: str) -> int:
    return int((await session.execute(text(sql), {"q": queue_id})).scalar_one())


MESSAGES = "SELECT count(*) FROM messages WHERE queue_id = CAST(:q AS uuid)"
LISTENER_DELIVERIES = (
    "SELECT (SELECT count(*) FROM deliveries WHERE listener_id = CAST(:q AS uuid))"
    " + (SELECT count(*) FROM attempts WHERE listener_id = CAST(:q AS uuid))"
)
ORPHANS = (
    "SELECT (SELECT count(*) FROM messages WHERE queue_id = CAST(:q AS uuid))"
    " + (SELECT count(*) FROM batches WHERE queue_id = CAST(:q AS uuid))"
    " + (SELECT count(*) FROM deleted_queues WHERE queue_id = CAST(:q AS uuid))"
)


async def test_purge_keeps_what_retention_and_open_deliveries_ask_for(
    org: Org, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    short = (await org.post("/v1/queues", json={"name": "short", "retention_days": 1})).json()
    short_id = short["queue"]["id"]
    default = await org.create_queue()
    held = await org.create_queue()
    await org.patch(f"/v1/queues/{held['id']}", json={"retention_days": 1})
    await org.create_listener(held["id"], enabled=False)  # its deliveries stay pending
    doomed = await org.create_queue()
    doomed_listener = await org.create_listener(doomed["id"], enabled=False)
    for queue_id in (short_id, default["id"], held["id"], doomed["id"]):
        await _ingest(org, queue_id, 30)
    assert (await org.delete(f"/v1/queues/{doomed['id']}")).status_code == 204

    pool: asyncpg.Pool = await create_pg_pool(settings, max_size=2)
    try:
        counts = await purge_expired(
            pool, default_days=30, now=utcnow() + timedelta(days=2), batch=7
        )
    finally:
        await pool.close()

    async with sessionmaker() as session:
        assert await _count(session, MESSAGES, short_id) == 0
        assert await _count(session, MESSAGES, default["id"]) == 30
        assert await _count(session, MESSAGES, held["id"]) == 30
        assert await _count(session, ORPHANS, doomed["id"]) == 0
        assert await _count(session, LISTENER_DELIVERIES, doomed_listener["id"]) == 0
    # The deleted queue's rows may also be purged by a test worker's own cron run (every
    # minute, same database), so only the short queue's, which needs this call's clock
    # two days ahead, are surely counted here; the deleted queue's are checked above.
    assert counts["messages"] >= 30 and counts["batches"] >= 1
