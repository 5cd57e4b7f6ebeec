"""The per-key rate limit holds across two API processes sharing one Redis."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx

from tests.stack import Stack

LIMIT = 20
SLACK = 4  # each process may count up to one 10 ms sync interval ahead of the other


async def test_two_api_processes_share_one_limit_per_key() -> None:
    stack = await Stack(HERALD_RATE_LIMIT_PER_S=str(LIMIT)).start()
    try:
        second = await stack.start_second_api()
        headers = {"X-API-KEY": stack.key}
        async with stack.client() as client:
            queue = (await client.post("/v1/queues", json={"name": "limited"})).json()["queue"]
        path = f"/v1/queues/{queue['id']}/messages"
        outcomes: list[tuple[int, str, int]] = []  # (second, api, status)

        async with (
            httpx.AsyncClient(base_url=stack.url, headers=headers) as one,
            httpx.AsyncClient(base_url=second, headers=headers) as two,
        ):

            async def post(client: httpx.AsyncClient, name: str) -> None:
                sent = int(time.time())
                response = await client.post(path, content=b"{}")
                if int(time.time()) == sent:  # the window is unambiguous
                    outcomes.append((sent, name, response.status_code))

            # 100 requests/s offered, alternating between the processes, for 2.5 s.
            tasks = []
            for n in range(250):
                client, name = (one, "one") if n % 2 else (two, "two")
                tasks.append(asyncio.create_task(post(client, name)))
                await asyncio.sleep(0.01)
            await asyncio.gather(*tasks)

        offered = Counter(s for s, _, _ in outcomes)
        accepted = Counter(s for s, _, status in outcomes if status == 202)
        assert max(accepted.values()) <= LIMIT + SLACK, accepted
        # Without sharing, each process would let LIMIT through: 2 x LIMIT in a full second.
        full = [s for s, count in offered.items() if count >= 50]
        assert full and all(LIMIT - SLACK <= accepted[s] <= LIMIT + SLACK for s in full)
        refused_by = {name for _, name, status in outcomes if status == 429}
        assert refused_by == {"one", "two"}  # each process knows what the other let through
    finally:
        await stack.stop()
