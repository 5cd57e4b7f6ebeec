"""Leases outlive attempts: a receiver slower than the configured lease margin, and
deliveries waiting for their rate limit, are each sent once (the sweeper releases only
leases whose attempts are over)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.receiver import Receiver, wait_for
from tests.stack import Stack

LEASE_MARGIN_S = 1  # the sweeper runs every second: a lease of 1 s alone expires mid-attempt


@pytest.fixture(scope="module")
async def stack() -> AsyncIterator[Stack]:
    stack = await Stack(HERALD_LEASE_S=str(LEASE_MARGIN_S)).start()
    yield stack
    await stack.stop()


async def _listener(stack: Stack, receiver: Receiver, name: str, **fields: object) -> str:
    async with stack.client() as client:
        queue = (await client.post("/v1/queues", json={"name": name})).json()["queue"]
        body = {"name": name, "notify_url": receiver.url(name), **fields}
        response = await client.post(f"/v1/queues/{queue['id']}/listeners", json=body)
        assert response.status_code == 200, response.text
    return str(queue["id"])


async def _attempt_counts(stack: Stack, queue_id: str) -> list[int]:
    rows = await stack.sql(
        "SELECT d.attempts FROM deliveries d JOIN messages m ON m.id = d.message_id"
        " WHERE m.queue_id = :queue_id",
        queue_id=queue_id,
    )
    return sorted(row[0] for row in rows)


async def test_a_receiver_slower_than_the_lease_margin_is_sent_each_message_once(
    stack: Stack, receiver: Receiver
) -> None:
    async def slow(_: web.Request, __: int) -> web.StreamResponse:
        await asyncio.sleep(3.5)  # a 90 s answer to a 120 s timeout, scaled down
        return web.Response(text="ok")

    receiver.on("slow", slow)
    queue_id = await _listener(stack, receiver, "slow", timeout_ms=5000)
    async with stack.client() as client:
        body = b"".join(b'{"n": %d}\n' % n for n in range(3))
        headers = {"content-type": "application/x-ndjson", "sync": "1"}
        response = await client.post(
            f"/v1/queues/{queue_id}/messages", content=body, headers=headers
        )
        assert response.status_code == 200

    async def all_delivered() -> bool:
        rows = await stack.sql(
            "SELECT count(*) FROM deliveries d JOIN messages m ON m.id = d.message_id"
            " WHERE m.queue_id = :queue_id AND d.status = 'delivered'",
            queue_id=queue_id,
        )
        return bool(rows[0][0] == 3)

    await wait_for(all_delivered, timeout_s=20, what="three slow deliveries recorded")
    assert Counter(r.body for r in receiver.at("slow")) == {b'{"n": %d}' % n: 1 for n in range(3)}
    assert await _attempt_counts(stack, queue_id) == [1, 1, 1]


async def test_deliveries_waiting_for_their_rate_limit_are_sent_once(
    stack: Stack, receiver: Receiver
) -> None:
    queue_id = await _listener(stack, receiver, "paced", rate_limit_per_s=2, max_in_flight=16)
    async with stack.client() as client:
        body = b"".join(b'{"n": %d}\n' % n for n in range(8))
        headers = {"content-type": "application/x-ndjson", "sync": "1"}
        response = await client.post(
            f"/v1/queues/{queue_id}/messages", content=body, headers=headers
        )
        assert response.status_code == 200
    await wait_for(lambda: len(receiver.at("paced")) >= 8, timeout_s=20, what="eight sent")

    async def all_recorded() -> bool:
        return await _attempt_counts(stack, queue_id) == [1] * 8

    await wait_for(all_recorded, timeout_s=10, what="each recorded as one attempt")
    assert Counter(r.body for r in receiver.at("paced")) == {b'{"n": %d}' % n: 1 for n in range(8)}
