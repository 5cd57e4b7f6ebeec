"""The kafka scenario: a Kafka listener's records per second for a held backlog, against a
raw aiokafka producer sending the same records to the same broker (batched, linger 5 ms)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg

from bench.delivery import bodies
from bench.harness import Bench
from service.lib.ids import new_id

DELIVERED = "SELECT count(*) FROM deliveries WHERE listener_id = $1 AND status = 'delivered'"
# Polled while the clock runs, so it must be cheap: the partial indexes of pending and of
# in-flight deliveries answer it without reading the listener's finished rows (counting
# those every 50 ms cost the core that Postgres and the broker share several ms a time).
OPEN = """
    SELECT EXISTS (SELECT 1 FROM deliveries WHERE listener_id = $1 AND status = 'pending')
        OR EXISTS (SELECT 1 FROM deliveries WHERE listener_id = $1 AND status = 'in_flight')
"""


def records(bench: Bench) -> int:
    """Enough for seconds of producing. Herald's clock includes the worker's one-time
    producer start and the new topic's metadata, the baseline's does not (it warms up
    first): with 20,000 records (about a second) a full run measured 13,648 records/s
    where 100,000 gave 16,162 on the same slow afternoon."""
    return int(bench.pick(full=100_000, quick=20_000, smoke=200))


async def kafka_listener(bench: Bench) -> dict[str, Any]:
    count = records(bench)
    bootstrap = bench.stack.kafka_bootstrap
    baseline = await bench.baseline("kafka", bootstrap, f"raw-{new_id().hex[:8]}", str(count))
    api, url = await bench.api()
    headers, queue_id = await bench.org(url)
    listener_id = await bench.listener(
        url, headers, queue_id,
        type="kafka", kafka={"topic": f"herald-{new_id().hex[:8]}"}, max_in_flight=256,
        enabled=False,
    )  # fmt: skip
    await bench.ingest_ndjson(url, headers, queue_id, bodies(count))
    worker = await bench.worker()
    started = time.perf_counter()
    await bench.enable(url, headers, queue_id, listener_id)
    await wait_delivered(bench, listener_id, count, timeout_s=300)
    elapsed = time.perf_counter() - started
    await bench.stop(worker, api)
    return {
        "value": count / elapsed,
        "baseline": baseline,
        "unit": "records/s",
        "target": 0.5,
        "note": "a held backlog, from enabling the listener to the last record",
    }


async def wait_delivered(bench: Bench, listener_id: str, count: int, timeout_s: float) -> None:
    connection = await asyncpg.connect(bench.dsn)
    try:
        deadline = time.monotonic() + timeout_s
        while await connection.fetchval(OPEN, uuid.UUID(listener_id)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"kafka listener: not all {count} delivered in {timeout_s}s")
            await asyncio.sleep(0.05)
        delivered = await connection.fetchval(DELIVERED, uuid.UUID(listener_id))
        if delivered < count:
            raise RuntimeError(f"kafka listener: {delivered} of {count} delivered")
    finally:
        await connection.close()
