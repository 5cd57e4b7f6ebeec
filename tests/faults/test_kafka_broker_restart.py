"""Kafka broker stopped and started again under a Kafka listener: deliveries wait, are
retried on the listener's schedule, and every message arrives once the broker is back.

Tansu is memory-only, so a restart empties it: what arrived before the stop is read first.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from service.embedded.kafka import EmbeddedKafka
from tests.receiver import wait_for
from tests.stack import Stack

BEFORE, DURING = 150, 150


@pytest.fixture
async def broker() -> AsyncIterator[EmbeddedKafka]:
    kafka = EmbeddedKafka(Path(tempfile.mkdtemp(prefix="herald-tansu-")))
    await asyncio.to_thread(kafka.start)
    yield kafka
    await asyncio.to_thread(kafka.stop)


@pytest.fixture
async def stack(broker: EmbeddedKafka) -> AsyncIterator[Stack]:
    stack = await Stack(HERALD_KAFKA_BOOTSTRAP=broker.bootstrap, HERALD_LEASE_S="20").start()
    yield stack
    await stack.stop()


async def _message_ids(bootstrap: str, topic: str, expected: list[str]) -> list[str]:
    """herald-message-id of every record in the topic, read from the start until every
    expected id was seen (duplicates included, so a count of records would stop early)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"test-{uuid.uuid4().hex}",
        enable_auto_commit=False,
    )
    await consumer.start()
    ids: list[str] = []
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not set(expected) <= set(ids) and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                ids.extend(dict(r.headers)["herald-message-id"].decode() for r in records)
    finally:
        await consumer.stop()
    return ids


async def _ingest(stack: Stack, queue_id: str, first: int, count: int) -> list[str]:
    body = b"".join(b'{"n": %d}\n' % n for n in range(first, first + count))
    async with stack.client() as client:
        response = await client.post(
            f"/v1/queues/{queue_id}/messages",
            content=body,
            headers={"content-type": "application/x-ndjson", "Sync": "1"},
        )
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["messages"]]


async def _count(stack: Stack, listener_id: str, where: str) -> int:
    rows = await stack.sql(
        f"SELECT count(*) FROM deliveries WHERE listener_id = CAST(:l AS uuid) AND {where}",
        l=listener_id,
    )
    return int(rows[0][0])


async def test_every_message_arrives_across_a_broker_restart(
    stack: Stack, broker: EmbeddedKafka
) -> None:
    topic = f"restart-{uuid.uuid4().hex[:8]}"
    async with stack.client() as client:
        queue = (await client.post("/v1/queues", json={"name": topic})).json()["queue"]
        listener = (
            await client.post(
                f"/v1/queues/{queue['id']}/listeners",
                json={
                    "name": "kafka",
                    "type": "kafka",
                    "kafka": {"topic": topic},
                    "retry_schedule_s": [1, 1, 2],
                    "max_attempts": 50,
                },
            )
        ).json()["listener"]

    before = await _ingest(stack, queue["id"], 0, BEFORE)
    await wait_for(
        lambda: _delivered(stack, listener["id"], BEFORE), timeout_s=60, what="first deliveries"
    )
    read_before = await _message_ids(broker.bootstrap, topic, before)
    assert sorted(set(read_before)) == sorted(before)

    await asyncio.to_thread(broker.stop)
    during = await _ingest(stack, queue["id"], BEFORE, DURING)
    await wait_for(
        lambda: _failed_attempts_exist(stack, listener["id"]),
        timeout_s=60,
        what="attempts failing while the broker is down",
    )
    assert await _count(stack, listener["id"], "status = 'delivered'") == BEFORE

    await asyncio.to_thread(broker.start)
    await wait_for(
        lambda: _delivered(stack, listener["id"], BEFORE + DURING),
        timeout_s=120,
        what="deliveries after the restart",
    )
    read_after = await _message_ids(broker.bootstrap, topic, during)
    assert set(read_before) | set(read_after) == set(before) | set(during)
    duplicates = len(read_before) + len(read_after) - len(set(read_before) | set(read_after))
    failed_attempts = await _failed_attempts(stack, listener["id"])
    print(f"broker restart: {duplicates} duplicates, {failed_attempts} failed attempts")
    # Retried on the schedule, not in a busy loop: a few attempts each at most.
    assert failed_attempts <= DURING * 10


async def _delivered(stack: Stack, listener_id: str, count: int) -> bool:
    return await _count(stack, listener_id, "status = 'delivered'") >= count


async def _failed_attempts(stack: Stack, listener_id: str) -> int:
    rows = await stack.sql(
        "SELECT count(*) FROM attempts a"
        " WHERE a.listener_id = CAST(:l AS uuid) AND a.error IS NOT NULL",
        l=listener_id,
    )
    return int(rows[0][0])


async def _failed_attempts_exist(stack: Stack, listener_id: str) -> bool:
    return await _failed_attempts(stack, listener_id) > 0
