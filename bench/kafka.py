"""The kafka scenario: a Kafka listener's deliveries per second against a raw aiokafka
producer sending the same records to the same broker (batched, linger 5 ms)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp
import asyncpg

from bench.baselines import BODY_300
from bench.run import Bench
from service.lib.ids import new_id


async def kafka_listener(bench: Bench) -> dict[str, Any]:
    count = 5_000 if bench.quick else 20_000
    bootstrap = bench.stack.kafka_bootstrap
    baseline = await bench.baseline("kafka", bootstrap, f"raw-{new_id().hex[:8]}", str(count))
    api, url = await bench.api()
    headers, queue_id = await bench.org(url, listeners=0)
    topic = f"herald-{new_id().hex[:8]}"
    async with aiohttp.ClientSession(base_url=url, headers=headers) as session:
        body = {
            "name": "k",
            "type": "kafka",
            "kafka": {"topic": topic},
            "max_in_flight": 256,
            "enabled": False,
        }
        async with session.post(f"/v1/queues/{queue_id}/listeners", json=body) as response:
            assert response.status == 200, await response.text()
            listener_id = (await response.json())["listener"]["id"]
        lines = b"\n".join(BODY_300 % n for n in range(count))
        for start in range(0, count, 5000):
            chunk = b"\n".join(lines.split(b"\n")[start : start + 5000])
            async with session.post(
                f"/v1/queues/{queue_id}/messages",
                data=chunk,
                headers={"content-type": "application/x-ndjson"},
            ) as response:
                assert response.status == 202
    worker = await bench.worker()
    started = time.perf_counter()
    await bench.enable_listeners(url, headers, queue_id)
    await wait_delivered(bench, listener_id, count, timeout_s=300)
    elapsed = time.perf_counter() - started
    await bench.stop(worker)
    await bench.stop(api)
    return {
        "value": count / elapsed,
        "baseline": baseline,
        "unit": "records/s",
        "target": 0.5,
        "note": "a held backlog, from enabling the listener to the last record",
    }


async def wait_delivered(bench: Bench, listener_id: str, count: int, timeout_s: float) -> None:
    dsn = bench.stack.database_url.replace("postgresql+asyncpg", "postgresql")
    connection = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout_s
        sql = "SELECT count(*) FROM deliveries WHERE listener_id = $1 AND status = 'delivered'"
        while await connection.fetchval(sql, uuid.UUID(listener_id)) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"kafka listener: not all {count} delivered in {timeout_s}s")
            await asyncio.sleep(0.1)
    finally:
        await connection.close()
