"""Ingest scenarios: single durable messages against a no-op Litestar POST, and NDJSON
requests of 1,000 messages against asyncpg COPY of the same rows."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.baselines import BODY_300
from bench.harness import Bench
from bench.load import post_loop
from service.embedded.process import free_port
from service.lib.ids import new_id

NDJSON_1000 = b"".join((BODY_300 % n) + b"\n" for n in range(1000))
# The ingest scenarios' listener: paused, so every message still gets its delivery row (the
# same ingest work) but no later scenario's worker inherits millions of failing deliveries.
NOWHERE = {"notify_url": "http://127.0.0.1:9/none", "enabled": False}


async def ingest_single(bench: Bench) -> dict[str, Any]:
    port = free_port()
    noop = await bench.spawn(
        sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "bench.noop_app:create",
    )  # fmt: skip
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
    await bench.listener(url, headers, queue_id, **NOWHERE)
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


async def ndjson_rate(bench: Bench, url: str, headers: dict[str, str], queue_id: str) -> float:
    """Messages/s of 4 concurrent clients sending NDJSON requests of 1,000 messages."""
    result = await post_loop(
        f"{url}/v1/queues/{queue_id}/messages",
        lambda _: NDJSON_1000,
        headers={**headers, "content-type": "application/x-ndjson"},
        concurrency=4,
        seconds=bench.seconds,
        expect=202,
    )
    return result.rate * 1000


async def ingest_batch(bench: Bench) -> dict[str, Any]:
    api, url = await bench.api()
    headers, queue_id = await bench.org(url)
    await bench.listener(url, headers, queue_id, **NOWHERE)
    herald = await ndjson_rate(bench, url, headers, queue_id)
    await bench.stop(api)
    baseline = await copy_baseline(bench, NDJSON_1000.splitlines())
    return {
        "value": herald,
        "baseline": baseline,
        "unit": "msg/s",
        "target": 0.5,
        "absolute_target": 50_000,
    }


async def copy_baseline(bench: Bench, rows: list[bytes]) -> float:
    """asyncpg COPY of the same rows (id, queue, body, time), 1,000 per transaction, 4 writers."""
    pool = await asyncpg.create_pool(bench.dsn, min_size=4, max_size=4)
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
                now = datetime.now(UTC)
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
