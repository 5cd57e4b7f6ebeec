"""Delivery scenarios. One worker process throughout.

deliver-1   one listener, against a raw aiohttp client posting the same bodies (and, as a
            figure, a raw pyreqwest client: Herald's own webhook client)
fanout-10   ten listeners on one queue, against one listener alone
isolation   a healthy listener beside one that never answers, against it alone

deliver-1 alternates short windows of Herald and of the raw loop, several rounds, and
compares their totals. This machine's speed swings within seconds: the raw loop alone,
second by second for a minute, took 118 to 259 us of CPU per request (two cores shared
with other tenants; steal time reads zero). A baseline measured a few seconds away from
Herald's run moved single-run ratios between 0.47 and 0.84 with the same code. Herald's
processes are frozen (SIGSTOP) while the raw loop runs, and the raw loop is not running
while Herald's window is open, so neither competes with the other.

fanout-10 and isolation time a held backlog (the listeners are created paused, the
messages ingested, a worker started, and the clock runs from enabling the listeners to the
receiver's last count), and measure their baseline (one listener alone, the same messages)
right before and right after themselves.
"""

from __future__ import annotations

import statistics
import time
from asyncio.subprocess import Process
from collections.abc import Awaitable
from typing import Any

from bench.baselines import BODY_300
from bench.harness import Bench, receiver_stats, reset_receiver, wait_received

IN_FLIGHT = 64


def bodies(count: int) -> list[bytes]:
    return [BODY_300 % n for n in range(count)]


async def held_backlog_rate(
    bench: Bench,
    receiver_url: str,
    listeners: list[dict[str, Any]],
    messages: int,
    expect: int,
    workers: int = 1,
) -> float:
    """Deliveries/s of `expect` receiver hits once `listeners` are enabled with `messages`
    held, delivered by `workers` worker processes."""
    api, url = await bench.api()
    headers, queue_id = await bench.org(url)
    ids = [
        await bench.listener(url, headers, queue_id, enabled=False, **fields)
        for fields in listeners
    ]
    await bench.ingest_ndjson(url, headers, queue_id, bodies(messages))
    await reset_receiver(receiver_url)
    processes = [await bench.worker() for _ in range(workers)]
    started = time.perf_counter()
    await bench.enable(url, headers, queue_id, *ids)
    await wait_received(receiver_url, expect, timeout_s=300)
    elapsed = time.perf_counter() - started
    await bench.enable(url, headers, queue_id, *ids, enabled=False)
    await bench.stop(*processes, api)
    return expect / elapsed


def deliveries(bench: Bench) -> int:
    return int(bench.pick(full=20_000, quick=5_000, smoke=200))


class Windows:
    """Deliveries (or requests) and seconds, added up over a scenario's windows."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.rates: list[float] = []

    def add(self, count: int, seconds: float) -> None:
        self.count += count
        self.seconds += seconds
        self.rates.append(count / seconds)

    @property
    def rate(self) -> float:
        return self.count / self.seconds


async def herald_window(
    bench: Bench, worker_side: list[Process], receiver_url: str, count: int
) -> tuple[int, float]:
    """Lets Herald's frozen processes run until the receiver has `count` more deliveries;
    returns how many it counted and in how many seconds, and freezes them again."""
    before = (await receiver_stats(receiver_url))["count"]
    started = time.perf_counter()
    bench.thaw(*worker_side)
    got = await wait_received(receiver_url, before + count, timeout_s=300)
    elapsed = time.perf_counter() - started
    bench.freeze(*worker_side)
    return got - before, elapsed


async def deliver_one(bench: Bench) -> dict[str, Any]:
    window = deliveries(bench) // 2
    rounds = int(bench.pick(full=6, quick=3, smoke=2))
    receiver, receiver_url = await bench.receiver()
    api, url = await bench.api()
    headers, queue_id = await bench.org(url)
    listener = {"notify_url": f"{receiver_url}/l0", "max_in_flight": IN_FLIGHT}
    listener_id = await bench.listener(url, headers, queue_id, enabled=False, **listener)
    # Enough for every window, the warm-up, and what goes out while a window closes.
    held = (rounds + 1) * window * 11 // 10 + 1_000
    await bench.ingest_ndjson(url, headers, queue_id, bodies(held))
    worker = await bench.worker()
    await reset_receiver(receiver_url)
    await bench.enable(url, headers, queue_id, listener_id)
    # Warm-up: the drain has started and reached its full in-flight count.
    await wait_received(receiver_url, min(window, 1_000), timeout_s=300)
    bench.freeze(api, worker)
    herald, raw, raw_reqwest = Windows(), Windows(), Windows()
    for _ in range(rounds):
        raw.add(window, window / await bench.baseline("http", f"{receiver_url}/raw", str(window)))
        rate = await bench.baseline("reqwest", f"{receiver_url}/raw", str(window))
        raw_reqwest.add(window, window / rate)
        herald.add(*await herald_window(bench, [api, worker], receiver_url, window))
    bench.thaw(api, worker)
    await bench.enable(url, headers, queue_id, listener_id, enabled=False)
    await bench.stop(worker, api, receiver)
    bench.seen.setdefault("deliver-1", []).append(herald.rate)
    return {
        "value": herald.rate,
        "baseline": raw.rate,
        "unit": "deliveries/s",
        "target": 0.6,
        "reqwest_baseline": raw_reqwest.rate,
        "windows": {"herald": herald.rates, "raw": raw.rates, "raw_reqwest": raw_reqwest.rates},
        "note": f"{rounds} alternating windows of {window} each; Herald's processes frozen "
        "during the raw loop's",
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
