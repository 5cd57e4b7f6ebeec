"""Listener filters: `filter_types` and a body `filter`, judged at ingest (and at replay),
so each listener receives exactly the messages it asked for."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.config import Settings
from service.messages.splitting import Item, Split
from service.routing.routing import JUDGED_PER_TURN, QueueRouting
from service.routing.selection import Selection
from tests.conftest import Org, assert_problem
from tests.receiver import Receiver, wait_for
from tests.test_kafka import consume, kafka_listener

NDJSON = {"content-type": "application/x-ndjson", "sync": "1"}


async def typed_queue(org: Org) -> dict[str, Any]:
    queue = await org.create_queue()
    response = await org.patch(f"/v1/queues/{queue['id']}", json={"event_type_field": "/type"})
    assert response.status_code == 200, response.text
    return queue


def ndjson(*events: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(event).encode() + b"\n" for event in events)


async def send(
    org: Org, queue_id: str, body: bytes, params: dict[str, str] | None = None, **headers: str
) -> dict[str, Any]:
    response = await org.post(
        f"/v1/queues/{queue_id}/messages",
        content=body,
        params=params or {},
        headers={"sync": "1", **headers},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def deliveries(org: Org, queue_id: str, listener_id: str) -> list[dict[str, Any]]:
    path = f"/v1/queues/{queue_id}/listeners/{listener_id}/deliveries"
    rows: list[dict[str, Any]] = (await org.get(path, params={"limit": 200})).json()["deliveries"]
    return rows


def bodies(receiver: Receiver, name: str) -> list[Any]:
    return [json.loads(r.body) if r.body[:1] == b"{" else r.body for r in receiver.at(name)]


# --- Each operator, through the test endpoint of a real listener -------------------------

DOC = {
    "type": "invoice.paid",
    "amount": 150,
    "price": 9.5,
    "currency": "EUR",
    "paid": True,
    "note": None,
    "tags": ["vip", "eu"],
    "customer": {"id": "c1", "tier": "gold"},
    "a/b": "slash",
    "lines": [{"sku": "x"}],
}
OPERATOR_CASES = [
    ({"/currency": "EUR"}, True),
    ({"/currency": "USD"}, False),
    ({"/amount": 150.0}, True),  # JSON equality: 150 == 150.0
    ({"/paid": 1}, False),  # true is not 1
    ({"/note": None}, True),
    ({"/missing": None}, False),  # a missing path is not null
    ({"/tags": ["vip", "eu"]}, True),  # arrays compare whole
    ({"/tags": "vip"}, False),
    ({"/customer": {"tier": "gold", "id": "c1"}}, True),
    ({"/customer": {"$eq": {"id": "c1"}}}, False),
    ({"/customer/tier": {"$eq": "gold"}}, True),
    ({"/a~1b": "slash"}, True),  # ~1 escapes a slash
    ({"/lines/0/sku": "x"}, True),
    ({"/lines/1/sku": {"$exists": False}}, True),
    ({"/currency": {"$ne": "USD"}}, True),
    ({"/missing": {"$ne": "USD"}}, True),
    ({"/currency": {"$in": ["USD", "EUR"]}}, True),
    ({"/amount": {"$in": [150.0, "x"]}}, True),
    ({"/paid": {"$in": [1, 0]}}, False),
    ({"/currency": {"$nin": ["USD", "GBP"]}}, True),
    ({"/missing": {"$nin": ["USD"]}}, True),
    ({"/note": {"$exists": True}}, True),
    ({"/missing": {"$exists": True}}, False),
    ({"/amount": {"$gt": 100}}, True),
    ({"/amount": {"$gt": 150}}, False),
    ({"/amount": {"$gte": 150}}, True),
    ({"/price": {"$lt": 10}}, True),
    ({"/price": {"$lte": 9.4}}, False),
    ({"/amount": {"$gt": 100, "$lt": 200}}, True),
    ({"/amount": {"$gt": 100, "$lt": 120}}, False),
    ({"/currency": {"$gt": "AAA"}}, True),  # strings by code point
    ({"/currency": {"$gt": 1}}, False),  # a string is not more than a number
    ({"/missing": {"$lt": 1}}, False),
    ({"$and": [{"/currency": "EUR"}, {"/amount": {"$gt": 100}}]}, True),
    ({"$and": [{"/currency": "EUR"}, {"/amount": {"$gt": 500}}]}, False),
    ({"$or": [{"/currency": "USD"}, {"/customer/tier": "gold"}]}, True),
    ({"$or": [{"/currency": "USD"}, {"/customer/tier": "silver"}]}, False),
    ({"$not": {"/currency": "USD"}}, True),
    ({"$not": {"/missing": {"$lt": 1}}}, True),
    ({"/currency": "EUR", "$not": {"/paid": True}}, False),
]


async def test_each_operator_decides_as_documented(org: Org) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(queue["id"])
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    for body_filter, expected in OPERATOR_CASES:
        response = await org.patch(path, json={"filter": body_filter})
        assert response.status_code == 200, response.text
        assert response.json()["listener"]["filter"] == body_filter
        verdict = await org.post(f"{path}/filter/test", json={"payload": DOC})
        assert verdict.status_code == 200, verdict.text
        assert verdict.json() == {"matches": expected}, body_filter


async def test_the_test_endpoint_judges_the_event_type_with_the_body(org: Org) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(
        queue["id"], filter_types=["invoice.*"], filter={"/amount": {"$gt": 100}}
    )
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}/filter/test"

    async def verdict(**test: Any) -> bool:
        response = await org.post(path, json=test)
        assert response.status_code == 200, response.text
        matches: bool = response.json()["matches"]
        return matches

    assert await verdict(payload={"amount": 101}, event_type="invoice.paid")
    assert not await verdict(payload={"amount": 101}, event_type="customer.created")
    assert not await verdict(payload={"amount": 101})  # untyped: not for filter_types
    assert not await verdict(payload={"amount": 99}, event_type="invoice.paid")
    assert not await verdict(payload=[1, 2], event_type="invoice.paid")
    bad = await org.post(path, json={"payload": {}, "event_type": "has space"})
    assert_problem(bad, 422)


INVALID_FILTERS = [
    ({}, "filter"),
    ([], "filter"),
    ({"type": "x"}, 'filter["type"]'),
    ({"/a": {"$regex": "x"}}, 'filter["/a"]["$regex"]'),
    ({"/a": {"$gt": [1]}}, 'filter["/a"]["$gt"]'),
    ({"/a": {"$gt": True}}, 'filter["/a"]["$gt"]'),
    ({"/a": {"$in": "x"}}, 'filter["/a"]["$in"]'),
    ({"/a": {"$exists": 1}}, 'filter["/a"]["$exists"]'),
    ({"/a": {"$eq": 1, "b": 2}}, 'filter["/a"]'),
    ({"/a~2": 1}, 'filter["/a~2"]'),
    ({"$and": []}, 'filter["$and"]'),
    ({"$or": [{"/a": 1}, {}]}, 'filter["$or"][1]'),
    ({"$nor": [{"/a": 1}]}, 'filter["$nor"]'),
    ({"$not": {"$not": {"/a": {"$lt": "x", "$foo": 1}}}}, 'filter["$not"]["$not"]["/a"]["$foo"]'),
    ({"/a": {"$in": list(range(101))}}, 'filter["/a"]["$in"]'),
]


@pytest.mark.parametrize(("body_filter", "field"), INVALID_FILTERS)
async def test_an_invalid_filter_is_refused_naming_its_path(
    org: Org, body_filter: Any, field: str
) -> None:
    queue = await org.create_queue()
    created = await org.post(
        f"/v1/queues/{queue['id']}/listeners",
        json={"name": "l", "notify_url": "http://127.0.0.1:9/h", "filter": body_filter},
    )
    problem = assert_problem(created, 422)
    assert problem["errors"][0]["field"] in (field, "filter", "$.filter"), problem
    if field != "filter":
        assert problem["errors"][0]["field"] == field
    listener = await org.create_listener(queue["id"])
    patched = await org.patch(
        f"/v1/queues/{queue['id']}/listeners/{listener['id']}", json={"filter": body_filter}
    )
    assert_problem(patched, 422)


async def test_filters_that_are_too_deep_or_too_large_are_refused(org: Org) -> None:
    queue = await org.create_queue()
    deep: dict[str, Any] = {"/a": 1}
    for _ in range(9):
        deep = {"$not": deep}
    wide = {f"/k{i}": i for i in range(101)}
    huge = {"/a": {"$in": ["x" * 200] * 100}}
    for body_filter in (deep, wide, huge):
        response = await org.post(
            f"/v1/queues/{queue['id']}/listeners",
            json={"name": "l", "notify_url": "http://127.0.0.1:9/h", "filter": body_filter},
        )
        assert_problem(response, 422)


# --- Delivery: each listener gets what it asked for, and nothing is written for the rest --

BILLING = [
    {"type": "invoice.paid", "amount": 250, "currency": "EUR", "n": 1},
    {"type": "invoice.paid", "amount": 50, "currency": "EUR", "n": 2},
    {"type": "invoice.voided", "amount": 300, "currency": "USD", "n": 3},
    {"type": "customer.created", "id": "c1", "n": 4},
    {"type": "customer.deleted", "id": "c2", "test": True, "n": 5},
    {"amount": 999, "currency": "EUR", "n": 6},  # untyped
    {"type": "invoice.paid", "amount": "lots", "currency": "EUR", "n": 7},
]


async def test_each_listener_receives_exactly_the_messages_its_filters_select(
    org: Org, receiver: Receiver, worker: object
) -> None:
    queue = await typed_queue(org)
    wanted = {
        "big-eur-invoices": {
            "filter_types": ["invoice.*"],
            "filter": {"/amount": {"$gt": 100}, "/currency": "EUR"},
        },
        "customers": {"filter_types": ["customer.*"]},
        "no-tests": {"filter": {"$not": {"/test": True}}},
        "everything": {},
    }
    listeners = {
        name: await org.create_listener(queue["id"], notify_url=receiver.url(name), **fields)
        for name, fields in wanted.items()
    }
    await send(org, queue["id"], ndjson(*BILLING[:5]), **NDJSON)  # typed per item
    await send(org, queue["id"], json.dumps(BILLING[5:]).encode(), {"split": "array"})
    await send(org, queue["id"], b"not json", **{"herald-event-type": "invoice.paid"})

    await wait_for(lambda: len(receiver.at("everything")) == 8, what="all 8 to 'everything'")
    await wait_for(lambda: len(receiver.at("no-tests")) == 6, what="6 to 'no-tests'")
    await wait_for(lambda: len(receiver.at("customers")) == 2, what="2 to 'customers'")
    await wait_for(lambda: len(receiver.at("big-eur-invoices")) == 1, what="1 big EUR invoice")
    assert [m["n"] for m in bodies(receiver, "big-eur-invoices")] == [1]
    assert sorted(m["n"] for m in bodies(receiver, "customers")) == [4, 5]
    # every JSON message but the test one; "not json" never matches a body filter
    assert sorted(m["n"] for m in bodies(receiver, "no-tests")) == [1, 2, 3, 4, 6, 7]
    sent_types = {r.headers.get("herald-event-type") for r in receiver.at("customers")}
    assert sent_types == {"customer.created", "customer.deleted"}
    # Filtered-out messages never had a delivery to hold or retry.
    counts = {
        name: len(await deliveries(org, queue["id"], listener["id"]))
        for name, listener in listeners.items()
    }
    assert counts == {"big-eur-invoices": 1, "customers": 2, "no-tests": 6, "everything": 8}


async def test_a_filter_applies_from_the_moment_it_is_saved(
    org: Org, receiver: Receiver, worker: object
) -> None:
    queue = await org.create_queue()
    await send(org, queue["id"], b'{"warm": 1}')  # this process now holds the queue's routing
    listener = await org.create_listener(
        queue["id"], notify_url=receiver.url("f"), filter={"/keep": True}
    )
    await send(org, queue["id"], b'{"keep": false, "n": 1}')
    await send(org, queue["id"], b'{"keep": true, "n": 2}', **{"idempotency-key": "k-2"})
    await wait_for(lambda: len(receiver.at("f")) == 1, what="the kept message")
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    assert (await org.patch(path, json={"filter": {"/n": 3}})).status_code == 200
    await send(org, queue["id"], b'{"keep": true, "n": 4}')
    await send(org, queue["id"], b'{"n": 3}')
    await wait_for(lambda: len(receiver.at("f")) == 2, what="the message of the new filter")
    assert (await org.patch(path, json={"filter": None})).status_code == 200
    await send(org, queue["id"], b"anything")
    await wait_for(lambda: len(receiver.at("f")) == 3, what="any message once unfiltered")
    assert [b["n"] for b in bodies(receiver, "f")[:2]] == [2, 3]
    assert len(await deliveries(org, queue["id"], listener["id"])) == 3


async def test_filtered_out_messages_never_hold_up_an_ordered_listener(
    org: Org, receiver: Receiver, worker: object
) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(
        queue["id"], notify_url=receiver.url("o"), ordered=True, filter={"/mine": True}
    )
    events = [{"mine": n % 3 == 0, "n": n} for n in range(30)]
    await send(org, queue["id"], ndjson(*events), **NDJSON)
    await wait_for(lambda: len(receiver.at("o")) == 10, what="the listener's 10 messages")
    assert [b["n"] for b in bodies(receiver, "o")] == list(range(0, 30, 3))
    rows = await deliveries(org, queue["id"], listener["id"])
    assert {row["status"] for row in rows} == {"delivered"} and len(rows) == 10


async def test_replay_gives_a_new_listener_only_the_past_messages_it_wants(
    org: Org, receiver: Receiver, worker: object
) -> None:
    queue = await typed_queue(org)
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    await send(org, queue["id"], ndjson(*BILLING), **NDJSON)
    listener = await org.create_listener(
        queue["id"],
        notify_url=receiver.url("late"),
        filter_types=["invoice.*"],
        filter={"/currency": "EUR"},
    )
    everything = await org.create_listener(queue["id"], notify_url=receiver.url("all"))
    for replayed, expected in ((listener, 3), (everything, 7)):
        response = await org.post(
            f"/v1/queues/{queue['id']}/listeners/{replayed['id']}/replay",
            json={"since": since, "status": "all"},
        )
        assert response.status_code == 202, response.text
        assert response.json() == {"replayed": expected}
    await wait_for(lambda: len(receiver.at("late")) == 3, what="the 3 EUR invoices")
    assert sorted(b["n"] for b in bodies(receiver, "late")) == [1, 2, 7]
    await wait_for(lambda: len(receiver.at("all")) == 7, what="all 7 to the unfiltered one")


async def test_a_kafka_listener_publishes_only_what_its_filters_select(
    org: Org, settings: Settings, worker: object
) -> None:
    queue = await typed_queue(org)
    topic = f"herald-{uuid.uuid4().hex[:8]}"
    await kafka_listener(
        org, queue["id"], topic, filter_types=["invoice.*"], filter={"/amount": {"$gte": 250}}
    )
    await send(org, queue["id"], ndjson(*BILLING), **NDJSON)
    last = {"type": "invoice.paid", "amount": 1000, "n": 8}
    await send(org, queue["id"], ndjson(last), **NDJSON)
    records = await consume(settings, topic, 3, timeout_s=30)
    assert sorted(json.loads(r.value)["n"] for r in records) == [1, 3, 8]
    assert {dict(r.headers)["herald-event-type"] for r in records} == {
        b"invoice.paid",
        b"invoice.voided",
    }


async def test_a_queues_listeners_hold_at_most_a_thousand_conditions_in_all(org: Org) -> None:
    queue = await org.create_queue()
    hundred = {f"/k{i}": i for i in range(100)}
    listeners = [await org.create_listener(queue["id"], filter=hundred) for _ in range(10)]
    refused = await org.post(
        f"/v1/queues/{queue['id']}/listeners",
        json={"name": "x", "notify_url": "http://127.0.0.1:9/h", "filter": {"/a": 1}},
    )
    problem = assert_problem(refused, 422)
    assert "1000" in problem["errors"][0]["message"]
    path = f"/v1/queues/{queue['id']}/listeners/{listeners[0]['id']}"
    assert (await org.patch(path, json={"filter": {"/a": 1}})).status_code == 200
    assert_problem(await org.patch(path, json={"filter": {**hundred, "/a": 1}}), 422)
    await org.create_listener(queue["id"], filter={f"/k{i}": i for i in range(99)})


async def test_judging_a_large_request_lets_other_requests_run() -> None:
    """10,000 items judged by 1,000 conditions each take a second or more of CPU: the judge
    gives the event loop back every JUDGED_PER_TURN items, so the API process keeps serving
    other requests meanwhile."""
    never = {"$or": [{f"/k{i}": -1} for i in range(100)]}
    routing = QueueRouting(
        version=0,
        selections=tuple(Selection.of(uuid.uuid4(), None, never) for _ in range(10)),
    )
    items = [Item(n, b'{"n": %d}' % n) for n in range(10_000)]
    turns = 0

    async def other_requests() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    other = asyncio.create_task(other_requests())
    await asyncio.sleep(0)  # started
    routed = await routing.route(Split(items=items), None)
    other.cancel()
    assert len(routed.items) == 10_000 and routed.verdicts == []
    assert turns >= 10_000 // JUDGED_PER_TURN - 1
