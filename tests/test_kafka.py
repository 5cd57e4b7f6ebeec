"""Kafka listeners end to end: a real Tansu broker and a real aiokafka consumer."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from service.config import Settings
from tests.conftest import Org
from tests.receiver import wait_for

pytestmark = pytest.mark.usefixtures("worker")


async def consume(settings: Settings, topic: str, count: int, timeout_s: float = 30.0) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=f"test-{uuid.uuid4().hex}",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(records) < count and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for partition_records in batch.values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


async def kafka_listener(org: Org, queue_id: str, topic: str, **fields: Any) -> dict[str, Any]:
    response = await org.post(
        f"/v1/queues/{queue_id}/listeners",
        json={
            "name": "kafka",
            "type": "kafka",
            "kafka": {"topic": topic, **fields.pop("kafka", {})},
            **fields,
        },
    )
    assert response.status_code == 200, response.text
    listener: dict[str, Any] = response.json()["listener"]
    return listener


async def test_a_thousand_messages_arrive_byte_for_byte_with_headers_keys_and_type(
    org: Org, settings: Settings
) -> None:
    queue = await org.create_queue()
    topic = f"herald-{uuid.uuid4().hex[:8]}"
    await kafka_listener(org, queue["id"], topic, max_in_flight=200)
    body = b"".join(b'{"n": %d}\n' % n for n in range(1000))
    response = await org.post(
        f"/v1/queues/{queue['id']}/messages",
        content=body,
        headers={
            "content-type": "application/x-ndjson",
            "sync": "1",
            "herald-event-type": "order.placed",
        },
    )
    ids = {m["id"]: m["index"] for m in response.json()["messages"]}
    records = await consume(settings, topic, 1000)
    assert len({r.value for r in records}) == 1000
    for record in records:
        headers = {k: v.decode() for k, v in record.headers}
        message_id = headers["herald-message-id"]
        assert record.value == b'{"n": %d}' % ids[message_id]
        assert record.key == message_id.encode()
        assert headers["content-type"] == "application/json"
        assert headers["herald-queue-id"] == queue["id"]
        assert uuid.UUID(headers["webhook-id"])
        assert headers["herald-event-type"] == "order.placed"


async def test_record_key_from_a_json_field_with_fallback(org: Org, settings: Settings) -> None:
    queue = await org.create_queue()
    topic = f"herald-{uuid.uuid4().hex[:8]}"
    listener = await kafka_listener(org, queue["id"], topic, kafka={"key": "customer_id"})
    body = b'{"customer_id": "c-42", "n": 1}\n{"customer_id": 7}\n{"other": 1}\n'
    await org.post(
        f"/v1/queues/{queue['id']}/messages",
        content=body,
        headers={"content-type": "application/x-ndjson", "sync": "1"},
    )
    records = {r.value: r for r in await consume(settings, topic, 3)}
    assert records[b'{"customer_id": "c-42", "n": 1}'].key == b"c-42"
    assert records[b'{"customer_id": 7}'].key == b"7"
    fallback = records[b'{"other": 1}']
    assert fallback.key == dict(fallback.headers)["herald-message-id"]
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}/deliveries"
    rows = (await org.get(path)).json()["deliveries"]
    await wait_for(lambda: _all_delivered(org, path), what="delivered")
    notes = []
    for row in rows:
        attempts = (await org.get(f"{path}/{row['id']}/attempts")).json()["attempts"]
        notes += [a["response_body"] for a in attempts]
    assert any("missing" in (n or "") for n in notes)


async def _all_delivered(org: Org, path: str) -> bool:
    rows = (await org.get(path)).json()["deliveries"]
    return bool(rows) and all(r["status"] == "delivered" for r in rows)


async def test_ordered_kafka_listener_keeps_ingest_order(org: Org, settings: Settings) -> None:
    queue = await org.create_queue()
    topic = f"herald-{uuid.uuid4().hex[:8]}"
    await kafka_listener(org, queue["id"], topic, ordered=True, kafka={"key": "k"})
    body = b"".join(b'{"k": "same", "n": %d}\n' % n for n in range(50))
    await org.post(
        f"/v1/queues/{queue['id']}/messages",
        content=body,
        headers={"content-type": "application/x-ndjson"},
    )
    records = await consume(settings, topic, 50)
    assert len({r.partition for r in records}) == 1
    assert [json.loads(r.value)["n"] for r in sorted(records, key=lambda r: r.offset)] == list(
        range(50)
    )


async def test_a_record_too_large_fails_at_once_without_retries(
    org: Org, settings: Settings
) -> None:
    queue = await org.create_queue()
    listener = await kafka_listener(org, queue["id"], f"herald-{uuid.uuid4().hex[:8]}")
    await org.post(f"/v1/queues/{queue['id']}/messages", content=b"x" * (1024 * 1024))
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}/deliveries"

    async def failed() -> bool:
        rows = (await org.get(path)).json()["deliveries"]
        return bool(rows) and rows[0]["status"] == "failed"

    await wait_for(failed, what="failed permanently")
    row = (await org.get(path)).json()["deliveries"][0]
    assert row["attempts"] == 1 and "too large" in row["last_error"]
