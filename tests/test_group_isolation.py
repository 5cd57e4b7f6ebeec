"""A group commit never fails a request for what another request of its group holds."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from service.config import Settings
from service.db.base import utcnow
from service.db.engine import create_pg_pool
from service.lib.ids import new_id, new_ids
from service.messages.records import IngestJob
from service.messages.splitting import Item
from service.messages.writer import GroupCommitWriter
from tests.conftest import Org, app_on_this_loop, wait_until_blocked


def _job(org_id: uuid.UUID, queue_id: uuid.UUID, content_type: str) -> IngestJob:
    return IngestJob(
        org_id=org_id,
        queue_id=queue_id,
        batch_id=new_id(),
        received_at=utcnow(),
        content_type=content_type,
        items=[Item(0, b"{}")],
        message_ids=new_ids(1),
        failures=[],
    )


async def test_one_refused_job_fails_alone_and_the_rest_of_its_group_is_stored(
    org: Org, settings: Settings
) -> None:
    queue_id = uuid.UUID((await org.create_queue())["id"])
    pool = await create_pg_pool(settings, 4)
    writer = GroupCommitWriter(pool, writers=1)
    try:
        # Postgres refuses a NUL in a text column: this job's statement cannot run.
        jobs = [_job(org.id, queue_id, "application/json") for _ in range(4)]
        jobs.insert(2, _job(org.id, queue_id, "text/\x00plain"))
        results = await asyncio.gather(*(writer.write(job) for job in jobs), return_exceptions=True)
        assert [isinstance(r, asyncpg.PostgresError) for r in results] == [
            False, False, True, False, False,
        ]  # fmt: skip
        stored = await pool.fetchval("SELECT count(*) FROM messages WHERE queue_id = $1", queue_id)
        assert stored == 4
    finally:
        await writer.close()
        await pool.close()


async def test_a_connection_lost_mid_write_answers_503_saying_the_outcome_is_unknown(
    org: Org, settings: Settings
) -> None:
    queue_id = (await org.create_queue())["id"]
    blocker = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    async with app_on_this_loop(settings, org.headers) as (_, client):
        try:
            async with blocker.transaction():
                # Holds the queue row, so the ingest statement waits on it mid-write.
                await blocker.execute("SELECT 1 FROM queues WHERE id = $1 FOR UPDATE", queue_id)
                request = asyncio.create_task(
                    client.post(
                        f"/v1/queues/{queue_id}/messages",
                        content=b"{}",
                        headers={"sync": "1"},
                    )
                )
                blocked = await wait_until_blocked(blocker)
                await blocker.execute("SELECT pg_terminate_backend($1)", blocked)
                response = await request
        finally:
            await blocker.close()
    assert response.status_code == 503
    assert "may have been stored" in response.json()["detail"]
    assert "retry-after" in response.headers
