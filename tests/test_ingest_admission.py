"""The bytes one API process holds in ingest are bounded: past the bound a request is
answered 503 with Retry-After before its body is read, and is accepted once room is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from tests.conftest import Org, app_on_this_loop, assert_problem, make_settings

MIB = 1024 * 1024


async def test_ingest_past_the_process_byte_bound_is_503_then_accepted(org: Org) -> None:
    settings = make_settings(ingest_bytes_in_flight=MIB)
    async with app_on_this_loop(settings, org.headers) as (_, client):
        queue = (await client.post("/v1/queues", json={"name": "admission"})).json()["queue"]
        path = f"/v1/queues/{queue['id']}/messages"
        release = asyncio.Event()
        started = asyncio.Event()

        async def dripping() -> AsyncIterator[bytes]:
            yield b"x" * 1000
            started.set()
            await release.wait()
            yield b"x" * (MIB - 1000)

        slow = asyncio.create_task(
            client.post(path, content=dripping(), headers={"content-length": str(MIB)})
        )
        await asyncio.wait_for(started.wait(), timeout=10)

        refused = await client.post(path, content=b"y" * 1000)
        assert_problem(refused, 503)
        assert refused.headers["retry-after"] == "1"

        release.set()
        assert (await slow).status_code == 202
        assert (await client.post(path, content=b"y" * 1000)).status_code == 202
