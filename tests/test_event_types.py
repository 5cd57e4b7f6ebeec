"""Messages carry an event type, given per request (the Herald-Event-Type header or
?event_type=): shown in message views, batch downloads and attempts, and sent with each
webhook as herald-event-type."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.conftest import Org, assert_problem
from tests.receiver import Receiver, wait_for

NDJSON = {"content-type": "application/x-ndjson"}


async def test_a_requests_event_type_goes_with_each_of_its_messages(
    org: Org, receiver: Receiver, worker: object
) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(queue["id"], notify_url=receiver.url("typed"))
    path = f"/v1/queues/{queue['id']}/messages"
    typed = await org.post(
        path,
        content=b'{"n": 1}\n{"n": 2}\n',
        headers={**NDJSON, "herald-event-type": "invoice.paid", "sync": "1"},
    )
    assert typed.status_code == 200, typed.text
    by_query = await org.post(
        path, content=b"raw", params={"event_type": "customer:created_v2"}, headers={"sync": "1"}
    )
    untyped = await org.post(path, content=b"plain", headers={"sync": "1"})
    await wait_for(lambda: len(receiver.at("typed")) == 4, what="four deliveries")

    sent = {r.body: r.headers.get("herald-event-type") for r in receiver.at("typed")}
    assert sent == {
        b'{"n": 1}': "invoice.paid",
        b'{"n": 2}': "invoice.paid",
        b"raw": "customer:created_v2",
        b"plain": None,
    }
    messages = (await org.get(f"/v1/queues/{queue['id']}/messages")).json()["messages"]
    assert sorted((m["event_type"] or "") for m in messages) == [
        "",
        "customer:created_v2",
        "invoice.paid",
        "invoice.paid",
    ]
    download = await org.get(f"/v1/batches/{typed.json()['batch_id']}/messages")
    lines = [json.loads(line) for line in gzip.decompress(download.content).splitlines()]
    assert [line["event_type"] for line in lines] == ["invoice.paid", "invoice.paid"]

    message_id = by_query.json()["messages"][0]["id"]
    attempts = (
        f"/v1/queues/{queue['id']}/listeners/{listener['id']}/deliveries/{message_id}/attempts"
    )

    async def attempted() -> bool:
        return bool((await org.get(attempts)).json()["attempts"])

    await wait_for(attempted, what="the attempt recorded")
    (attempt,) = (await org.get(attempts)).json()["attempts"]
    assert attempt["event_type"] == "customer:created_v2"
    untyped_id = untyped.json()["messages"][0]["id"]
    detail = (await org.get(f"/v1/queues/{queue['id']}/messages/{untyped_id}")).json()
    assert detail["message"]["event_type"] is None


@pytest.mark.parametrize("event_type", ["", "has space", "x" * 129, "émoji", "a/b"])
async def test_an_invalid_event_type_refuses_the_request(org: Org, event_type: str) -> None:
    queue = await org.create_queue()
    response = await org.post(
        f"/v1/queues/{queue['id']}/messages", content=b"x", params={"event_type": event_type}
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["field"] == "event_type"


async def test_the_same_idempotency_key_with_another_event_type_is_refused(org: Org) -> None:
    queue = await org.create_queue()
    path = f"/v1/queues/{queue['id']}/messages"
    key = {"idempotency-key": "k-1"}
    first = await org.post(path, content=b"x", headers={**key, "herald-event-type": "a.b"})
    assert first.status_code == 202
    again = await org.post(path, content=b"x", headers={**key, "herald-event-type": "a.b"})
    assert again.json() == first.json()
    assert_problem(
        await org.post(path, content=b"x", headers={**key, "herald-event-type": "c"}), 422
    )
