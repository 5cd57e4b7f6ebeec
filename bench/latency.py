"""Ingest-to-receiver latency at a fixed offered rate, open loop, and the curve of p50/p99
against offered load that bench/results/latency.png plots.

The load is offered two ways. The target row sends an NDJSON request every TICK_S carrying
that tick's messages, as a producer at thousands of messages a second would. Single-message
POSTs are the curve's second series: at half of deliver-1's rate they need about half of
core 0 for Litestar's request handling alone (ingest-single's no-op baseline costs ~215 us a
request here), on the core the worker delivers from, so they measure a saturated core.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from bench.delivery import IN_FLIGHT, deliver_one_rate
from bench.harness import Bench, receiver_stats, wait_received

TICK_S = 0.01
CURVE_FRACTIONS = {"full": (0.1, 0.25, 0.5, 0.75, 0.9), "quick": (0.25, 0.5, 0.75), "smoke": (0.5,)}


async def latency_at(bench: Bench, rate: float, tick_s: float | None = None) -> dict[str, Any]:
    """p50/p99 at `rate` messages/s, offered open loop: a single-message POST every 1/rate
    seconds, or (with `tick_s`) an NDJSON POST every `tick_s` carrying that tick's share."""
    receiver, receiver_url = await bench.receiver()
    api, url = await bench.api()
    worker = await bench.worker()
    headers, queue_id = await bench.org(url)
    await bench.listener(
        url, headers, queue_id, notify_url=f"{receiver_url}/l0", max_in_flight=IN_FLIGHT
    )
    total = max(1, int(rate * bench.seconds))
    interval = tick_s or 1.0 / rate
    # Each request: how many messages it carries (every message counts from its send time).
    sizes = [1] * total if tick_s is None else _shares(total, rate * tick_s)
    async with aiohttp.ClientSession(base_url=url, headers=headers) as session:

        async def post(count: int) -> None:
            line = json.dumps({"t": time.time(), "pad": "x" * 250}).encode()
            body = b"\n".join([line] * count)
            kind = "application/json" if tick_s is None else "application/x-ndjson"
            async with session.post(
                f"/v1/queues/{queue_id}/messages", data=body, headers={"content-type": kind}
            ) as response:
                await response.read()

        started = time.perf_counter()
        tasks = []
        for n, count in enumerate(sizes):
            delay = started + n * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if count:
                tasks.append(asyncio.create_task(post(count)))
        await asyncio.gather(*tasks)
    await wait_received(receiver_url, total, timeout_s=120)
    latencies = sorted((await receiver_stats(receiver_url))["latencies"])
    await bench.stop(worker, api, receiver)
    return {
        "offered_rate": rate,
        "ingest": "single" if tick_s is None else f"ndjson every {int(tick_s * 1000)} ms",
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def _shares(total: int, per_tick: float) -> list[int]:
    """`total` messages spread over ticks of `per_tick` each (fractions carried over)."""
    sizes, sent, tick = [], 0, 0
    while sent < total:
        tick += 1
        count = min(total, int(tick * per_tick)) - sent
        sizes.append(count)
        sent += count
    return sizes


async def latency(bench: Bench) -> dict[str, Any]:
    """p50 and p99 at half of deliver-1's rate in this run."""
    point = await latency_at(bench, await deliver_one_rate(bench) / 2, tick_s=TICK_S)
    return {
        "value": point["p50"],
        "p99": point["p99"],
        "offered_rate": point["offered_rate"],
        "unit": "ms (p50)",
        "target": 25,
        "baseline": None,
    }


async def latency_curve(bench: Bench) -> list[dict[str, Any]]:
    """Both ways of offering the load at each fraction of deliver-1's rate."""
    top = await deliver_one_rate(bench)
    fractions = CURVE_FRACTIONS[bench.scale]
    return [await latency_at(bench, top * f, tick) for tick in (TICK_S, None) for f in fractions]
