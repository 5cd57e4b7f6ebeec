"""Infrastructure faults under a running Herald: Redis restarted (its state and the wake-ups
of what was ingested meanwhile lost), every Postgres connection terminated, Postgres
restarted. Each asserts: no acknowledged message lost, every listener gets every message,
nothing left in flight past its lease; each prints the duplicates it saw."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.receiver import Receiver, wait_for
from tests.stack import Stack

LEASE_S = "3"


async def setup_listener(stack: Stack, receiver: Receiver, name: str) -> str:
    async with stack.client() as client:
        queue = (await client.post("/v1/queues", json={"name": name})).json()["queue"]
        response = await client.post(
            f"/v1/queues/{queue['id']}/listeners",
            json={"name": name, "notify_url": receiver.url(name)},
        )
        assert response.status_code == 200, response.text
    return str(queue["id"])


async def ingest(stack: Stack, queue_id: str, count: int, start: int = 0) -> set[str]:
    """The ids of the messages acknowledged (sync 200); an error acknowledges nothing."""
    body = b"".join(b'{"n": %d}\n' % n for n in range(start, start + count))
    try:
        async with stack.client() as client:
            response = await client.post(
                f"/v1/queues/{queue_id}/messages",
                content=body,
                headers={"content-type": "application/x-ndjson", "sync": "1"},
            )
    except httpx.HTTPError:
        return set()
    if response.status_code != 200:
        assert response.status_code == 503, response.text  # refused cleanly, never a 500
        assert response.headers["retry-after"]
        return set()
    return {m["id"] for m in response.json()["messages"]}


def received(receiver: Receiver, name: str) -> Counter[str]:
    return Counter(r.headers["herald-message-id"] for r in receiver.at(name))


async def assert_all_delivered(
    stack: Stack, receiver: Receiver, name: str, acknowledged: set[str], fault: str
) -> None:
    await wait_for(
        lambda: acknowledged <= set(received(receiver, name)),
        timeout_s=60,
        what=f"every acknowledged message after {fault}",
    )

    async def settled() -> bool:
        # An outcome whose record was lost stays in flight until its lease runs out, then
        # goes again (a duplicate): it must not stay in flight past the lease.
        rows = await stack.sql("SELECT status, count(*) FROM deliveries GROUP BY status")
        return dict(rows) == {"delivered": len(acknowledged)}

    await wait_for(settled, timeout_s=30, what="every delivery recorded as delivered")
    counts = received(receiver, name)
    duplicates = sum(counts.values()) - len(counts)
    print(f"\n{fault}: {len(acknowledged)} acknowledged, 0 lost, {duplicates} duplicates")


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    stack = await Stack(HERALD_LEASE_S=LEASE_S).start()
    yield stack
    await stack.stop()


async def test_redis_restarted_loses_nothing_even_what_was_ingested_while_it_was_down(
    stack: Stack, receiver: Receiver
) -> None:
    queue_id = await setup_listener(stack, receiver, "r")
    acknowledged = await ingest(stack, queue_id, 50)
    await wait_for(lambda: len(received(receiver, "r")) >= 50, what="first 50")

    await asyncio.to_thread(stack.valkey.stop)
    # Committed while no wake-up can be sent: a crash between commit and wake-up.
    during = await ingest(stack, queue_id, 50, start=50)
    assert len(during) == 50, "ingest keeps working without Redis"
    acknowledged |= during
    await asyncio.to_thread(stack.valkey.start)  # same port, empty: every Redis key lost
    acknowledged |= await ingest(stack, queue_id, 50, start=100)

    await assert_all_delivered(stack, receiver, "r", acknowledged, "Redis restart")
    assert stack.worker is not None and stack.worker.returncode is None, "the worker survived"


async def test_terminating_every_postgres_connection_loses_nothing(
    stack: Stack, receiver: Receiver
) -> None:
    queue_id = await setup_listener(stack, receiver, "t")
    acknowledged: set[str] = set()
    progress = asyncio.Condition()

    async def ingester() -> None:
        for n in range(30):
            acknowledged.update(await ingest(stack, queue_id, 10, start=n * 10))
            async with progress:
                progress.notify_all()

    async def terminator() -> int:
        engine = create_async_engine(stack.database_url, isolation_level="AUTOCOMMIT")
        terminated = 0
        for threshold in (50, 150, 250):
            async with progress:
                await progress.wait_for(lambda t=threshold: len(acknowledged) >= t)
            async with engine.connect() as connection:
                result = await connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                terminated += int(result.scalar_one())
        await engine.dispose()
        return terminated

    terminated, _ = await asyncio.wait_for(asyncio.gather(terminator(), ingester()), 120)
    assert terminated > 0
    assert len(acknowledged) >= 250  # the API reconnected and kept acknowledging
    await assert_all_delivered(
        stack, receiver, "t", acknowledged, f"pg_terminate_backend x3 ({terminated} connections)"
    )


async def test_postgres_restarted_gives_503s_then_everything_goes_out(receiver: Receiver) -> None:
    stack = await Stack(own_postgres=True, HERALD_LEASE_S=LEASE_S).start()
    try:
        assert stack.postgres is not None
        queue_id = await setup_listener(stack, receiver, "p")
        acknowledged = await ingest(stack, queue_id, 100)
        await asyncio.to_thread(stack.postgres.stop)  # deliveries and records in progress
        assert await ingest(stack, queue_id, 10, start=100) == set()  # 503, nothing taken
        await asyncio.to_thread(stack.postgres.start)
        await stack.wait_ready()
        acknowledged |= await ingest(stack, queue_id, 100, start=200)
        assert len(acknowledged) == 200
        await assert_all_delivered(stack, receiver, "p", acknowledged, "Postgres restart")
    finally:
        await stack.stop()
