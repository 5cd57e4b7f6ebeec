"""Ingest under pressure: rate limits, an unavailable or read-only database, a killed API."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from service.app import create_app
from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from service.embedded.process import free_port
from service.migrate import upgrade
from tests.conftest import Org, assert_problem, make_settings, new_org


async def test_rate_limit_per_key_and_per_inlet_answers_429_with_retry_after(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    app = create_app(make_settings(rate_limit_per_s=5))
    async with AsyncTestClient(app=app, base_url="http://herald.test") as client:
        org = await new_org(sessionmaker, client)
        queue = await org.create_queue()
        created = await org.post(f"/v1/queues/{queue['id']}/inlets", json={"name": "x"})
        inlet_url = created.json()["inlet"]["url"]
        ingests = await asyncio.gather(
            *(org.post(f"/v1/queues/{queue['id']}/messages", content=b"x") for _ in range(20))
        )
        reads = await asyncio.gather(*(org.get("/v1/queues") for _ in range(20)))
        inlet_posts = await asyncio.gather(
            *(client.post(inlet_url, content=b"x") for _ in range(20))
        )
    for responses in (ingests, reads, inlet_posts):
        codes = [r.status_code for r in responses]
        assert codes.count(429) >= 10, codes
        limited = next(r for r in responses if r.status_code == 429)
        assert_problem(limited, 429)
        assert 1 <= int(limited.headers["retry-after"]) <= 2


async def _admin(sql: str) -> None:
    url = make_url(Settings().database_url).set(database="postgres")
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(sql))
    await engine.dispose()


@pytest.fixture
async def own_database() -> AsyncIterator[str]:
    name = f"herald_ro_{uuid.uuid4().hex[:12]}"
    await _admin(f"CREATE DATABASE {name}")
    url = make_url(Settings().database_url).set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, url)
    yield name
    await _admin(f"DROP DATABASE {name} WITH (FORCE)")


async def _disconnect_all(database: str) -> None:
    await _admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    )


async def _count(url: str, table: str) -> int:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        count = int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
    await engine.dispose()
    return count


async def test_read_only_database_gives_503_then_recovers_without_restart(
    own_database: str,
) -> None:
    settings = make_settings(
        database_url=make_url(Settings().database_url)
        .set(database=own_database)
        .render_as_string(hide_password=False)
    )
    engine = create_engine(settings)
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://herald.test") as client:
        org = await new_org(create_sessionmaker(engine), client)
        queue = await org.create_queue()
        path = f"/v1/queues/{queue['id']}/messages"
        await _admin(f"ALTER DATABASE {own_database} SET default_transaction_read_only = on")
        await _disconnect_all(own_database)
        refused = None
        for _ in range(5):  # the first request may meet a connection the terminate just closed
            refused = await org.post(path, content=b"x", headers={"sync": "1"})
            if refused.status_code == 503 and "retry-after" in refused.headers:
                break
        assert refused is not None
        assert_problem(refused, 503)
        assert int(refused.headers["retry-after"]) >= 1
        assert await _count(settings.database_url, "messages") == 0
        assert await _count(settings.database_url, "batches") == 0
        await _admin(f"ALTER DATABASE {own_database} SET default_transaction_read_only = off")
        await _disconnect_all(own_database)
        accepted = None
        for _ in range(5):
            accepted = await org.post(path, content=b"x", headers={"sync": "1"})
            if accepted.status_code == 200:
                break
        assert accepted is not None and accepted.status_code == 200
    await engine.dispose()
    assert await _count(settings.database_url, "messages") == 1


async def test_database_down_gives_503_with_retry_after() -> None:
    dead = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/herald"
    app = create_app(make_settings(database_url=dead))
    async with AsyncTestClient(app=app, base_url="http://herald.test") as client:
        response = await client.post(
            f"/v1/queues/{uuid.uuid4()}/messages", content=b"x", headers={"X-API-KEY": "hrld_any"}
        )
    assert_problem(response, 503)
    assert response.headers["retry-after"]


async def test_every_acknowledged_message_survives_a_sigkill_of_the_api(
    org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(queue["id"])
    port = free_port()
    env = {**os.environ, "HERALD_PORT": str(port), "HERALD_ALLOW_PRIVATE_TARGETS": "true"}
    api = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "service.cli", "api"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    acknowledged: list[str] = []
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=org.headers
        ) as client:
            await _wait_ready(client)
            path = f"/v1/queues/{queue['id']}/messages"

            async def send(n: int) -> None:
                body = b"".join(b'{"n": %d}\n' % (n * 10 + i) for i in range(10))
                response = await client.post(
                    path,
                    content=body,
                    headers={"content-type": "application/x-ndjson", "sync": "1"},
                )
                assert response.status_code == 200
                acknowledged.extend(m["id"] for m in response.json()["messages"])

            await asyncio.gather(*(send(n) for n in range(50)))
    finally:
        os.killpg(api.pid, signal.SIGKILL)
        await asyncio.wait_for(api.wait(), timeout=10)
    assert len(acknowledged) == 500
    async with sessionmaker() as session:
        stored = (
            await session.execute(
                text(
                    "SELECT count(*) FROM messages m"
                    " JOIN deliveries d ON d.message_id = m.id AND d.listener_id = :listener"
                    " WHERE m.id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": acknowledged, "listener": listener["id"]},
            )
        ).scalar_one()
    assert stored == 500


async def _wait_ready(client: httpx.AsyncClient, timeout_s: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        try:
            if (await client.get("/health/ready")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the API did not become ready")
