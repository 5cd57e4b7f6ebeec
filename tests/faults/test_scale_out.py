"""Scaling out: two API processes and three worker processes on the same Postgres and
Valkey deliver everything, never drain one listener from two workers at once, and lose
nothing when a worker is killed midway."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from tests.receiver import Receiver, wait_for
from tests.stack import Stack

LISTENERS = 20
MESSAGES = 200  # each to every listener: 4,000 deliveries


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    stack = await Stack(HERALD_LEASE_S="2").start()
    yield stack
    await stack.stop()


async def test_two_apis_and_three_workers_deliver_everything_one_drain_a_listener(
    stack: Stack, receiver: Receiver
) -> None:
    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    got: dict[str, set[str]] = defaultdict(set)

    async def one_at_a_time(request: web.Request, _: int) -> web.StreamResponse:
        """Counts the requests a listener has open at once (each takes a few ms)."""
        name = request.match_info["name"]
        in_flight[name] += 1
        peak[name] = max(peak[name], in_flight[name])
        try:
            await asyncio.sleep(0.003)
        finally:
            in_flight[name] -= 1
        got[name].add(request.headers["webhook-id"])
        return web.Response(text="ok")

    second_api = await stack.start_second_api()
    workers = [stack.worker, await stack.start_another_worker(), await stack.start_another_worker()]
    async with stack.client() as client:
        queue = (await client.post("/v1/queues", json={"name": "scale"})).json()["queue"]
        for n in range(LISTENERS):
            receiver.on(f"l{n}", one_at_a_time)
            body = {"name": f"l{n}", "notify_url": receiver.url(f"l{n}"), "max_in_flight": 1}
            created = await client.post(f"/v1/queues/{queue['id']}/listeners", json=body)
            assert created.status_code == 200, created.text

    sent: list[str] = []
    for n, url in enumerate([stack.url, second_api] * (MESSAGES // 20)):
        async with httpx.AsyncClient(base_url=url, headers={"X-API-KEY": stack.key}) as api:
            body = b"".join(b'{"n": %d}\n' % (n * 10 + i) for i in range(10))
            response = await api.post(
                f"/v1/queues/{queue['id']}/messages",
                content=body,
                headers={"content-type": "application/x-ndjson", "sync": "1"},
            )
            assert response.status_code == 200, response.text
            sent += [m["id"] for m in response.json()["messages"]]
    assert len(sent) == MESSAGES

    def delivered() -> int:
        return sum(len(ids) for ids in got.values())

    await wait_for(lambda: delivered() >= LISTENERS * MESSAGES // 3, timeout_s=60, what="a third")
    await stack.kill(workers[1])  # SIGKILL, mid-delivery
    await wait_for(
        lambda: delivered() == LISTENERS * MESSAGES, timeout_s=120, what="every delivery"
    )
    assert all(ids == set(sent) for ids in got.values())
    assert max(peak.values()) == 1, f"a listener had requests open at once: {dict(peak)}"

    async def all_recorded() -> bool:  # a redelivery of the killed worker's may still be open
        rows = await stack.sql("SELECT count(*) FROM deliveries WHERE status <> 'delivered'")
        return rows[0][0] == 0

    await wait_for(all_recorded, timeout_s=60, what="every delivery recorded as delivered")
    print(f"\nscale-out: {LISTENERS * MESSAGES} deliveries by 3 workers (one killed), 2 APIs")
