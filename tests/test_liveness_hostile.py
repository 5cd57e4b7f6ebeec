"""Liveness probes against hostile listeners: a gzip bomb costs nothing, a drip ends at the
probe's deadline, and a URL that cannot be fetched fails its own probe and no other."""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator
from typing import Any

import psutil
import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.embedded.process import free_port
from tests.conftest import Org
from tests.receiver import Receiver, wait_for

pytestmark = pytest.mark.usefixtures("worker")
BOMB_BYTES = 300 * 1024 * 1024


def gzip_bomb() -> bytes:
    """300 MiB of zeros, gzipped (about 300 KB), built without holding the 300 MiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    parts = [compressor.compress(zeros) for _ in range(BOMB_BYTES // len(zeros))]
    return b"".join([*parts, compressor.flush()])


async def health(org: Org, queue_id: str, listener_id: str) -> dict[str, Any]:
    view = (await org.get(f"/v1/queues/{queue_id}/listeners/{listener_id}")).json()
    result: dict[str, Any] = view["listener"]["health"]
    return result


async def test_a_gzip_bomb_answer_to_a_probe_is_never_inflated(
    org: Org, receiver: Receiver
) -> None:
    bomb = gzip_bomb()

    async def answer(_: web.Request, __: int) -> web.StreamResponse:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    receiver.on("bomb", answer)
    process = psutil.Process()
    baseline = peak = process.memory_info().rss

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.005)

    sampler = asyncio.create_task(sample())
    queue = await org.create_queue()
    listener = await org.create_listener(
        queue["id"], liveness_url=receiver.url("bomb"), enabled=False
    )
    try:
        await wait_for(lambda: len(receiver.at("bomb")) >= 2, what="two probes answered")
        state = await health(org, queue["id"], listener["id"])
    finally:
        sampler.cancel()
        await org.delete(f"/v1/queues/{queue['id']}/listeners/{listener['id']}")
    assert state["state"] == "live"
    assert peak - baseline < 32 * 1024 * 1024, f"RSS grew {(peak - baseline) >> 20} MiB"


@contextlib.asynccontextmanager
async def dripping_server() -> AsyncIterator[int]:
    """Answers every connection with a status line, then a header one byte at a time."""

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
            for _ in range(600):  # a byte every 50 ms: 30 s, far past the probe's deadline
                writer.write(b"z")
                await writer.drain()
                await asyncio.sleep(0.05)
        writer.close()

    port = free_port()
    server = await asyncio.start_server(drip, "127.0.0.1", port)
    try:
        yield port
    finally:
        server.close()


async def test_a_dripping_probe_ends_at_its_deadline(org: Org) -> None:
    async with dripping_server() as port:
        queue = await org.create_queue()
        listener = await org.create_listener(
            queue["id"], liveness_url=f"http://127.0.0.1:{port}/health", enabled=False
        )

        async def failed_twice() -> bool:
            state = await health(org, queue["id"], listener["id"])
            return bool(state["consecutive_failures"] >= 2)

        try:  # one-second deadlines, probes every second
            await wait_for(failed_twice, timeout_s=8, what="two probes cut off at their deadline")
            assert (await health(org, queue["id"], listener["id"]))["state"] == "unreachable"
        finally:
            await org.delete(f"/v1/queues/{queue['id']}/listeners/{listener['id']}")


async def test_a_url_that_cannot_be_fetched_fails_alone_beside_a_listener_that_recovers(
    org: Org, receiver: Receiver, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    up = {"now": False}

    async def probe(_: web.Request, __: int) -> web.StreamResponse:
        return web.Response(status=200 if up["now"] else 503)

    receiver.on("probe", probe)
    queue = await org.create_queue()
    broken = []
    # Stored before today's registration rules: a host httpx refuses, one yarl refuses.
    for url in ("http://\u2603.example/", "http://a\u200bb.example/"):
        listener = await org.create_listener(
            queue["id"], liveness_url="http://198.51.100.7/", enabled=False
        )
        async with sessionmaker() as session, session.begin():
            await session.execute(
                text("UPDATE listeners SET liveness_url = :url WHERE id = :id"),
                {"url": url, "id": listener["id"]},
            )
        broken.append(listener["id"])
    recovering = await org.create_listener(
        queue["id"], notify_url=receiver.url("hook"), liveness_url=receiver.url("probe")
    )
    try:
        await wait_for(
            lambda: _state(org, queue["id"], recovering["id"], "unreachable"),
            timeout_s=10,
            what="unreachable",
        )
        await org.post(f"/v1/queues/{queue['id']}/messages", content=b"held", headers={"sync": "1"})
        up["now"] = True
        await wait_for(lambda: len(receiver.at("hook")) == 1, timeout_s=10, what="recovered")
        for listener_id in broken:
            state = await health(org, queue["id"], listener_id)
            assert state["consecutive_failures"] >= 1 and state["state"] != "live"
    finally:
        for listener_id in [*broken, recovering["id"]]:
            await org.delete(f"/v1/queues/{queue['id']}/listeners/{listener_id}")


async def _state(org: Org, queue_id: str, listener_id: str, state: str) -> bool:
    return bool((await health(org, queue_id, listener_id))["state"] == state)
