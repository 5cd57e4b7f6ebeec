"""Routing scenarios: NDJSON ingest of typed messages (the queue's event_type_field) into a
queue of 10 listeners that each filter by type and body, and into one whose types have
schemas to check, each against the same ingest into 10 unfiltered listeners of a plain
typed queue, measured in turns in the same run."""

from __future__ import annotations

from typing import Any

import aiohttp

from bench.harness import Bench
from bench.ingest import NOWHERE, SLICES
from bench.load import Measure, interleaved, post_loop

KINDS = ["order", "invoice", "customer", "refund", "payout"]
ACTIONS = ["created", "paid"]
TYPES = [f"{kind}.{action}" for kind in KINDS for action in ACTIONS]
PAD = "x" * 200
NDJSON = b"".join(
    b'{"type": "%s", "amount": %d, "currency": "%s", "customer": {"id": "c%d"}, "pad": "%s"}\n'
    % (TYPES[n % len(TYPES)].encode(), n % 500, b"EUR" if n % 3 else b"USD", n, PAD.encode())
    for n in range(1000)
)
SCHEMA = {
    "type": "object",
    "required": ["type", "amount", "currency"],
    "properties": {
        "type": {"type": "string"},
        "amount": {"type": "integer", "minimum": 0},
        "currency": {"enum": ["EUR", "USD", "GBP"]},
        "customer": {
            "type": "object",
            "properties": {"id": {"type": "string", "pattern": "^c[0-9]+$"}},
        },
        "pad": {"type": "string", "maxLength": 1000},
    },
}


def filters(n: int) -> dict[str, Any]:
    """Listener n: one kind of event (two types of ten), over an amount, in one currency."""
    return {
        "filter_types": [f"{KINDS[n % len(KINDS)]}.*"],
        "filter": {"/amount": {"$gt": 50 * n}, "/currency": {"$in": ["EUR", "GBP"]}},
    }


async def typed_queue(bench: Bench, url: str, headers: dict[str, str], **fields: Any) -> str:
    queue_id = await bench.queue(url, headers)
    async with (
        aiohttp.ClientSession(base_url=url, headers=headers) as session,
        session.patch(
            f"/v1/queues/{queue_id}", json={"event_type_field": "/type", **fields}
        ) as response,
    ):
        assert response.status == 200, await response.text()
    return queue_id


async def register_schemas(url: str, headers: dict[str, str], queue_id: str) -> None:
    async with aiohttp.ClientSession(base_url=url, headers=headers) as session:
        for name in TYPES:
            path = f"/v1/queues/{queue_id}/event-types/{name}"
            async with session.put(path, json={"schema": SCHEMA}) as response:
                assert response.status == 200, await response.text()


def typed_ndjson(url: str, headers: dict[str, str], queue_id: str) -> Measure:
    """4 concurrent clients sending NDJSON requests of 1,000 typed messages."""
    return lambda seconds: post_loop(
        f"{url}/v1/queues/{queue_id}/messages",
        lambda _: NDJSON,
        headers={**headers, "content-type": "application/x-ndjson"},
        concurrency=4,
        seconds=seconds,
        expect=202,
    )


async def routing(bench: Bench) -> list[tuple[str, dict[str, Any]]]:
    api, url = await bench.api()
    headers, _ = await bench.org(url)
    plain = await typed_queue(bench, url, headers)
    filtered = await typed_queue(bench, url, headers)
    validated = await typed_queue(bench, url, headers, validate_schemas=True)
    await register_schemas(url, headers, validated)
    for n in range(10):
        await bench.listener(url, headers, plain, **NOWHERE)
        await bench.listener(url, headers, filtered, **NOWHERE, **filters(n))
        await bench.listener(url, headers, validated, **NOWHERE)
    slices = bench.pick(full=SLICES, quick=SLICES, smoke=1)
    rows = []
    for name, queue_id, target in (
        ("ingest-filtered", filtered, 0.8),
        ("ingest-validated", validated, 0.7),
    ):
        herald, baseline = await interleaved(
            typed_ndjson(url, headers, queue_id),
            typed_ndjson(url, headers, plain),
            seconds=bench.seconds,
            slices=slices,
        )
        rows.append(
            (
                name,
                {
                    "value": herald.rate * 1000,
                    "baseline": baseline.rate * 1000,
                    "unit": "msg/s",
                    "target": target,
                    "errors": herald.errors,
                },
            )
        )
    await bench.stop(api)
    return rows
