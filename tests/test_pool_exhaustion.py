"""Database trouble answers in bounded time and tells no secrets: requests that find every
connection busy answer 503, and database errors never carry bound values."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.app import create_app
from service.config import Settings
from service.db.capacity import PoolsTooLarge
from service.db.engine import create_engine
from tests.conftest import (
    Org,
    app_on_this_loop,
    assert_problem,
    make_settings,
    wait_until_blocked,
)


async def test_a_request_waits_for_a_connection_at_most_the_pool_timeout(org: Org) -> None:
    queue_id = (await org.create_queue())["id"]
    settings = make_settings(db_pool_size=1, db_pool_timeout_s=0.5)
    blocker = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    async with app_on_this_loop(settings, org.headers) as (_, client):
        try:
            async with blocker.transaction():
                # The listener create holds the one connection while it waits on the queue.
                await blocker.execute("SELECT 1 FROM queues WHERE id = $1 FOR UPDATE", queue_id)
                create = asyncio.create_task(
                    client.post(
                        f"/v1/queues/{queue_id}/listeners",
                        json={"name": "l", "notify_url": "http://h/"},
                    )
                )
                await wait_until_blocked(blocker)
                busy = await client.get("/v1/queues")
        finally:
            await blocker.close()
        assert (await create).is_success
    assert_problem(busy, 503)
    assert busy.headers["retry-after"]


async def test_database_errors_never_carry_bound_values(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as raised:
                await connection.execute(text("SELECT 1 / 0 WHERE :v <> ''"), {"v": "whsec_s3cret"})
    finally:
        await engine.dispose()
    assert "whsec_s3cret" not in str(raised.value)


async def test_downloads_use_their_own_connections_and_ingest_goes_on_without_them(
    org: Org,
) -> None:
    queue_id = (await org.create_queue())["id"]
    async with app_on_this_loop(make_settings(export_pool_size=1), org.headers) as (app, client):
        ingested = await client.post(f"/v1/queues/{queue_id}/messages", content=b"{}")
        download = f"/v1/batches/{ingested.json()['batch_id']}/messages"
        assert (await client.get(download)).status_code == 200
        # A slow reader holds the only download connection.
        async with app.state.export_pool.acquire():
            assert_problem(await client.get(download), 503)
            again = await client.post(f"/v1/queues/{queue_id}/messages", content=b"{}")
            assert again.status_code == 202
        assert (await client.get(download)).status_code == 200


async def test_pools_the_server_cannot_hold_stop_the_api_at_start() -> None:
    app = create_app(make_settings(db_pool_size=1000))
    with pytest.raises(BaseExceptionGroup) as raised:  # the lifespan's task group
        async with app.lifespan():
            pass
    assert raised.group_contains(PoolsTooLarge, match="may open 1016 database connections")
