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


async def send_typed(org: Org, queue_id: str, body: bytes, event_type: str | None) -> dict:
    headers = {"sync": "1", **({"herald-event-type": event_type} if event_type else {})}
    response = await org.post(f"/v1/queues/{queue_id}/messages", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


TYPED = [
    (b"1", "invoice.paid"),
    (b"2", "invoice.voided"),
    (b"3", "customer.created"),
    (b"4", "customer.deleted"),
    (b"5", "axb"),
    (b"6", "a_b"),
    (b"7", None),
]


async def test_listeners_receive_the_event_types_they_filter_for(
    org: Org, receiver: Receiver, worker: object
) -> None:
    queue = await org.create_queue()
    wanted = {
        "all": None,
        "invoices": ["invoice.*"],
        "exact": ["customer.created", "*.voided"],
        "underscore": ["a_b"],
    }
    for name, filter_types in wanted.items():
        listener = await org.create_listener(
            queue["id"], notify_url=receiver.url(name), filter_types=filter_types
        )
        assert listener["filter_types"] == filter_types
    for body, event_type in TYPED:
        await send_typed(org, queue["id"], body, event_type)
    await wait_for(lambda: len(receiver.at("all")) == 7, what="every message to 'all'")

    async def delivered(name: str) -> set[bytes]:
        return {r.body for r in receiver.at(name)}

    await wait_for(lambda: len(receiver.at("exact")) == 2, what="the exact and suffix matches")
    await wait_for(lambda: len(receiver.at("underscore")) == 1, what="the underscore match")
    assert await delivered("invoices") == {b"1", b"2"}
    assert await delivered("exact") == {b"2", b"3"}
    assert await delivered("underscore") == {b"6"}


@pytest.mark.parametrize("filter_types", [[], ["has space"], ["x" * 129], ["a%"]])
async def test_invalid_filter_types_are_refused(org: Org, filter_types: list[str]) -> None:
    queue = await org.create_queue()
    response = await org.post(
        f"/v1/queues/{queue['id']}/listeners",
        json={"name": "l", "notify_url": "http://127.0.0.1:9/x", "filter_types": filter_types},
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["field"].startswith("filter_types")


async def test_a_filter_can_be_changed_and_cleared(
    org: Org, receiver: Receiver, worker: object
) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(
        queue["id"], notify_url=receiver.url("changing"), filter_types=["a"]
    )
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    await send_typed(org, queue["id"], b"b-before", "b")
    patched = await org.patch(path, json={"filter_types": ["b"]})
    assert patched.json()["listener"]["filter_types"] == ["b"]
    await send_typed(org, queue["id"], b"b-after", "b")
    cleared = await org.patch(path, json={"filter_types": None})
    assert cleared.json()["listener"]["filter_types"] is None
    await send_typed(org, queue["id"], b"untyped", None)
    await wait_for(lambda: len(receiver.at("changing")) == 2, what="two deliveries")
    assert {r.body for r in receiver.at("changing")} == {b"b-after", b"untyped"}


async def test_an_ordered_listener_is_not_held_up_by_filtered_out_messages(
    org: Org, receiver: Receiver, worker: object
) -> None:
    queue = await org.create_queue()
    await org.create_listener(
        queue["id"], notify_url=receiver.url("ordered"), ordered=True, filter_types=["keep"]
    )
    for n in range(10):
        await send_typed(org, queue["id"], b"%d" % n, "keep" if n % 2 else "skip")
    await wait_for(lambda: len(receiver.at("ordered")) == 5, what="the kept messages")
    assert [r.body for r in receiver.at("ordered")] == [b"1", b"3", b"5", b"7", b"9"]


async def test_replay_gives_a_late_listener_only_what_its_filter_takes(org: Org) -> None:
    queue = await org.create_queue()
    sent = [await send_typed(org, queue["id"], body, t) for body, t in TYPED]
    listener = await org.create_listener(queue["id"], filter_types=["invoice.*", "a_b"])
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    replayed = await org.post(f"{path}/replay", json={"since": sent[0]["received_at"]})
    assert replayed.json() == {"replayed": 3}


async def test_each_item_takes_its_type_from_the_queues_event_type_field(
    org: Org, receiver: Receiver, worker: object
) -> None:
    created = await org.post(
        "/v1/queues", json={"name": "typed-items", "event_type_field": "/meta/type"}
    )
    queue = created.json()["queue"]
    assert queue["event_type_field"] == "/meta/type"
    await org.create_listener(
        queue["id"], notify_url=receiver.url("items"), filter_types=["order.*"]
    )
    path = f"/v1/queues/{queue['id']}/messages"
    ndjson = (
        b'{"meta": {"type": "order.placed"}, "n": 1}\n'
        b'{"meta": {"type": "bad type!"}, "n": 2}\n'
        b'{"meta": {"type": 7}, "n": 3}\n'
        b'{"n": 4}\n'
        b'{"meta": {"type": "order.paid"}, "n": 5}\n'
    )
    answer = await org.post(path, content=ndjson, headers={**NDJSON, "sync": "1"})
    assert answer.status_code == 200, answer.text
    assert [m["index"] for m in answer.json()["messages"]] == [0, 2, 3, 4]
    (failure,) = answer.json()["failures"]
    assert failure["index"] == 1 and "/meta/type" in failure["reason"]
    array = b'[{"meta": {"type": "order.shipped"}}, {"meta": {"type": "user.seen"}}]'
    await org.post(path, content=array, params={"split": "array"}, headers={"sync": "1"})
    # A request's own type wins over the field.
    await org.post(
        path,
        content=b'{"meta": {"type": "user.seen"}}',
        headers={"herald-event-type": "order.forced", "sync": "1"},
    )
    await wait_for(lambda: len(receiver.at("items")) == 4, what="the order.* messages")
    assert sorted(r.headers["herald-event-type"] for r in receiver.at("items")) == [
        "order.forced",
        "order.paid",
        "order.placed",
        "order.shipped",
    ]
    listed = (await org.get(f"{path}?limit=100")).json()["messages"]
    assert sorted(m["event_type"] or "-" for m in listed) == [
        "-",
        "-",
        "order.forced",
        "order.paid",
        "order.placed",
        "order.shipped",
        "user.seen",
    ]


async def test_the_event_type_field_is_a_json_pointer_and_can_be_changed(org: Org) -> None:
    bad = await org.post("/v1/queues", json={"name": "bad-field", "event_type_field": "type"})
    assert assert_problem(bad, 422)["errors"][0]["field"] == "event_type_field"
    queue = await org.create_queue()
    path = f"/v1/queues/{queue['id']}"
    patched = await org.patch(path, json={"event_type_field": "/kind"})
    assert patched.json()["queue"]["event_type_field"] == "/kind"
    answer = await org.post(f"{path}/messages", content=b'{"kind": "a.b"}', headers={"sync": "1"})
    message_id = answer.json()["messages"][0]["id"]
    detail = (await org.get(f"{path}/messages/{message_id}")).json()
    assert detail["message"]["event_type"] == "a.b"


async def test_the_catalog_lists_registered_types_and_counts_seen_ones(org: Org) -> None:
    queue = await org.create_queue()
    path = f"/v1/queues/{queue['id']}"
    for event_type, count in (("invoice.paid", 3), ("invoice.voided", 1)):
        body = b"".join(b'{"n": %d}\n' % n for n in range(count))
        answer = await org.post(
            f"{path}/messages", content=body, headers={**NDJSON, "herald-event-type": event_type}
        )
        assert answer.status_code == 202
    await org.post(f"{path}/messages", content=b"untyped")
    schema = {"type": "object", "required": ["amount"]}
    registered = await org.put(
        f"{path}/event-types/customer.created",
        json={"description": "A customer signed up", "schema": schema},
    )
    assert registered.status_code == 200, registered.text
    assert registered.json()["event_type"]["registered"] is True

    async def catalog() -> dict[str, dict]:
        listed = (await org.get(f"{path}/event-types")).json()["event_types"]
        return {entry["name"]: entry for entry in listed}

    async def counted() -> bool:
        found = await catalog()
        return found.get("invoice.paid", {}).get("messages") == 3

    await wait_for(counted, what="the counts written")
    found = await catalog()
    assert set(found) == {"customer.created", "invoice.paid", "invoice.voided"}
    assert found["invoice.voided"]["messages"] == 1 and found["invoice.voided"]["last_seen_at"]
    assert found["invoice.paid"]["registered"] is False
    assert found["customer.created"] == {
        "name": "customer.created",
        "description": "A customer signed up",
        "schema": schema,
        "registered": True,
        "messages": 0,
        "last_seen_at": None,
    }
    assert (await org.delete(f"{path}/event-types/customer.created")).status_code == 204
    assert "customer.created" not in await catalog()
    assert_problem(await org.delete(f"{path}/event-types/customer.created"), 404)
    assert_problem(await org.put(f"{path}/event-types/bad%20type", json={}), 422)


async def test_another_organizations_catalog_is_not_found(org: Org, other_org: Org) -> None:
    queue = await org.create_queue()
    path = f"/v1/queues/{queue['id']}/event-types"
    assert_problem(await other_org.get(path), 404)
    assert_problem(await other_org.put(f"{path}/a.b", json={}), 404)
