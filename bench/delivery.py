"""Delivery scenarios, each timing a held backlog: the listeners are created paused, the
messages ingested, a worker started, and the clock runs from enabling the listeners to
the receiver's last count. One worker process throughout.

deliver-1   one listener, against a raw aiohttp client posting the same bodies
fanout-10   ten listeners on one queue, against one listener alone
isolation   a healthy listener beside one that never answers, against it alone

fanout-10 and isolation measure their baseline (one listener alone, the same messages)
right before and right after themselves, as the raw loop is measured around deliver-1:
this machine's speed drifts by tens of percent within a minute, so a baseline taken in
another scenario moved their ratios between 0.8 and 1.7 with the same code.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable
from typing import Any

from bench.baselines import BODY_300
from bench.harness import Bench, reset_receiver, wait_received

IN_FLIGHT = 64


def bodies(count: int) -> list[bytes]:
    return [BODY_300 % n for n in range(count)]


async def held_backlog_rate(
    bench: Bench, receiver_url: str, listeners: list[dict[str, Any]], messages: int, expect: int
) -> float:
    """Deliveries/s of `expect` receiver hits once `listeners` are enabled with `messages` held."""
    api, url = await bench.api()
    headers, queue_id = await bench.org(url)
    ids = [
        await bench.listener(url, headers, queue_id, enabled=False, **fields)
        for fields in listeners
    ]
    await bench.ingest_ndjson(url, headers, queue_id, bodies(messages))
    await reset_receiver(receiver_url)
    worker = await bench.worker()
    started = time.perf_counter()
    await bench.enable(url, headers, queue_id, *ids)
    await wait_received(receiver_url, expect, timeout_s=300)
    elapsed = time.perf_counter() - started
    await bench.enable(url, headers, queue_id, *ids, enabled=False)
    await bench.stop(worker, api)
    return expect / elapsed


def deliveries(bench: Bench) -> int:
    return int(bench.pick(full=20_000, quick=5_000, smoke=200))


async def deliver_one(bench: Bench) -> dict[str, Any]:
    count = deliveries(bench)
    receiver, receiver_url = await bench.receiver()
    before = await bench.baseline("http", f"{receiver_url}/raw", str(count))
    listener = {"notify_url": f"{receiver_url}/l0", "max_in_flight": IN_FLIGHT}
    rate = await held_backlog_rate(bench, receiver_url, [listener], count, count)
    # The baseline runs before and after Herald: a slow minute of this shared machine
    # falls on both sides alike (the ingest scenarios interleave for the same reason).
    after = await bench.baseline("http", f"{receiver_url}/raw", str(count))
    baseline = (before + after) / 2
    await bench.stop(receiver)
    bench.seen.setdefault("deliver-1", []).append(rate)
    return {
        "value": rate,
        "baseline": baseline,
        "unit": "deliveries/s",
        "target": 0.6,
        "note": "a held backlog, from enabling the listener to the last delivery",
    }


async def deliver_one_rate(bench: Bench) -> float:
    """deliver-1's rate in this run (measured now if it has not been)."""
    if not bench.seen.get("deliver-1"):
        await deliver_one(bench)
    return statistics.median(bench.seen["deliver-1"])


async def around_alone(
    bench: Bench, receiver_url: str, count: int, scenario: Awaitable[float]
) -> tuple[float, float]:
    """`scenario`'s rate, and one listener's alone with `count` held messages (the mean of
    a run before and a run after it)."""
    listener = {"notify_url": f"{receiver_url}/l0", "max_in_flight": IN_FLIGHT}
    before = await held_backlog_rate(bench, receiver_url, [listener], count, count)
    rate = await scenario
    after = await held_backlog_rate(bench, receiver_url, [listener], count, count)
    return rate, (before + after) / 2


async def fanout_ten(bench: Bench) -> dict[str, Any]:
    count = deliveries(bench)
    receiver, receiver_url = await bench.receiver()
    listeners = [
        {"notify_url": f"{receiver_url}/l{n}", "max_in_flight": IN_FLIGHT} for n in range(10)
    ]
    fanout = held_backlog_rate(bench, receiver_url, listeners, count // 10, count)
    rate, baseline = await around_alone(bench, receiver_url, count, fanout)
    await bench.stop(receiver)
    return {
        "value": rate,
        "baseline": baseline,
        "unit": "deliveries/s",
        "target": 0.8,
        "note": "10 listeners x deliveries/10 messages; baseline: 1 listener, before and after",
    }


async def isolation(bench: Bench) -> dict[str, Any]:
    count = deliveries(bench)
    receiver, receiver_url = await bench.receiver()
    healthy = {"notify_url": f"{receiver_url}/l0", "max_in_flight": IN_FLIGHT}
    # Never answers within the run: every slot it gets stays taken.
    silent = {"notify_url": f"{receiver_url}/hang", "timeout_ms": 60_000}
    beside = held_backlog_rate(bench, receiver_url, [healthy, silent], count, count)
    rate, baseline = await around_alone(bench, receiver_url, count, beside)
    await bench.stop(receiver)
    return {
        "value": rate,
        "baseline": baseline,
        "unit": "deliveries/s",
        "target": 0.9,
        "note": "a healthy listener beside a silent one; baseline: it alone, before and after",
    }
