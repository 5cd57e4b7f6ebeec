"""Herald's benchmarks, each against a baseline measured in the same run on the same machine.

    python -m bench.run [--quick] [--runs N] [--only a,b]

Results: bench/results/latest.json ({"scenario": {"value", "baseline", "ratio", "target",
"unit"}}) and a table on stdout. Servers are pinned to core 0 and the load to core 1 when
the machine has two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.baselines import BODY_300
from bench.load import post_loop
from service.config import Settings
from service.embedded.process import free_port
from service.embedded.stack import EmbeddedStack
from service.lib.ids import new_id
from service.lib.secrets import new_encryption_key
from service.migrate import upgrade
from service.orgs import create_organization

RESULTS = Path(__file__).parent / "results" / "latest.json"
SERVER_CORE, LOAD_CORE = "0", "1"


def pin(core: str) -> list[str]:
    return ["taskset", "-c", core] if (os.cpu_count() or 1) >= 2 else []


class Bench:
    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.seconds = 3.0 if quick else 8.0
        self.data = Path(tempfile.mkdtemp(prefix="herald-bench-"))
        self.stack = EmbeddedStack(self.data).start()
        self.env = {
            **os.environ,
            **self.stack.env(),
            "HERALD_SECRET_KEY": new_encryption_key(),
            "HERALD_ALLOW_PRIVATE_TARGETS": "true",
            "HERALD_KAFKA_IDEMPOTENT": "false",
            "HERALD_RATE_LIMIT_PER_S": "1000000",
        }
        os.environ.update(self.env)
        upgrade(self.stack.database_url)
        self.settings = Settings()
        self.processes: list[asyncio.subprocess.Process] = []

    async def spawn(
        self, *args: str, core: str = SERVER_CORE, **env: str
    ) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            *pin(core),
            *args,
            env={**self.env, **env},
            start_new_session=True,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    async def stop(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), timeout=30)

    async def close(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.kill()
        self.stack.stop()

    async def wait_http(self, url: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                try:
                    async with session.get(url) as response:
                        if response.status < 500:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{url} did not answer")

    async def api(self) -> tuple[asyncio.subprocess.Process, str]:
        port = free_port()
        process = await self.spawn(
            sys.executable, "-m", "service.cli", "api", HERALD_PORT=str(port)
        )
        url = f"http://127.0.0.1:{port}"
        await self.wait_http(f"{url}/health/live")
        return process, url

    async def baseline(self, *args: str) -> float:
        """A bench.baselines run on the server core (where Herald's worker would be)."""
        process = await asyncio.create_subprocess_exec(
            *pin(SERVER_CORE),
            sys.executable,
            "-m",
            "bench.baselines",
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=300)
        if process.returncode != 0:
            raise RuntimeError(f"baseline {args[0]} failed ({process.returncode})")
        return float(out.decode().strip().splitlines()[-1])

    async def worker(self) -> asyncio.subprocess.Process:
        """A worker process, returned once it serves its metrics (its clients are up)."""
        port = free_port()
        process = await self.spawn(
            sys.executable, "-m", "workers", HERALD_WORKER_METRICS_PORT=str(port)
        )
        await self.wait_http(f"http://127.0.0.1:{port}/metrics")
        return process

    async def enable_listeners(self, url: str, headers: dict[str, str], queue_id: str) -> None:
        """Lets paused listeners go: the held backlog starts flowing from here."""
        async with aiohttp.ClientSession(base_url=url, headers=headers) as session:
            async with session.get(f"/v1/queues/{queue_id}/listeners?limit=100") as response:
                listeners = (await response.json())["listeners"]
            for listener in listeners:
                path = f"/v1/queues/{queue_id}/listeners/{listener['id']}"
                async with session.patch(path, json={"enabled": True}) as response:
                    assert response.status == 200, await response.text()

    async def org(
        self, url: str, listeners: int = 1, receiver: str | None = None, **fields: Any
    ) -> tuple[dict[str, str], str]:
        _, key = await create_organization(self.settings, "bench")
        headers = {"X-API-KEY": key}
        async with aiohttp.ClientSession(base_url=url, headers=headers) as session:
            async with session.post("/v1/queues", json={"name": f"q-{new_id()}"}) as response:
                queue_id = (await response.json())["queue"]["id"]
            for n in range(listeners):
                target = f"{receiver}/l{n}" if receiver else "http://127.0.0.1:9/none"
                body = {"name": f"l{n}", "notify_url": target, **fields}
                async with session.post(f"/v1/queues/{queue_id}/listeners", json=body) as response:
                    assert response.status == 200, await response.text()
        return headers, queue_id


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


async def ingest_single(bench: Bench) -> dict[str, Any]:
    port = free_port()
    noop = await bench.spawn(
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "bench.noop_app:create",
    )
    await bench.wait_http(f"http://127.0.0.1:{port}/noop")
    baseline = await post_loop(
        f"http://127.0.0.1:{port}/noop",
        lambda n: BODY_300 % n,
        headers={"content-type": "application/json"},
        concurrency=64,
        seconds=bench.seconds,
        expect=202,
    )
    await bench.stop(noop)
    api, url = await bench.api()
    headers, queue_id = await bench.org(url)
    herald = await post_loop(
        f"{url}/v1/queues/{queue_id}/messages",
        lambda n: BODY_300 % n,
        headers={**headers, "content-type": "application/json"},
        concurrency=64,
        seconds=bench.seconds,
        expect=202,
    )
    await bench.stop(api)
    return {
        "value": herald.rate,
        "baseline": baseline.rate,
        "unit": "req/s",
        "target": 0.6,
        "errors": herald.errors,
    }


async def ingest_batch(bench: Bench) -> dict[str, Any]:
    lines = b"".join(
        b'{"event": "order.paid", "order_id": %d, "pad": "' % n + b"x" * 240 + b'"}\n'
        for n in range(1000)
    )
    api, url = await bench.api()
    headers, queue_id = await bench.org(url)
    herald = await post_loop(
        f"{url}/v1/queues/{queue_id}/messages",
        lambda _: lines,
        headers={**headers, "content-type": "application/x-ndjson"},
        concurrency=4,
        seconds=bench.seconds,
        expect=202,
    )
    await bench.stop(api)
    baseline = await copy_baseline(bench, [line for line in lines.split(b"\n") if line])
    return {
        "value": herald.rate * 1000,
        "baseline": baseline,
        "unit": "msg/s",
        "target": 0.5,
        "absolute_target": 50_000,
    }


async def copy_baseline(bench: Bench, rows: list[bytes]) -> float:
    """asyncpg COPY of the same rows (id, queue, body, time), 1,000 per transaction, 4 writers."""
    dsn = bench.stack.database_url.replace("postgresql+asyncpg", "postgresql")
    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=4)
    await pool.execute(
        "CREATE TABLE IF NOT EXISTS bench_copy (id uuid, queue_id uuid, body bytea, at timestamptz)"
    )
    count = 0
    deadline = time.perf_counter() + bench.seconds

    async def writer() -> None:
        nonlocal count
        queue_id = new_id()
        while time.perf_counter() < deadline:
            async with pool.acquire() as connection, connection.transaction():
                now = __import__("datetime").datetime.now(__import__("datetime").UTC)
                await connection.copy_records_to_table(
                    "bench_copy",
                    records=[(new_id(), queue_id, row, now) for row in rows],
                    columns=("id", "queue_id", "body", "at"),
                )
            count += len(rows)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(4)))
    elapsed = time.perf_counter() - started
    await pool.execute("DROP TABLE bench_copy")
    await pool.close()
    return count / elapsed


async def deliver_one(bench: Bench) -> dict[str, Any]:
    count = 5_000 if bench.quick else 20_000
    receiver_port = free_port()
    receiver = await bench.spawn(
        sys.executable, "-m", "bench.receiver", str(receiver_port), core=LOAD_CORE
    )
    receiver_url = f"http://127.0.0.1:{receiver_port}"
    await bench.wait_http(f"{receiver_url}/stats")
    baseline = await bench.baseline("http", f"{receiver_url}/raw", str(count))
    api, url = await bench.api()
    headers, queue_id = await bench.org(url, receiver=receiver_url, max_in_flight=64, enabled=False)
    lines = b"".join((BODY_300 % n) + b"\n" for n in range(count))
    async with aiohttp.ClientSession(base_url=url, headers=headers) as session:
        for chunk in range(0, len(lines.splitlines()), 5000):
            part = b"\n".join(lines.splitlines()[chunk : chunk + 5000])
            async with session.post(
                f"/v1/queues/{queue_id}/messages",
                data=part,
                headers={"content-type": "application/x-ndjson"},
            ) as response:
                assert response.status == 202
    await post_reset(receiver_url)
    worker = await bench.worker()
    started = time.perf_counter()
    await bench.enable_listeners(url, headers, queue_id)
    await wait_count(receiver_url, count, timeout_s=300)
    elapsed = time.perf_counter() - started
    await bench.stop(worker)
    await bench.stop(api)
    await bench.stop(receiver)
    return {
        "value": count / elapsed,
        "baseline": baseline,
        "unit": "deliveries/s",
        "target": 0.6,
        "note": "a held backlog, from enabling the listener to the last delivery",
    }


async def post_reset(url: str) -> None:
    async with aiohttp.ClientSession() as session, session.post(f"{url}/reset") as response:
        await response.read()


async def receiver_stats(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/stats") as response:
        stats: dict[str, Any] = await response.json()
        return stats


async def wait_count(url: str, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while (await receiver_stats(url))["count"] < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {(await receiver_stats(url))['count']} of {count} delivered")
        await asyncio.sleep(0.05)


async def latency(bench: Bench, rate: float) -> dict[str, Any]:
    receiver_port = free_port()
    receiver = await bench.spawn(
        sys.executable, "-m", "bench.receiver", str(receiver_port), core=LOAD_CORE
    )
    receiver_url = f"http://127.0.0.1:{receiver_port}"
    await bench.wait_http(f"{receiver_url}/stats")
    api, url = await bench.api()
    worker = await bench.worker()
    headers, queue_id = await bench.org(url, receiver=receiver_url, max_in_flight=64)
    total = int(rate * bench.seconds)
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
    await wait_count(receiver_url, total, timeout_s=120)
    latencies = sorted((await receiver_stats(receiver_url))["latencies"])
    for process in (worker, api, receiver):
        await bench.stop(process)
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    return {
        "value": p50,
        "p99": p99,
        "offered_rate": rate,
        "unit": "ms (p50)",
        "target": 25,
        "baseline": None,
    }


SCENARIOS = {"ingest-single": ingest_single, "ingest-batch": ingest_batch, "deliver-1": deliver_one}


async def main(quick: bool, runs: int, only: list[str]) -> dict[str, Any]:
    os.sched_setaffinity(0, {int(LOAD_CORE)}) if (os.cpu_count() or 1) >= 2 else None
    bench = await asyncio.to_thread(Bench, quick)
    results: dict[str, Any] = {}
    try:
        from bench.kafka import kafka_listener  # imports this module

        for name, scenario in {**SCENARIOS, "kafka": kafka_listener}.items():
            if only and name not in only:
                continue
            samples = [await scenario(bench) for _ in range(runs)]
            results[name] = combine(samples)
            print(format_row(name, results[name]), flush=True)
        if not only or "latency" in only:
            rate = (results.get("deliver-1", {}).get("value") or 1000) / 2
            samples = [await latency(bench, rate) for _ in range(runs)]
            results["latency"] = combine(samples)
            print(format_row("latency", results["latency"]), flush=True)
    finally:
        await bench.close()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return results


def combine(samples: list[dict[str, Any]]) -> dict[str, Any]:
    values = [s["value"] for s in samples]
    combined = {**samples[0], "value": statistics.median(values), "runs": summary(values)}
    if samples[0].get("baseline") is not None:
        baselines = [s["baseline"] for s in samples]
        combined["baseline"] = statistics.median(baselines)
        combined["baseline_runs"] = summary(baselines)
        combined["ratio"] = statistics.median(s["value"] / s["baseline"] for s in samples)
    return combined


def format_row(name: str, result: dict[str, Any]) -> str:
    runs = result["runs"]
    text = f"{name:14} {result['value']:>10.1f} {result['unit']}"
    text += f" (min {runs['min']:.1f}, max {runs['max']:.1f})"
    if result.get("baseline") is not None:
        text += f"  baseline {result['baseline']:.1f}  ratio {result['ratio']:.2f}"
        text += f" (target {result['target']})"
    else:
        text += f"  target <= {result['target']}"
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.runs, [o for o in args.only.split(",") if o]))
