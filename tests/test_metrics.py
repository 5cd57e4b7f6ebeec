"""Prometheus metrics: the API's /metrics adds up every process; each worker has its own port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.receiver import Receiver, statuses, wait_for
from tests.stack import Stack


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    stack = await Stack(HERALD_RETRY_SCHEDULE_S="[30]").start()
    yield stack
    await stack.stop()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics: dict, name: str, **labels: str) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


async def scrape(url: str) -> dict:
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_ingest_delivery_outcomes_latency_and_backlog_per_listener(
    stack: Stack, receiver: Receiver
) -> None:
    receiver.on("down", statuses(500))
    async with stack.client() as client:
        queue = (await client.post("/v1/queues", json={"name": "metered"})).json()["queue"]
        listeners = {}
        for name in ("up", "down"):
            body = {"name": name, "notify_url": receiver.url(name)}
            response = await client.post(f"/v1/queues/{queue['id']}/listeners", json=body)
            listeners[name] = response.json()["listener"]["id"]
        lines = b"".join(b'{"n": %d}\n' % n for n in range(30)) + b"not json\n"
        response = await client.post(
            f"/v1/queues/{queue['id']}/messages",
            content=lines,
            headers={"content-type": "application/x-ndjson"},
        )
        assert response.json()["accepted"] == 30
    # "down" answers 500: its circuit opens after the first failures, the rest wait.
    await wait_for(lambda: len(receiver.at("up")) == 30 and len(receiver.at("down")) > 0)

    api_url = f"{stack.url}/metrics"
    queue_id, up, down = queue["id"], listeners["up"], listeners["down"]

    async def settled() -> bool:
        metrics = await scrape(api_url)
        return (
            value(metrics, "herald_ingested_messages_total") == 30
            # A receiver has its request before the worker records (and publishes) it.
            and value(
                metrics, "herald_delivery_attempts_total", type="webhook", outcome="delivered"
            )
            == 30
            and value(metrics, "herald_delivery_attempts_total", type="webhook", outcome="retry")
            == len(receiver.at("down"))
            and value(
                metrics,
                "herald_listener_backlog",
                queue_id=queue_id,
                listener_id=down,
                status="pending",
            )
            == 30
        )

    await wait_for(settled, what="counters published and attempts recorded")
    metrics = await scrape(api_url)
    assert value(metrics, "herald_ingested_messages_total") == 30
    assert value(metrics, "herald_ingested_bytes_total") == sum(
        len(b'{"n": %d}' % n) for n in range(30)
    )
    assert value(metrics, "herald_rejected_messages_total") == 1
    assert (
        value(metrics, "herald_delivery_attempts_total", type="webhook", outcome="delivered") == 30
    )
    attempts = 30 + len(receiver.at("down"))
    assert value(metrics, "herald_attempt_duration_seconds_count", type="webhook") == attempts
    assert (
        value(metrics, "herald_attempt_duration_seconds_bucket", type="webhook", le="+Inf")
        == attempts
    )
    backlog = {"queue_id": queue_id, "listener_id": up}
    assert value(metrics, "herald_listener_backlog", **backlog, status="pending") == 0
    assert value(metrics, "herald_listener_oldest_pending_age_seconds", **backlog) == 0
    waiting = {"queue_id": queue_id, "listener_id": down}
    assert 0 < value(metrics, "herald_listener_oldest_pending_age_seconds", **waiting) < 60
    assert value(metrics, "herald_listener_health", **waiting, state="unknown") == 1

    own = await scrape(f"http://127.0.0.1:{stack.worker_metrics_port}/metrics")
    assert value(own, "herald_delivery_attempts_total", type="webhook", outcome="delivered") == 30
    assert value(own, "herald_ingested_messages_total") == 0  # the worker ingests nothing


async def test_logs_are_json_lines_carrying_the_ids_they_concern(
    stack: Stack, receiver: Receiver
) -> None:
    receiver.on("refuses", statuses(503))
    async with stack.client() as client:
        queue = (await client.post("/v1/queues", json={"name": "logged"})).json()["queue"]
        body = {"name": "refuses", "notify_url": receiver.url("refuses")}
        response = await client.post(f"/v1/queues/{queue['id']}/listeners", json=body)
        listener_id = response.json()["listener"]["id"]
        sent = await client.post(
            f"/v1/queues/{queue['id']}/messages", content=b"{}", headers={"sync": "1"}
        )
        message_id = sent.json()["messages"][0]["id"]

    def failure_logged() -> bool:
        return any(line.get("event") == "attempt failed" for line in stack.logs("workers"))

    await wait_for(failure_logged, what="the failed attempt in the worker's log")
    line = next(line for line in stack.logs("workers") if line["event"] == "attempt failed")
    assert line["queue_id"] == queue["id"]
    assert line["listener_id"] == listener_id
    assert line["message_id"] == message_id
    assert line["status_code"] == 503
    assert line["attempt"] == 1
    assert line["level"] == "info"
    assert line["next_attempt_at"] is not None
    async with stack.client() as client:
        listed = await client.get(f"/v1/queues/{queue['id']}/listeners/{listener_id}/deliveries")
    assert line["delivery_id"] == listed.json()["deliveries"][0]["id"]
    assert {"timestamp", "logger"} <= set(line)
