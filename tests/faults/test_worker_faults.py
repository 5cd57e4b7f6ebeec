"""Worker faults: SIGKILL mid-delivery, lost Redis state, graceful SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.receiver import Receiver, wait_for
from tests.stack import Stack


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    stack = await Stack(HERALD_LEASE_S="2", HERALD_WORKER_GRACE_S="5").start()
    yield stack
    await stack.stop()


async def _setup(stack: Stack, receiver: Receiver, name: str) -> tuple[str, str]:
    async with stack.client() as client:
        queue = (await client.post("/v1/queues", json={"name": name})).json()["queue"]
        listener = (
            await client.post(
                f"/v1/queues/{queue['id']}/listeners",
                json={"name": name, "notify_url": receiver.url(name)},
            )
        ).json()["listener"]
    return queue["id"], listener["id"]


async def _ingest(stack: Stack, queue_id: str, count: int) -> None:
    body = b"".join(b'{"n": %d}\n' % n for n in range(count))
    async with stack.client() as client:
        response = await client.post(
            f"/v1/queues/{queue_id}/messages",
            content=body,
            headers={"content-type": "application/x-ndjson"},
        )
        assert response.status_code == 202


async def _open_count(stack: Stack) -> int:
    rows = await stack.sql(
        "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'in_flight')"
    )
    return int(rows[0][0])


async def test_sigkill_mid_delivery_delivers_again_with_the_same_webhook_id(
    stack: Stack, receiver: Receiver
) -> None:
    queue_id, _ = await _setup(stack, receiver, "victim")
    release = asyncio.Event()

    async def hold_first(_: web.Request, n: int) -> web.StreamResponse:
        if n <= 5:
            await release.wait()
        return web.Response(text="ok")

    receiver.on("victim", hold_first)
    await _ingest(stack, queue_id, 5)
    await wait_for(lambda: len(receiver.at("victim")) == 5, what="five in flight")
    await stack.kill(stack.worker)
    release.set()
    await stack.start_worker()
    await wait_for(
        lambda: len(receiver.at("victim")) == 10, timeout_s=30, what="redelivered after the lease"
    )
    first = {r.headers["webhook-id"] for r in receiver.at("victim")[:5]}
    again = {r.headers["webhook-id"] for r in receiver.at("victim")[5:]}
    assert first == again
    await wait_for(lambda: _none_open(stack), what="nothing pending or in flight")
    print("\nworker SIGKILL: 5 acknowledged, 0 lost, 5 duplicates (the 5 in flight)")


async def _none_open(stack: Stack) -> bool:
    return await _open_count(stack) == 0


async def test_flushall_loses_nothing_the_sweeper_finds_the_work(
    stack: Stack, receiver: Receiver
) -> None:
    queue_id, _ = await _setup(stack, receiver, "flushed")
    await stack.kill(stack.worker)
    await _ingest(stack, queue_id, 300)
    redis = __import__("redis").asyncio.Redis.from_url(stack.valkey.url)
    assert await redis.dbsize() > 0  # the wake-up is waiting in Redis
    await redis.flushall()
    await redis.aclose()
    await stack.start_worker()
    await wait_for(
        lambda: len(receiver.at("flushed")) >= 300, timeout_s=30, what="all 300 delivered"
    )
    assert {r.body for r in receiver.at("flushed")} == {b'{"n": %d}' % n for n in range(300)}
    await wait_for(lambda: _none_open(stack), what="nothing pending or in flight")
    duplicates = len(receiver.at("flushed")) - 300
    print(f"\nRedis FLUSHALL: 300 acknowledged, 0 lost, {duplicates} duplicates")


async def test_sigterm_finishes_what_is_in_flight_within_the_grace(
    stack: Stack, receiver: Receiver
) -> None:
    queue_id, _ = await _setup(stack, receiver, "graceful")

    async def slow(_: web.Request, __: int) -> web.StreamResponse:
        await asyncio.sleep(1.0)
        return web.Response(text="ok")

    receiver.on("graceful", slow)
    await _ingest(stack, queue_id, 40)
    await wait_for(lambda: len(receiver.at("graceful")) >= 16, what="a full window in flight")
    await stack.kill(stack.worker, signal.SIGTERM)
    rows = await stack.sql("SELECT count(*) FROM deliveries WHERE status = 'in_flight'")
    assert rows[0][0] == 0  # finished (or given back), none left leased
    delivered = await stack.sql("SELECT count(*) FROM deliveries WHERE status = 'delivered'")
    assert delivered[0][0] >= 16
