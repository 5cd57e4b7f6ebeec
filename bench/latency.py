"""Ingest-to-receiver latency at a fixed offered rate (single JSON messages, open loop),
and the curve of p50/p99 against offered load that docs/latency.png plots."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from bench.delivery import IN_FLIGHT, deliver_one_rate
from bench.harness import Bench, receiver_stats, wait_received

CURVE_FRACTIONS = {"full": (0.1, 0.25, 0.5, 0.75, 0.9), "quick": (0.25, 0.5, 0.75), "smoke": (0.5,)}


async def latency_at(bench: Bench, rate: float) -> dict[str, Any]:
    receiver, receiver_url = await bench.receiver()
    api, url = await bench.api()
    worker = await bench.worker()
    headers, queue_id = await bench.org(url)
    await bench.listener(
        url, headers, queue_id, notify_url=f"{receiver_url}/l0", max_in_flight=IN_FLIGHT
    )
    total = max(1, int(rate * bench.seconds))
    interval = 1.0 / rate
    async with aiohttp.ClientSession(
        base_url=url, headers={**headers, "content-type": "application/json"}
    ) as session:

        async def one() -> None:
            body = json.dumps({"t": time.time(), "pad": "x" * 250}).encode()
            async with session.post(f"/v1/queues/{queue_id}/messages", data=body) as response:
                await response.read()

        started = time.perf_counter()
        tasks = []
        for n in range(total):
            delay = started + n * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    await wait_received(receiver_url, total, timeout_s=120)
    latencies = sorted((await receiver_stats(receiver_url))["latencies"])
    await bench.stop(worker, api, receiver)
    return {
        "offered_rate": rate,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
    }


async def latency(bench: Bench) -> dict[str, Any]:
    """p50 and p99 at half of deliver-1's rate in this run."""
    point = await latency_at(bench, await deliver_one_rate(bench) / 2)
    return {
        "value": point["p50"],
        "p99": point["p99"],
        "offered_rate": point["offered_rate"],
        "unit": "ms (p50)",
        "target": 25,
        "baseline": None,
    }


async def latency_curve(bench: Bench) -> list[dict[str, Any]]:
    top = await deliver_one_rate(bench)
    return [await latency_at(bench, top * f) for f in CURVE_FRACTIONS[bench.scale]]
