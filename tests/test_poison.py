"""Poison fails alone: input that breaks a parser costs its own item or attempt, never the
request, the claim or the worker's task."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from aiohttp import web

from service.config import Settings
from tests.conftest import Org, assert_problem
from tests.receiver import Receiver, wait_for
from tests.test_kafka import consume, kafka_listener

DEEP = b"[" * 5000 + b"]" * 5000  # deeper than any JSON decoder's recursion limit


async def test_a_deeply_nested_ndjson_line_is_rejected_alone(org: Org) -> None:
    queue = await org.create_queue()
    body = b'{"n": 1}\n' + DEEP + b'\n{"n": 2}\n'
    response = await org.post(
        f"/v1/queues/{queue['id']}/messages",
        content=body,
        headers={"content-type": "application/x-ndjson", "sync": "1"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert [m["index"] for m in result["messages"]] == [0, 2]
    (failure,) = result["failures"]
    assert failure["index"] == 1 and "nested too deeply" in failure["reason"]


async def test_a_deeply_nested_inlet_line_is_rejected_alone(org: Org) -> None:
    queue = await org.create_queue()
    inlet = (await org.post(f"/v1/queues/{queue['id']}/inlets", json={"name": "in"})).json()
    response = await org.http.post(
        inlet["inlet"]["url"],
        content=DEEP + b'\n{"n": 2}\n',
        headers={"content-type": "application/x-ndjson", "sync": "1"},
    )
    assert response.status_code == 200, response.text
    assert [f["index"] for f in response.json()["failures"]] == [0]


async def test_a_deeply_nested_array_body_is_a_problem_not_a_500(org: Org) -> None:
    queue = await org.create_queue()
    response = await org.post(
        f"/v1/queues/{queue['id']}/messages?split=array", content=b"[1, " + DEEP + b"]"
    )
    body = assert_problem(response, 422)
    assert "nested too deeply" in body["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/queues"),
        ("POST", "/v1/api-keys"),
        ("PATCH", "/v1/queues/{queue}"),
        ("POST", "/v1/queues/{queue}/listeners"),
        ("PATCH", "/v1/queues/{queue}/listeners/{listener}"),
        ("POST", "/v1/queues/{queue}/listeners/{listener}/replay"),
    ],
)
async def test_a_deeply_nested_management_body_is_a_400(org: Org, method: str, path: str) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(queue["id"], enabled=False)
    url = path.format(queue=queue["id"], listener=listener["id"])
    body = b'{"name": ' + DEEP + b"}"
    response = await org.request(
        method, url, content=body, headers={"content-type": "application/json"}
    )
    assert "nested too deeply" in assert_problem(response, 400)["detail"]


@pytest.mark.usefixtures("worker")
async def test_a_unicode_retry_after_is_ignored_and_the_schedule_applies(
    org: Org, receiver: Receiver
) -> None:
    async def superscript(_: web.Request, n: int) -> web.StreamResponse:
        if n == 1:  # '²' passes str.isdigit() and fails float()
            return web.Response(status=429, headers={"Retry-After": "\u00b2"})
        return web.Response(text="ok")

    receiver.on("sup", superscript)
    queue = await org.create_queue()
    listener = await org.create_listener(
        queue["id"], notify_url=receiver.url("sup"), retry_schedule_s=[0.2]
    )
    response = await org.post(
        f"/v1/queues/{queue['id']}/messages", content=b"x", headers={"sync": "1"}
    )
    message_id = response.json()["messages"][0]["id"]
    await wait_for(lambda: len(receiver.at("sup")) >= 2, timeout_s=10, what="the retry")
    base = f"/v1/queues/{queue['id']}/listeners/{listener['id']}/deliveries/{message_id}"

    async def both_recorded() -> bool:
        return len((await org.get(f"{base}/attempts")).json()["attempts"]) == 2

    await wait_for(both_recorded, timeout_s=10, what="both attempts recorded")
    first, second = (await org.get(f"{base}/attempts")).json()["attempts"]
    assert first["status_code"] == 429 and second["status_code"] == 200


@pytest.mark.usefixtures("worker")
async def test_a_kafka_body_too_deep_for_its_key_is_keyed_by_its_id_beside_healthy_ones(
    org: Org, settings: Settings
) -> None:
    queue = await org.create_queue()
    topic = f"herald-poison-{uuid.uuid4().hex[:8]}"
    listener = await kafka_listener(
        org, queue["id"], topic, kafka={"key": "customer_id"}, enabled=False
    )
    path = f"/v1/queues/{queue['id']}/messages"
    healthy = b"".join(b'{"customer_id": "c1", "n": %d}\n' % n for n in range(20))
    response = await org.post(
        path, content=healthy, headers={"content-type": "application/x-ndjson", "sync": "1"}
    )
    healthy_ids = {m["id"] for m in response.json()["messages"]}
    poison = b'{"customer_id": "c2", "deep": ' + DEEP + b"}"
    response = await org.post(path, content=poison, headers={"sync": "1"})
    poison_id = response.json()["messages"][0]["id"]
    base = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    assert (await org.patch(base, json={"enabled": True})).status_code == 200

    records = await consume(settings, topic, 21)
    counts = Counter(dict(r.headers)["herald-message-id"].decode() for r in records)
    assert set(counts) == healthy_ids | {poison_id}
    assert max(counts.values()) <= 2, counts
    keys = {dict(r.headers)["herald-message-id"].decode(): r.key for r in records}
    assert keys[poison_id] == poison_id.encode()
    assert all(keys[id_] == b"c1" for id_ in healthy_ids)

    async def poison_delivered() -> bool:
        view = (await org.get(f"{path}/{poison_id}")).json()
        return bool(view["deliveries"][0]["status"] == "delivered")

    await wait_for(poison_delivered, what="the poison delivery recorded")
    (attempt,) = (await org.get(f"{base}/deliveries/{poison_id}/attempts")).json()["attempts"]
    assert "keyed by message id" in attempt["response_body"]
