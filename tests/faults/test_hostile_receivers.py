"""Receivers that misbehave: a slow drip, a body that never ends, a gzip bomb. The attempt
deadline holds, the worker reads at most 4 KiB of any answer, and other deliveries go on."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import Org
from tests.receiver import Receiver, wait_for

pytestmark = pytest.mark.usefixtures("worker")
CHUNK = b"z" * 65536


async def attempts_of(org: Org, queue_id: str, listener_id: str) -> list[dict[str, Any]]:
    base = f"/v1/queues/{queue_id}/listeners/{listener_id}/deliveries"
    deliveries = (await org.get(base)).json()["deliveries"]
    found = []
    for delivery in deliveries:
        found += (await org.get(f"{base}/{delivery['id']}/attempts")).json()["attempts"]
    return found


async def setup(org: Org, receiver: Receiver, name: str, **fields: Any) -> tuple[str, str]:
    queue = await org.create_queue()
    listener = await org.create_listener(
        queue["id"], name=name, notify_url=receiver.url(name), **fields
    )
    response = await org.post(
        f"/v1/queues/{queue['id']}/messages", content=b'{"hostile": true}', headers={"sync": "1"}
    )
    assert response.status_code == 200
    return queue["id"], listener["id"]


async def test_a_slow_drip_is_cut_off_at_the_attempt_deadline(org: Org, receiver: Receiver) -> None:
    async def drip(request: web.Request, _: int) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        await response.prepare(request)
        for _ in range(600):  # a byte every 50 ms: 30 s, far past the deadline
            await response.write(b".")
            await asyncio.sleep(0.05)
        return response

    receiver.on("drip", drip)
    queue_id, listener_id = await setup(
        org, receiver, "drip", timeout_ms=500, retry_schedule_s=[60]
    )

    async def attempted() -> bool:
        return bool(await attempts_of(org, queue_id, listener_id))

    await wait_for(attempted, what="the drip attempt recorded")
    (attempt,) = await attempts_of(org, queue_id, listener_id)
    assert attempt["error"].startswith("timeout after 500 ms")
    assert 450 <= attempt["duration_ms"] < 2000


async def test_an_endless_body_is_read_for_4_kib_then_dropped(org: Org, receiver: Receiver) -> None:
    sent = {"bytes": 0}

    async def endless(request: web.Request, _: int) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        await response.prepare(request)
        try:
            while sent["bytes"] < 2**30:  # 1 GiB, unless the client hangs up first
                await response.write(CHUNK)
                sent["bytes"] += len(CHUNK)
        except (ConnectionError, RuntimeError):
            pass
        return response

    receiver.on("endless", endless)
    queue_id, listener_id = await setup(org, receiver, "endless", timeout_ms=10_000)

    async def delivered() -> bool:
        found = await attempts_of(org, queue_id, listener_id)
        return bool(found) and found[0]["status_code"] == 200

    await wait_for(delivered, what="the endless answer recorded as a 200")
    (attempt,) = await attempts_of(org, queue_id, listener_id)
    assert len(attempt["response_body"]) == 4096
    await wait_for(lambda: receiver.active.get("endless") == 0, what="the receiver hung up on")
    assert sent["bytes"] < 64 * 2**20  # the worker stopped reading long before 1 GiB


async def test_a_gzip_bomb_answer_is_never_inflated(org: Org, receiver: Receiver) -> None:
    bomb = gzip.compress(b"\0" * (200 * 2**20), compresslevel=9)  # 200 MiB inflated

    async def gzip_bomb(_: web.Request, __: int) -> web.StreamResponse:
        return web.Response(body=bomb, headers={"content-encoding": "gzip"})

    receiver.on("bomb", gzip_bomb)
    queue_id, listener_id = await setup(org, receiver, "bomb")

    async def recorded() -> bool:
        return bool(await attempts_of(org, queue_id, listener_id))

    await wait_for(recorded, what="the bomb's answer recorded")
    (attempt,) = await attempts_of(org, queue_id, listener_id)
    assert attempt["status_code"] == 200
    assert receiver.at("bomb")[0].headers["accept-encoding"] == "identity"
    # What was kept are the compressed bytes, at most 4 KiB of them: nothing was inflated.
    assert len(attempt["response_body"]) <= 4096
    assert "\0" * 100 not in attempt["response_body"]
