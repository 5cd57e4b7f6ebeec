"""Operational events: Herald ingests its own events (listener.disabled, .unreachable,
.recovered, .secret_rotated, delivery.failed) into an organization's events queue, once
per change, never about the events queue's own listeners."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import Org, assert_problem
from tests.receiver import Receiver, statuses, wait_for


async def events_queue(org: Org, receiver: Receiver, name: str = "ops", **fields: Any) -> str:
    response = await org.post(
        "/v1/queues", json={"name": "herald-events", "operational_events": True}
    )
    assert response.status_code == 200, response.text
    assert response.json()["queue"]["operational_events"] is True
    queue_id: str = response.json()["queue"]["id"]
    await org.create_listener(queue_id, notify_url=receiver.url(name), ordered=True, **fields)
    return queue_id


def events(receiver: Receiver, name: str = "ops") -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.at(name)]


async def rotate(org: Org, queue_id: str, listener_id: str) -> None:
    path = f"/v1/queues/{queue_id}/listeners/{listener_id}/secret/rotate"
    assert (await org.post(path)).status_code == 200


async def fence(org: Org, receiver: Receiver, queue_id: str, listener_id: str) -> None:
    """Rotates a secret and waits for its event: the ordered events listener has then
    received every event emitted before it."""
    before = len(receiver.at("ops"))
    await rotate(org, queue_id, listener_id)
    await wait_for(
        lambda: any(
            e["type"] == "listener.secret_rotated" and e["data"]["listener_id"] == listener_id
            for e in events(receiver)[before:]
        ),
        what="the fence event",
    )


async def test_an_organization_has_at_most_one_events_queue(org: Org, receiver: Receiver) -> None:
    await events_queue(org, receiver)
    second = await org.post("/v1/queues", json={"name": "other", "operational_events": True})
    assert_problem(second, 409)
    plain = await org.create_queue()
    patched = await org.patch(f"/v1/queues/{plain['id']}", json={"operational_events": True})
    assert_problem(patched, 409)
    assert (await org.get(f"/v1/queues/{plain['id']}")).json()["queue"][
        "operational_events"
    ] is False


async def test_a_rotated_secret_is_told_once_but_not_for_the_events_queues_own_listener(
    org: Org, receiver: Receiver, worker: object
) -> None:
    events_id = await events_queue(org, receiver)
    own = (await org.get(f"/v1/queues/{events_id}/listeners")).json()["listeners"][0]
    queue = await org.create_queue()
    listener = await org.create_listener(queue["id"], name="billing-hook")
    await rotate(org, events_id, own["id"])  # about the events queue itself: nothing
    await fence(org, receiver, queue["id"], listener["id"])
    (event,) = events(receiver)
    assert event["type"] == "listener.secret_rotated"
    assert event["data"] == {
        "listener_id": listener["id"],
        "queue_id": queue["id"],
        "name": "billing-hook",
    }
    assert event["timestamp"].endswith("Z")
    assert receiver.at("ops")[0].headers["herald-event-type"] == "listener.secret_rotated"


async def test_an_exhausted_delivery_is_told_once_and_a_failing_events_listener_is_not(
    org: Org, receiver: Receiver, worker: object
) -> None:
    events_id = await events_queue(org, receiver)
    await org.create_listener(
        events_id, notify_url=receiver.url("ops-broken"), max_attempts=1
    )  # it fails every event it gets: those failures must not become events
    receiver.on("ops-broken", statuses(500))
    receiver.on("failing", statuses(503))
    queue = await org.create_queue()
    listener = await org.create_listener(
        queue["id"], notify_url=receiver.url("failing"), max_attempts=2, retry_schedule_s=[0.01]
    )
    sent = await org.post(
        f"/v1/queues/{queue['id']}/messages",
        content=b"{}",
        headers={"sync": "1", "herald-event-type": "invoice.paid"},
    )
    message_id = sent.json()["messages"][0]["id"]
    await wait_for(lambda: len(receiver.at("ops-broken")) >= 1, what="the broken listener tried")
    await fence(org, receiver, queue["id"], listener["id"])
    failed = [e for e in events(receiver) if e["type"] == "delivery.failed"]
    assert len(failed) == 1, events(receiver)
    assert failed[0]["data"] == {
        "message_id": message_id,
        "listener_id": listener["id"],
        "queue_id": queue["id"],
        "event_type": "invoice.paid",
        "attempts": 2,
        "last_status_code": 503,
        "last_error": failed[0]["data"]["last_error"],
    }
    assert len(receiver.at("failing")) == 2


async def test_a_gone_listener_is_disabled_and_told_once(
    org: Org, receiver: Receiver, worker: object
) -> None:
    await events_queue(org, receiver)
    receiver.on("gone", statuses(410))
    queue = await org.create_queue()
    listener = await org.create_listener(
        queue["id"], notify_url=receiver.url("gone"), max_in_flight=5
    )
    body = b"".join(b'{"n": %d}\n' % n for n in range(5))
    await org.post(
        f"/v1/queues/{queue['id']}/messages",
        content=body,
        headers={"content-type": "application/x-ndjson"},
    )
    await wait_for(
        lambda: any(e["type"] == "listener.disabled" for e in events(receiver)),
        what="listener.disabled",
    )
    await fence(org, receiver, queue["id"], listener["id"])
    disabled = [e for e in events(receiver) if e["type"] == "listener.disabled"]
    assert len(disabled) == 1
    assert disabled[0]["data"]["listener_id"] == listener["id"]
    assert "410" in disabled[0]["data"]["reason"]


async def test_unreachable_and_recovered_are_told_once_each(
    org: Org, receiver: Receiver, worker: object
) -> None:
    await events_queue(org, receiver)
    healthy = True

    async def probe(_: web.Request, __: int) -> web.StreamResponse:
        return web.Response(status=200 if healthy else 503)

    receiver.on("probe", probe)
    healthy = False
    queue = await org.create_queue()
    listener = await org.create_listener(
        queue["id"], notify_url=receiver.url("hook"), liveness_url=receiver.url("probe")
    )
    await wait_for(
        lambda: any(e["type"] == "listener.unreachable" for e in events(receiver)),
        what="listener.unreachable",
    )
    probes = len(receiver.at("probe"))
    await wait_for(lambda: len(receiver.at("probe")) >= probes + 2, what="more failed probes")
    healthy = True
    await wait_for(
        lambda: any(e["type"] == "listener.recovered" for e in events(receiver)),
        what="listener.recovered",
    )
    await fence(org, receiver, queue["id"], listener["id"])
    told = [e["type"] for e in events(receiver)]
    assert told == ["listener.unreachable", "listener.recovered", "listener.secret_rotated"]
    unreachable = events(receiver)[0]["data"]
    assert unreachable["listener_id"] == listener["id"]
    assert unreachable["consecutive_failures"] == 2


async def test_events_queue_listeners_filter_events_like_any_messages(
    org: Org, receiver: Receiver, worker: object
) -> None:
    events_id = await events_queue(org, receiver)
    await org.create_listener(
        events_id, notify_url=receiver.url("only-failures"), filter_types=["delivery.*"]
    )
    receiver.on("failing", statuses(500))
    queue = await org.create_queue()
    listener = await org.create_listener(
        queue["id"], notify_url=receiver.url("failing"), max_attempts=1
    )
    await org.post(f"/v1/queues/{queue['id']}/messages", content=b"x")
    await wait_for(lambda: len(receiver.at("only-failures")) == 1, what="the failure event")
    await fence(org, receiver, queue["id"], listener["id"])
    assert [e["type"] for e in events(receiver, "only-failures")] == ["delivery.failed"]

    async def counted() -> bool:
        names = (await org.get(f"/v1/queues/{events_id}/event-types")).json()["event_types"]
        return {"delivery.failed", "listener.secret_rotated"} <= {t["name"] for t in names}

    await wait_for(counted, what="the events in the queue's catalog")


async def test_no_events_are_kept_for_an_organization_without_an_events_queue(
    org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(queue["id"])
    await rotate(org, queue["id"], listener["id"])
    async with sessionmaker() as session:
        kept = await session.scalar(
            text("SELECT count(*) FROM operational_events WHERE org_id = :org"),
            {"org": org.id},
        )
    assert kept == 0
