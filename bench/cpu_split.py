"""CPU per delivery, process by process, for one listener draining a held backlog: where a
delivery's cost goes, and which core sets the pace.

    python -m bench.cpu_split webhook [COUNT]   # then the raw aiohttp and pyreqwest loops
    python -m bench.cpu_split kafka [COUNT]

Placement as in bench.run (Herald on core 0; receiver, Postgres, Valkey, Tansu on core 1).
CPU is read with psutil (user + system, children included) before and after COUNT
deliveries, after a warm-up and a settled database; each figure is microseconds per
delivery. HERALD_EGRESS_CLIENT chooses the webhook client as for Herald itself.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import psutil

from bench.baselines import WARM_UP
from bench.delivery import IN_FLIGHT, bodies
from bench.harness import LOAD_CORE, Bench, receiver_stats, reset_receiver, wait_received
from bench.kafka import wait_delivered
from service.lib.ids import new_id

SERVERS = {"postgres": "postgres", "valkey": "redis", "tansu": "kafka"}


def cpu_seconds(process: psutil.Process) -> float:
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def snapshot(herald: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of Herald's processes, the embedded servers and this process."""
    seconds: dict[str, float] = {}
    for role, pid in herald.items():
        seconds[role] = cpu_seconds(psutil.Process(pid))
    for child in psutil.Process().children(recursive=True):
        try:
            name, times = child.name(), child.cpu_times()
        except psutil.Error:
            continue
        server = next((r for key, r in SERVERS.items() if key in name), None)
        if server:
            seconds[server] = seconds.get(server, 0.0) + times.user + times.system
    own = psutil.Process().cpu_times()
    seconds["bench"] = own.user + own.system
    return seconds


def per_delivery(before: dict[str, float], after: dict[str, float], count: int) -> str:
    used = {role: (after[role] - before.get(role, 0.0)) / count * 1e6 for role in after}
    return " ".join(f"{role} {us:.1f} us" for role, us in used.items() if us >= 0.05)


async def webhook(bench: Bench, count: int) -> None:
    receiver, receiver_url = await bench.receiver()
    api, url = await bench.api()
    headers, queue_id = await bench.org(url)
    fields = {"notify_url": f"{receiver_url}/l0", "max_in_flight": IN_FLIGHT}
    listener_id = await bench.listener(url, headers, queue_id, enabled=False, **fields)
    await bench.ingest_ndjson(url, headers, queue_id, bodies(count + 3_000))
    worker = await bench.worker()
    await bench.settle()
    await reset_receiver(receiver_url)
    await bench.enable(url, headers, queue_id, listener_id)
    await wait_received(receiver_url, 2_000, timeout_s=300)
    roles = {"worker": worker.pid, "api": api.pid, "receiver": receiver.pid}
    before, started = snapshot(roles), time.perf_counter()
    first = (await receiver_stats(receiver_url))["count"]
    last = await wait_received(receiver_url, first + count, timeout_s=300)
    after, elapsed = snapshot(roles), time.perf_counter() - started
    done = last - first
    print(f"herald  {done / elapsed:,.0f} deliveries/s  {per_delivery(before, after, done)}")
    await bench.enable(url, headers, queue_id, listener_id, enabled=False)
    await bench.stop(worker, api)
    for client in ("http", "reqwest"):
        before = snapshot({"receiver": receiver.pid})
        rate = await bench.baseline(client, f"{receiver_url}/raw", str(count))
        after = snapshot({"receiver": receiver.pid})
        sent = count + min(WARM_UP, count)  # the untimed warm-up reaches the receiver too
        print(f"raw {client:8} {rate:,.0f} requests/s  {per_delivery(before, after, sent)}")
    await bench.stop(receiver)


async def kafka(bench: Bench, count: int) -> None:
    api, url = await bench.api()
    headers, queue_id = await bench.org(url)
    topic = {"topic": f"herald-{new_id().hex[:8]}"}
    listener_id = await bench.listener(
        url, headers, queue_id, type="kafka", kafka=topic, max_in_flight=256, enabled=False
    )
    await bench.ingest_ndjson(url, headers, queue_id, bodies(count))
    worker = await bench.worker()
    await bench.settle()
    roles = {"worker": worker.pid, "api": api.pid}
    before, started = snapshot(roles), time.perf_counter()
    await bench.enable(url, headers, queue_id, listener_id)
    await wait_delivered(bench, listener_id, count, timeout_s=300)
    after, elapsed = snapshot(roles), time.perf_counter() - started
    print(f"herald  {count / elapsed:,.0f} records/s  {per_delivery(before, after, count)}")
    await bench.stop(worker, api)


def main(argv: list[str]) -> None:
    kind = argv[0] if argv else "webhook"
    count = int(argv[1]) if len(argv) > 1 else 30_000
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {int(LOAD_CORE)})
    bench = Bench("quick")
    try:
        asyncio.run(webhook(bench, count) if kind == "webhook" else kafka(bench, count))
    finally:
        asyncio.run(bench.close())


if __name__ == "__main__":
    main(sys.argv[1:])
