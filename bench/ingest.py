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
from bench.load import LoadResult, Measure, interleaved, post_loop
from service.embedded.process import free_port
from service.lib.ids import new_id

NDJSON_1000 = b"".join((BODY_300 % n) + b"\n" for n in range(1000))
# The ingest scenarios' listener: paused, so every message still gets its delivery row (the
# same ingest work) but no later scenario's worker inherits millions of failing deliveries.
NOWHERE = {"notify_url": "http://127.0.0.1:9/none", "enabled": False}


SLICES = 4  # turns each side of an ingest scenario gets (see bench.load.interleaved)


async def ingest_single(bench: Bench) -> dict[str, Any]:
    port = free_port()
    noop = await bench.spawn(
        sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "bench.noop_app:create",
    )  # fmt: skip
    await bench.wait_http(f"http://127.0.0.1:{port}/noop")
    api, url = await bench.api()
    headers, queue_id = await bench.org(url)
    await bench.listener(url, headers, queue_id, **NOWHERE)

    def single_messages(target: str, extra: dict[str, str]) -> Measure:
        return lambda seconds: post_loop(
            target,
            lambda n: BODY_300 % n,
            headers={**extra, "content-type": "application/json"},
            concurrency=64,
            seconds=seconds,
            expect=202,
        )

    herald, baseline = await interleaved(
        single_messages(f"{url}/v1/queues/{queue_id}/messages", headers),
        single_messages(f"http://127.0.0.1:{port}/noop", {}),
        seconds=bench.seconds,
        slices=bench.pick(full=SLICES, quick=SLICES, smoke=1),
    )
    await bench.stop(api, noop)
    return {
        "value": herald.rate,
        "baseline": baseline.rate,
        "unit": "req/s",
        "target": 0.4,
        "errors": herald.errors,
    }


def ndjson_requests(url: str, headers: dict[str, str], queue_id: str) -> Measure:
    """4 concurrent clients sending NDJSON requests of 1,000 messages."""
    return lambda seconds: post_loop(
        f"{url}/v1/queues/{queue_id}/messages",
        lambda _: NDJSON_1000,
        headers={**headers, "content-type": "application/x-ndjson"},
        concurrency=4,
        seconds=seconds,
        expect=202,
    )


async def ndjson_rate(bench: Bench, url: str, headers: dict[str, str], queue_id: str) -> float:
    """Messages/s of ndjson_requests for the scenario's length."""
    return (await ndjson_requests(url, headers, queue_id)(bench.seconds)).rate * 1000


async def ingest_batch(bench: Bench) -> dict[str, Any]:
    api, url = await bench.api()
    headers, queue_id = await bench.org(url)
    await bench.listener(url, headers, queue_id, **NOWHERE)
    pool = await asyncpg.create_pool(bench.dsn, min_size=4, max_size=4)
    await pool.execute(
        "CREATE TABLE IF NOT EXISTS bench_copy (id uuid, queue_id uuid, body bytea, at timestamptz)"
    )
    try:
        herald, baseline = await interleaved(
            ndjson_requests(url, headers, queue_id),
            lambda seconds: copy_rows(pool, NDJSON_1000.splitlines(), seconds),
            seconds=bench.seconds,
            slices=bench.pick(full=SLICES, quick=SLICES, smoke=1),
        )
    finally:
        await pool.execute("DROP TABLE bench_copy")
        await pool.close()
    await bench.stop(api)
    return {
        "value": herald.rate * 1000,
        "baseline": baseline.rate * 1000,
        "unit": "msg/s",
        "target": 0.5,
        "absolute_target": 50_000,
    }


async def copy_rows(pool: asyncpg.Pool, rows: list[bytes], seconds: float) -> LoadResult:
    """asyncpg COPY of the same rows (id, queue, body, time), 1,000 per transaction, 4 writers;
    a transaction counts as one request."""
    result = LoadResult()
    deadline = time.perf_counter() + seconds

    async def writer() -> None:
        queue_id = new_id()
        while time.perf_counter() < deadline:
            async with pool.acquire() as connection, connection.transaction():
                now = datetime.now(UTC)
                await connection.copy_records_to_table(
                    "bench_copy",
                    records=[(new_id(), queue_id, row, now) for row in rows],
                    columns=("id", "queue_id", "body", "at"),
                )
            result.requests += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(4)))
    result.seconds = time.perf_counter() - started
    return result
