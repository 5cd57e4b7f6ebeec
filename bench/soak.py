"""The soak: `make soak` (10 minutes; CI does not run it).

    python -m bench.soak [--minutes 10] [--rate DELIVERIES_PER_S]

Five listeners on one queue, one of them flapping: its liveness probe and its endpoint go
down and up every 30 s. Single messages arrive at half the measured deliver-1 rate
(deliveries/s across the five listeners) for the whole run. Afterwards: every message has
reached every healthy listener, RSS of the API and the worker at start and end, and no
warning or error logged other than about the flapping listener.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from aiohttp import web

from bench.delivery import deliver_one_rate
from bench.harness import Bench
from service.embedded.process import free_port

FLAP_S = 30.0
LISTENERS = 5
RESULTS = Path(__file__).parent / "results" / "soak.json"


class SoakReceiver:
    """Counts message ids per listener; /flap and its liveness follow the flapping clock."""

    def __init__(self) -> None:
        self.port = free_port()
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.posts: dict[str, int] = defaultdict(int)
        self.started = time.monotonic()

    def flapping_up(self) -> bool:
        return int((time.monotonic() - self.started) / FLAP_S) % 2 == 0

    async def notify(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        await request.read()
        if name == "flap" and not self.flapping_up():
            return web.Response(status=503)
        self.posts[name] += 1
        self.seen[name].add(request.headers["herald-message-id"])
        return web.Response(text="ok")

    async def live(self, _: web.Request) -> web.Response:
        return web.Response(status=200 if self.flapping_up() else 503)

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/live/flap", self.live)
        app.router.add_post("/{name}", self.notify)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        return runner


def rss_mb(process: asyncio.subprocess.Process) -> float:
    root = psutil.Process(process.pid)
    return max(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20


def complaints(path: Path, flapping_id: str) -> list[dict[str, Any]]:
    """Warnings and errors in a JSON log that are not about the flapping listener."""
    found = []
    for line in path.read_text().splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("level") in ("warning", "error", "critical") and flapping_id not in line:
            found.append(entry)
    return found


async def soak(bench: Bench, minutes: float, rate: float | None) -> dict[str, Any]:
    deliveries_per_s = rate or await deliver_one_rate(bench) / 2
    messages_per_s = deliveries_per_s / LISTENERS
    receiver = SoakReceiver()
    runner = await receiver.start()
    logs = bench.data / "soak-logs"
    logs.mkdir(exist_ok=True)
    env = {"HERALD_LIVENESS_INTERVAL_S": "2", "HERALD_LOG_FORMAT": "json"}
    api, url = await bench.api(**env, log_path=logs / "api.log")
    worker = await bench.worker(**env, log_path=logs / "worker.log")
    headers, queue_id = await bench.org(url)
    base = f"http://127.0.0.1:{receiver.port}"
    names = [f"l{n}" for n in range(LISTENERS - 1)] + ["flap"]
    ids = {}
    for name in names:
        fields = {"notify_url": f"{base}/{name}", "max_in_flight": 64}
        if name == "flap":
            fields["liveness_url"] = f"{base}/live/flap"
        ids[name] = await bench.listener(url, headers, queue_id, **fields)
    receiver.started = time.monotonic()
    acknowledged: set[str] = set()
    errors = 0
    rss: dict[str, list[tuple[float, float]]] = {"api": [], "worker": []}
    interval = 1.0 / messages_per_s
    total = int(minutes * 60 * messages_per_s)
    async with aiohttp.ClientSession(
        base_url=url, headers={**headers, "content-type": "application/json", "sync": "1"}
    ) as session:

        async def one(n: int) -> None:
            nonlocal errors
            body = json.dumps({"n": n, "pad": "x" * 260}).encode()
            try:
                async with session.post(f"/v1/queues/{queue_id}/messages", data=body) as response:
                    if response.status == 200:
                        acknowledged.add((await response.json())["messages"][0]["id"])
                    else:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1

        started = time.perf_counter()
        tasks: set[asyncio.Task[None]] = set()
        next_sample = started
        for n in range(total):
            now = time.perf_counter()
            if now >= next_sample:
                elapsed = now - started
                rss["api"].append((elapsed, rss_mb(api)))
                rss["worker"].append((elapsed, rss_mb(worker)))
                next_sample += 30.0
            delay = started + n * interval - now
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    ingest_s = time.perf_counter() - started
    healthy = [n for n in names if n != "flap"]
    deadline = time.monotonic() + 300
    while any(not acknowledged <= receiver.seen[n] for n in healthy):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    rss["api"].append((time.perf_counter() - started, rss_mb(api)))
    rss["worker"].append((time.perf_counter() - started, rss_mb(worker)))
    await bench.stop(worker, api)
    await runner.cleanup()
    missing = {n: len(acknowledged - receiver.seen[n]) for n in names}
    result = {
        "minutes": minutes,
        "offered_deliveries_per_s": deliveries_per_s,
        "messages_acknowledged": len(acknowledged),
        "ingest_errors": errors,
        "ingest_seconds": ingest_s,
        "missing_per_listener": missing,
        "duplicates_per_listener": {n: receiver.posts[n] - len(receiver.seen[n]) for n in names},
        "rss_mb": {role: [round(mb, 1) for _, mb in samples] for role, samples in rss.items()},
        "complaints": {
            role: complaints(logs / f"{role}.log", ids["flap"])[:20] for role in ("api", "worker")
        },
    }
    result["healthy_complete"] = all(missing[n] == 0 for n in healthy)
    return result


async def main(minutes: float, rate: float | None) -> dict[str, Any]:
    bench = await asyncio.to_thread(Bench, "quick")
    try:
        return await soak(bench, minutes, rate)
    finally:
        await bench.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--rate", type=float, default=None, help="deliveries/s (default: half of deliver-1)"
    )
    args = parser.parse_args()
    outcome = asyncio.run(main(args.minutes, args.rate))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(outcome, indent=2) + "\n")
    print(json.dumps(outcome, indent=2))
