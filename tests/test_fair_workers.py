"""One organization's drains cannot take every worker slot from the others: each org has a
cap on running drains, a drain gives its slot back after its time slice or while it waits
for a rate-limit token, and the periodic jobs (sweeper, liveness) never wait for a slot.

A worker's sockets and the message bodies it holds are bounded too.

A Herald of its own (tests/stack.py) with a worker of two job slots, one drain per
organization at a time, 8 sockets per host and 4 MiB of bodies in claimed deliveries, claimed 64 KiB at a time.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web

from service.config import Settings
from service.orgs import create_organization
from tests.receiver import Receiver, wait_for
from tests.stack import Stack


@pytest.fixture(scope="module")
async def stack() -> AsyncIterator[Stack]:
    stack = await Stack(
        HERALD_WORKER_MAX_JOBS="2",
        HERALD_WORKER_DRAINS_PER_ORG="1",
        HERALD_DRAIN_SLICE_S="0.5",
        HERALD_LIVENESS_INTERVAL_S="1",
        HERALD_EGRESS_CONNECTIONS_PER_HOST="8",
        HERALD_WORKER_BODY_BYTES=str(4 * 1024 * 1024),
        # Smaller than a message may be: a claim cut short must not read as "more due".
        HERALD_WORKER_CLAIM_BYTES=str(64 * 1024),
    ).start()
    yield stack
    await stack.stop()


@pytest.fixture
async def held() -> AsyncIterator[asyncio.Event]:
    """Set at the end of the test: the receiver's held requests then answer 200."""
    release = asyncio.Event()
    yield release
    release.set()


def held_until(release: asyncio.Event) -> Callable[[web.Request, int], object]:
    async def behaviour(_: web.Request, __: int) -> web.StreamResponse:
        await release.wait()
        return web.Response(text="ok")

    return behaviour


def slow(seconds: float) -> Callable[[web.Request, int], object]:
    async def behaviour(_: web.Request, __: int) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.Response(text="ok")

    return behaviour


@asynccontextmanager
async def org(stack: Stack, name: str) -> AsyncIterator[httpx.AsyncClient]:
    _, key = await create_organization(Settings(database_url=stack.database_url), name)
    async with httpx.AsyncClient(
        base_url=stack.url, headers={"X-API-KEY": key}, timeout=10
    ) as client:
        yield client


async def listener_with(client: httpx.AsyncClient, messages: int, **listener: object) -> str:
    """A queue with one listener and `messages` messages; returns the listener's id."""
    queue = (await client.post("/v1/queues", json={"name": f"q-{uuid.uuid4().hex[:8]}"})).json()[
        "queue"
    ]
    created = await client.post(
        f"/v1/queues/{queue['id']}/listeners", json={"name": "l", **listener}
    )
    assert created.status_code == 200, created.text
    if messages:
        body = "\n".join(json.dumps({"n": n}) for n in range(messages))
        response = await client.post(
            f"/v1/queues/{queue['id']}/messages",
            content=body,
            headers={"content-type": "application/x-ndjson"},
        )
        assert response.status_code == 202, response.text
    return str(created.json()["listener"]["id"])


def from_listener(receiver: Receiver, name: str, listener_id: str) -> int:
    return sum(r.headers["herald-listener-id"] == listener_id for r in receiver.at(name))


async def test_an_org_runs_at_most_its_share_and_crons_run_beside_busy_drains(
    stack: Stack, receiver: Receiver, held: asyncio.Event
) -> None:
    receiver.on("held", held_until(held))
    async with org(stack, "b") as b, org(stack, "c") as c, org(stack, "a") as a:
        hold = {"notify_url": receiver.url("held"), "timeout_ms": 300_000}
        b1 = await listener_with(b, 1, **hold)
        b2 = await listener_with(b, 1, **hold)
        c1 = await listener_with(c, 1, **hold)
        # Both slots are taken for minutes: one by B (its cap), one by C.
        await wait_for(
            lambda: from_listener(receiver, "held", c1) == 1, what="C's drain to get a slot"
        )
        assert from_listener(receiver, "held", b1) + from_listener(receiver, "held", b2) == 1

        await listener_with(a, 0, notify_url=receiver.url("a"), liveness_url=receiver.url("a-live"))
        await wait_for(lambda: len(receiver.at("a-live")) >= 1, what="a liveness probe")


async def test_a_drain_gives_its_slot_back_after_its_time_slice(
    stack: Stack, receiver: Receiver, held: asyncio.Event
) -> None:
    receiver.on("held", held_until(held))
    receiver.on("slow", slow(0.02))
    async with org(stack, "b") as b, org(stack, "c") as c, org(stack, "a") as a:
        await listener_with(b, 1, notify_url=receiver.url("held"), timeout_ms=300_000)
        await wait_for(lambda: len(receiver.at("held")) == 1, what="B's drain to hold a slot")

        # C's backlog takes several seconds at one delivery at a time: it yields its slot.
        backlog = 300
        await listener_with(c, backlog, notify_url=receiver.url("slow"), max_in_flight=1)
        await wait_for(lambda: len(receiver.at("slow")) >= 5, what="C's drain to start")
        await listener_with(a, 1, notify_url=receiver.url("a"))
        await wait_for(lambda: len(receiver.at("a")) == 1, what="A's delivery")
        assert len(receiver.at("slow")) < backlog
        await wait_for(lambda: len(receiver.at("slow")) == backlog, what="the rest of C's backlog")


async def test_a_paced_drain_waits_for_its_next_token_without_a_slot(
    stack: Stack, receiver: Receiver, held: asyncio.Event
) -> None:
    receiver.on("held", held_until(held))
    async with org(stack, "b") as b, org(stack, "c") as c, org(stack, "a") as a:
        await listener_with(b, 1, notify_url=receiver.url("held"), timeout_ms=300_000)
        await wait_for(lambda: len(receiver.at("held")) == 1, what="B's drain to hold a slot")
        # One delivery a minute: the second waits for its token, and not in a slot.
        paced = await listener_with(c, 2, notify_url=receiver.url("paced"), rate_limit_per_s=1 / 60)
        await wait_for(lambda: len(receiver.at("paced")) == 1, what="the first paced delivery")
        await listener_with(a, 1, notify_url=receiver.url("a2"))
        await wait_for(lambda: len(receiver.at("a2")) == 1, what="A's next delivery")
        assert from_listener(receiver, "paced", paced) == 1


async def test_sends_under_way_stay_within_the_sockets_per_host(
    stack: Stack, receiver: Receiver, held: asyncio.Event
) -> None:
    receiver.on("many", held_until(held))
    async with org(stack, "d") as d:
        await listener_with(d, 30, notify_url=receiver.url("many"), max_in_flight=100)
        await wait_for(lambda: len(receiver.at("many")) >= 8, what="8 sends under way")
        await asyncio.sleep(0.5)  # a ninth would come now if it could; none may
        assert receiver.peak["many"] == 8


async def test_claimed_bodies_stay_within_the_workers_budget(
    stack: Stack, receiver: Receiver, held: asyncio.Event
) -> None:
    receiver.on("big", held_until(held))
    size = 900_000
    async with org(stack, "e") as e:
        listener_id = await listener_with(e, 0, notify_url=receiver.url("big"), max_in_flight=100)
        queue_id = (await e.get("/v1/queues")).json()["queues"][0]["id"]
        line = json.dumps({"p": "x" * size})
        for _ in range(3):
            response = await e.post(
                f"/v1/queues/{queue_id}/messages",
                content="\n".join([line] * 4),
                headers={"content-type": "application/x-ndjson"},
            )
            assert response.status_code == 202, response.text
        # 4 MiB hold four of these bodies, and a claim that starts within budget one more.
        await wait_for(lambda: len(receiver.at("big")) >= 4, what="sends under way")
        await asyncio.sleep(0.5)  # more would come now if the budget let them; none may
        assert 4 <= receiver.peak["big"] <= 5
        held.set()
        await wait_for(lambda: from_listener(receiver, "big", listener_id) == 12, what="every body")


async def test_a_drain_with_nothing_due_does_not_spin(stack: Stack, receiver: Receiver) -> None:
    async with org(stack, "f") as f:
        await listener_with(f, 1, notify_url=receiver.url("idle"))
        await wait_for(lambda: len(receiver.at("idle")) == 1, what="the delivery")

        async def commits() -> int:
            rows = await stack.sql(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
            return int(rows[0][0])

        # The drain lingers for new work (2 s) with nothing due: a few statements, not a
        # claim after claim.
        before = await commits()
        await asyncio.sleep(1.0)  # a window to count in
        assert await commits() - before < 300
