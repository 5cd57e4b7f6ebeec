"""End to end: API -> Postgres -> arq worker -> a real receiver that checks signatures."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from aiohttp import web
from arq.worker import Worker

from tests.conftest import Org, assert_problem
from tests.receiver import Receiver, hang, statuses, wait_for

pytestmark = pytest.mark.usefixtures("worker")
FAST = {"retry_schedule_s": [0.2, 0.2, 0.2]}


async def send(org: Org, queue_id: str, body: bytes, **headers: str) -> dict[str, Any]:
    response = await org.post(
        f"/v1/queues/{queue_id}/messages", content=body, headers={"sync": "1", **headers}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def deliveries(
    org: Org, queue_id: str, listener_id: str, status: str | None = None
) -> list[dict]:
    query = f"?status={status}&limit=500" if status else "?limit=500"
    response = await org.get(f"/v1/queues/{queue_id}/listeners/{listener_id}/deliveries{query}")
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


async def secret_of(org: Org, queue_id: str, listener_id: str) -> str:
    return (await org.get(f"/v1/queues/{queue_id}/listeners/{listener_id}/secret")).json()["secret"]


async def make_listener(
    org: Org, receiver: Receiver, queue_id: str, name: str, **fields: Any
) -> dict:
    listener = await org.create_listener(
        queue_id, name=name, notify_url=receiver.url(name), **fields
    )
    receiver.verify_with(name, await secret_of(org, queue_id, listener["id"]))
    return listener


async def test_every_message_reaches_every_listener_signed_and_verbatim(
    org: Org, receiver: Receiver
) -> None:
    queue = await org.create_queue()
    a = await make_listener(org, receiver, queue["id"], "a", headers={"X-Team": "billing"})
    b = await make_listener(org, receiver, queue["id"], "b")
    bodies = [b'{"n": %d}' % n for n in range(20)]
    sent = [
        await send(org, queue["id"], body, **{"content-type": "application/json"})
        for body in bodies
    ]
    await wait_for(
        lambda: len(receiver.at("a")) == 20 and len(receiver.at("b")) == 20, what="fan-out"
    )
    for name in ("a", "b"):
        got = receiver.at(name)
        assert sorted(r.body for r in got) == sorted(bodies)
        assert all(r.signature_valid for r in got)
        assert all(r.headers["content-type"] == "application/json" for r in got)
        assert all(r.headers["user-agent"].startswith("herald/") for r in got)
        assert all(r.headers["herald-attempt"] == "1" for r in got)
        assert all(r.headers["herald-queue-id"] == queue["id"] for r in got)
    assert all(r.headers["x-team"] == "billing" for r in receiver.at("a"))
    message_ids = {s["messages"][0]["id"] for s in sent}
    assert {r.headers["herald-message-id"] for r in receiver.at("a")} == message_ids
    assert {r.headers["herald-listener-id"] for r in receiver.at("a")} == {a["id"]}
    await wait_for(lambda: _all_delivered(org, queue["id"], b["id"], 20), what="status delivered")
    rows = await deliveries(org, queue["id"], a["id"])
    assert {r.headers["webhook-id"] for r in receiver.at("a")} == {d["id"] for d in rows}


async def _all_delivered(org: Org, queue_id: str, listener_id: str, count: int) -> bool:
    rows = await deliveries(org, queue_id, listener_id)
    return len(rows) == count and all(d["status"] == "delivered" for d in rows)


async def test_retries_keep_the_webhook_id_and_number_the_attempts(
    org: Org, receiver: Receiver
) -> None:
    queue = await org.create_queue()
    listener = await make_listener(org, receiver, queue["id"], "flaky", **FAST)
    receiver.on("flaky", statuses(500, 503, 200))
    await send(org, queue["id"], b"retry me")
    await wait_for(lambda: len(receiver.at("flaky")) == 3, what="three attempts")
    got = receiver.at("flaky")
    assert len({r.headers["webhook-id"] for r in got}) == 1
    assert [r.headers["herald-attempt"] for r in got] == ["1", "2", "3"]
    assert all(r.signature_valid for r in got)
    await wait_for(lambda: _all_delivered(org, queue["id"], listener["id"], 1), what="delivered")
    delivery = (await deliveries(org, queue["id"], listener["id"]))[0]
    assert delivery["attempts"] == 3 and delivery["last_status_code"] == 200
    log = await org.get(
        f"/v1/queues/{queue['id']}/listeners/{listener['id']}/deliveries/{delivery['id']}/attempts"
    )
    attempts = log.json()["attempts"]
    assert [(a["number"], a["status_code"]) for a in attempts] == [(1, 500), (2, 503), (3, 200)]
    assert all(a["response_body"] == "answer" and a["duration_ms"] >= 0 for a in attempts)


async def test_exhausted_attempts_fail_and_a_manual_retry_starts_again(
    org: Org, receiver: Receiver
) -> None:
    queue = await org.create_queue()
    listener = await make_listener(org, receiver, queue["id"], "down", max_attempts=2, **FAST)
    receiver.on("down", statuses(500, 500, 200))
    await send(org, queue["id"], b"x")
    await wait_for(lambda: _has_status(org, queue["id"], listener["id"], "failed"), what="failed")
    assert len(receiver.at("down")) == 2
    delivery = (await deliveries(org, queue["id"], listener["id"]))[0]
    base = f"/v1/queues/{queue['id']}/listeners/{listener['id']}/deliveries/{delivery['id']}"
    assert (await org.post(f"{base}/retry")).status_code == 202
    await wait_for(
        lambda: _has_status(org, queue["id"], listener["id"], "delivered"), what="retried"
    )
    assert receiver.at("down")[-1].headers["herald-attempt"] == "3"
    assert len((await org.get(f"{base}/attempts")).json()["attempts"]) == 3


async def _has_status(org: Org, queue_id: str, listener_id: str, status: str) -> bool:
    rows = await deliveries(org, queue_id, listener_id)
    return bool(rows) and all(d["status"] == status for d in rows)


async def test_410_disables_the_listener_and_cancels_what_is_pending(
    org: Org, receiver: Receiver
) -> None:
    queue = await org.create_queue()
    listener = await make_listener(org, receiver, queue["id"], "gone", ordered=True)
    receiver.on("gone", statuses(410))
    for n in range(3):
        await send(org, queue["id"], b"%d" % n)
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    await wait_for(lambda: _listener_status(org, path, "disabled"), what="disabled")
    rows = await deliveries(org, queue["id"], listener["id"])
    assert sorted(d["status"] for d in rows) == ["cancelled", "cancelled", "failed"]
    assert len(receiver.at("gone")) == 1
    await send(org, queue["id"], b"after")
    assert len(await deliveries(org, queue["id"], listener["id"])) == 3  # no new messages


async def _listener_status(org: Org, path: str, status: str) -> bool:
    return (await org.get(path)).json()["listener"]["status"] == status


async def test_attempt_deadline_holds_against_a_receiver_that_never_answers(
    org: Org, receiver: Receiver
) -> None:
    queue = await org.create_queue()
    listener = await make_listener(
        org, receiver, queue["id"], "slow", timeout_ms=300, max_attempts=1
    )
    receiver.on("slow", hang())
    await send(org, queue["id"], b"x")
    await wait_for(
        lambda: _has_status(org, queue["id"], listener["id"], "failed"), what="timed out"
    )
    delivery = (await deliveries(org, queue["id"], listener["id"]))[0]
    attempts = (
        await org.get(
            f"/v1/queues/{queue['id']}/listeners/{listener['id']}/deliveries/{delivery['id']}/attempts"
        )
    ).json()["attempts"]
    assert attempts[0]["error"].startswith("timeout") and 250 <= attempts[0]["duration_ms"] < 2000


async def test_a_receivers_cookies_are_never_sent_back(org: Org, receiver: Receiver) -> None:
    queue = await org.create_queue()
    for name in ("sets-cookie", "same-host"):
        # By name: aiohttp's default jar would ignore cookies of a numeric address.
        url = receiver.url(name).replace("127.0.0.1", "localhost")
        await org.create_listener(queue["id"], name=name, notify_url=url)

    async def set_cookie(_: web.Request, __: int) -> web.StreamResponse:
        response = web.Response(text="ok")
        response.set_cookie("session", "secret-of-one-listener", path="/")
        return response

    receiver.on("sets-cookie", set_cookie)
    for n in range(3):
        await send(org, queue["id"], b"%d" % n)
    await wait_for(lambda: len(receiver.at("same-host")) == 3, what="the other listener got all")
    await wait_for(lambda: len(receiver.at("sets-cookie")) == 3, what="every message")
    assert all("cookie" not in r.headers for r in receiver.received)


async def test_retry_after_on_429_is_honoured(org: Org, receiver: Receiver) -> None:
    queue = await org.create_queue()
    await make_listener(org, receiver, queue["id"], "busy", retry_schedule_s=[0.1, 5])

    async def busy(_: web.Request, n: int) -> web.StreamResponse:
        if n == 1:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.Response(text="ok")

    receiver.on("busy", busy)
    await send(org, queue["id"], b"x")
    await wait_for(lambda: len(receiver.at("busy")) == 2, what="second attempt")
    first, second = receiver.at("busy")
    assert second.at - first.at >= 0.9


async def test_paused_listener_holds_messages_until_enabled(org: Org, receiver: Receiver) -> None:
    queue = await org.create_queue()
    paused = await make_listener(org, receiver, queue["id"], "paused", enabled=False)
    await make_listener(org, receiver, queue["id"], "witness")
    for n in range(5):
        await send(org, queue["id"], b"%d" % n)
    await wait_for(lambda: len(receiver.at("witness")) == 5, what="witness got all")
    assert receiver.at("paused") == []
    path = f"/v1/queues/{queue['id']}/listeners/{paused['id']}"
    assert (await org.patch(path, json={"enabled": True})).status_code == 200
    await wait_for(lambda: len(receiver.at("paused")) == 5, what="held messages delivered")


async def test_pausing_a_busy_listener_stops_its_drain_and_holds_the_rest(
    org: Org, receiver: Receiver
) -> None:
    queue = await org.create_queue()
    listener = await make_listener(org, receiver, queue["id"], "busy", max_in_flight=2)

    async def slow(_: web.Request, __: int) -> web.StreamResponse:
        await asyncio.sleep(0.02)  # the receiver's pace: about 100 deliveries a second
        return web.Response(text="ok")

    receiver.on("busy", slow)
    body = b"".join(b'{"n": %d}\n' % n for n in range(400))
    await send(org, queue["id"], body, **{"content-type": "application/x-ndjson"})
    await wait_for(lambda: len(receiver.at("busy")) >= 20, what="the drain under way")
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    assert (await org.patch(path, json={"enabled": False})).status_code == 200
    paused_at = len(receiver.at("busy"))
    last = {"count": -1, "since": 0.0}

    def stopped() -> bool:  # no new request for a whole second
        count, now = len(receiver.at("busy")), time.monotonic()
        if count != last["count"]:
            last.update(count=count, since=now)
        return now - last["since"] >= 1.0

    await wait_for(stopped, timeout_s=10, what="the drain stopped")
    sent = len(receiver.at("busy"))
    assert sent - paused_at < 200, "the drain went on after the pause"
    await wait_for(
        lambda: _count(org, queue["id"], listener["id"], "delivered", sent), what="recorded"
    )
    assert await deliveries(org, queue["id"], listener["id"], "in_flight") == []
    assert (await org.patch(path, json={"enabled": True})).status_code == 200
    await wait_for(lambda: len(receiver.at("busy")) == 400, what="the rest after resuming")
    assert len({r.body for r in receiver.at("busy")}) == 400


async def _count(org: Org, queue_id: str, listener_id: str, status: str, count: int) -> bool:
    return len(await deliveries(org, queue_id, listener_id, status)) == count


async def test_ordered_listener_gets_ingest_order_one_at_a_time(
    org: Org, receiver: Receiver
) -> None:
    queue = await org.create_queue()
    await make_listener(org, receiver, queue["id"], "fifo", ordered=True, **FAST)

    async def sometimes_fails(_: web.Request, n: int) -> web.StreamResponse:
        return web.Response(status=500 if n in (3, 7) else 200)

    receiver.on("fifo", sometimes_fails)
    body = b"".join(b'{"n": %d}\n' % n for n in range(15))
    await send(org, queue["id"], body, **{"content-type": "application/x-ndjson"})
    await wait_for(lambda: len(receiver.at("fifo")) == 17, what="15 messages and 2 retries")
    order = [r.body for r in receiver.at("fifo")]
    delivered = [b for i, b in enumerate(order, start=1) if i not in (3, 7)]
    assert delivered == [b'{"n": %d}' % n for n in range(15)]
    assert order[2] == order[3] and order[6] == order[7]  # a retry comes before the next message
    assert receiver.peak["fifo"] == 1


async def test_a_listener_made_ordered_keeps_order_for_its_held_backlog(
    org: Org, receiver: Receiver
) -> None:
    queue = await org.create_queue()
    listener = await make_listener(org, receiver, queue["id"], "late-fifo", enabled=False)
    body = b"".join(b'{"n": %d}\n' % n for n in range(12))
    await send(org, queue["id"], body, **{"content-type": "application/x-ndjson"})
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    response = await org.patch(path, json={"ordered": True, "enabled": True})
    assert response.status_code == 200 and response.json()["listener"]["ordered"] is True
    await wait_for(lambda: len(receiver.at("late-fifo")) == 12, what="12 messages")
    assert [r.body for r in receiver.at("late-fifo")] == [b'{"n": %d}' % n for n in range(12)]
    assert receiver.peak["late-fifo"] == 1


async def test_unreachable_listener_waits_without_spending_attempts(
    org: Org, receiver: Receiver
) -> None:
    queue = await org.create_queue()
    live = {"up": False}

    async def probe(_: web.Request, __: int) -> web.StreamResponse:
        return web.Response(status=200 if live["up"] else 503)

    receiver.on("probe", probe)
    listener = await make_listener(
        org, receiver, queue["id"], "hook", liveness_url=receiver.url("probe")
    )
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    await wait_for(lambda: _health(org, path, "unreachable"), timeout_s=20, what="unreachable")
    for n in range(3):
        await send(org, queue["id"], b"%d" % n)
    rows = await deliveries(org, queue["id"], listener["id"])
    assert all(d["attempts"] == 0 and d["status"] == "pending" for d in rows)
    assert receiver.at("hook") == []
    live["up"] = True
    await wait_for(lambda: len(receiver.at("hook")) == 3, timeout_s=20, what="resumed by itself")
    view = (await org.get(path)).json()["listener"]
    assert view["health"]["state"] == "live" and view["health"]["checked_at"]
    assert all(r.headers["herald-attempt"] == "1" for r in receiver.at("hook"))


async def _health(org: Org, path: str, state: str) -> bool:
    return (await org.get(path)).json()["listener"]["health"]["state"] == state


async def test_deleted_listener_gets_nothing_more(org: Org, receiver: Receiver) -> None:
    queue = await org.create_queue()
    listener = await make_listener(org, receiver, queue["id"], "bye", enabled=False)
    body = b"".join(b"%d\n" % n for n in range(1000))
    await send(org, queue["id"], body, **{"content-type": "application/x-ndjson"})
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    assert (await org.patch(path, json={"enabled": True})).status_code == 200
    assert (await org.delete(path)).status_code == 204
    seen = len(receiver.at("bye"))
    await send(org, queue["id"], b"more")
    await wait_for(lambda: _no_open_deliveries(org, listener["id"]), what="cancelled")
    assert len(receiver.at("bye")) <= seen + 16  # at most what was already in flight


async def _no_open_deliveries(org: Org, listener_id: str) -> bool:
    from sqlalchemy import text

    from service.db.engine import create_engine, create_sessionmaker
    from tests.conftest import make_settings

    engine = create_engine(make_settings())
    async with create_sessionmaker(engine)() as session:
        count = (
            await session.execute(
                text(
                    "SELECT count(*) FROM deliveries WHERE listener_id = :id"
                    " AND status IN ('pending', 'in_flight')"
                ),
                {"id": listener_id},
            )
        ).scalar_one()
    await engine.dispose()
    return count == 0


async def test_a_listener_that_never_answers_does_not_hold_up_a_healthy_one(
    org: Org, receiver: Receiver
) -> None:
    queue = await org.create_queue()
    await make_listener(org, receiver, queue["id"], "stuck", timeout_ms=30_000)
    await make_listener(org, receiver, queue["id"], "healthy")
    receiver.on("stuck", hang())
    body = b"".join(b"%d\n" % n for n in range(200))
    await send(org, queue["id"], body, **{"content-type": "application/x-ndjson"})
    await wait_for(
        lambda: len(receiver.at("healthy")) == 200, what="healthy listener got everything"
    )
    assert receiver.peak["stuck"] <= 16


async def test_replay_delivers_a_window_again(org: Org, receiver: Receiver) -> None:
    queue = await org.create_queue()
    listener = await make_listener(org, receiver, queue["id"], "replay")
    first = await send(org, queue["id"], b"one")
    await wait_for(
        lambda: _all_delivered(org, queue["id"], listener["id"], 1), what="first delivery"
    )
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}/replay"
    since = first["received_at"]
    none = await org.post(path, json={"since": since})
    assert none.status_code == 202 and none.json() == {"replayed": 0}
    again = await org.post(path, json={"since": since, "status": "all"})
    assert again.json() == {"replayed": 1}
    await wait_for(lambda: len(receiver.at("replay")) == 2, what="replayed")
    assert_problem(await org.post(path, json={"since": "yesterday"}), 422)
    assert_problem(await org.post(path, json={"since": since, "until": since}), 422)


async def test_replay_recovers_what_a_disabled_listener_missed(
    org: Org, receiver: Receiver, sessionmaker
) -> None:
    from sqlalchemy import text

    queue = await org.create_queue()
    listener = await make_listener(org, receiver, queue["id"], "missed")
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE listeners SET status = 'disabled' WHERE id = :id"), {"id": listener["id"]}
        )
    first = await send(org, queue["id"], b"while disabled")
    assert await deliveries(org, queue["id"], listener["id"]) == []
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    await org.patch(path, json={"enabled": True})
    replayed = await org.post(f"{path}/replay", json={"since": first["received_at"]})
    assert replayed.json() == {"replayed": 1}
    await wait_for(lambda: len(receiver.at("missed")) == 1, what="missed message delivered")


async def test_rotated_secret_signs_alongside_the_old_one(org: Org, receiver: Receiver) -> None:
    queue = await org.create_queue()
    listener = await make_listener(org, receiver, queue["id"], "rot")
    old = await secret_of(org, queue["id"], listener["id"])
    rotated = await org.post(f"/v1/queues/{queue['id']}/listeners/{listener['id']}/secret/rotate")
    new = rotated.json()["secret"]
    receiver.verify_with("rot", old, new)
    await send(org, queue["id"], b"signed twice")
    await wait_for(lambda: len(receiver.at("rot")) == 1, what="delivery")
    got = receiver.at("rot")[0]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert got.signature_valid


async def test_inlet_messages_forward_the_original_headers(org: Org, receiver: Receiver) -> None:
    queue = await org.create_queue()
    await make_listener(org, receiver, queue["id"], "fwd")
    inlet = (await org.post(f"/v1/queues/{queue['id']}/inlets", json={"name": "gh"})).json()[
        "inlet"
    ]
    await org.http.post(
        inlet["url"],
        content=b'{"n": 1}\n{"n": 2}\n{"n": 3}\n',
        headers={
            "x-hub-signature-256": "sha256=abc",
            "authorization": "Bearer nope",
            "content-type": "application/x-ndjson",
        },
    )
    await send(org, queue["id"], b"not from the inlet")
    await wait_for(lambda: len(receiver.at("fwd")) == 4, what="inlet deliveries")
    got = {r.body: r.headers for r in receiver.at("fwd")}
    for n in (1, 2, 3):
        headers = got[b'{"n": %d}' % n]
        assert headers["herald-original-x-hub-signature-256"] == "sha256=abc"
        assert "herald-original-authorization" not in headers
    assert not any(h.startswith("herald-original-") for h in got[b"not from the inlet"])


async def test_circuit_opens_for_a_failing_listener_without_liveness(
    org: Org, receiver: Receiver, worker: Worker
) -> None:
    queue = await org.create_queue()
    listener = await make_listener(org, receiver, queue["id"], "tripped", retry_schedule_s=[0.05])
    receiver.on("tripped", statuses(500))
    # Enough messages that a fast machine cannot try them all before the first failures
    # are recorded (a drain keeps up to max_in_flight going while its outcomes commit).
    body = b"".join(b"%d\n" % n for n in range(400))
    await send(org, queue["id"], body, **{"content-type": "application/x-ndjson"})
    await wait_for(lambda: len(receiver.at("tripped")) >= 5, what="failures")
    count = len(receiver.at("tripped"))
    assert count < 400  # the circuit opened before every message was tried
    receiver.on("tripped", statuses(200))
    await wait_for(
        lambda: _all_delivered(org, queue["id"], listener["id"], 400),
        timeout_s=30,
        what="recovered",
    )
    assert uuid.UUID(listener["id"])


async def test_rate_limit_per_s_paces_a_backlog(org: Org, receiver: Receiver) -> None:
    queue = await org.create_queue()
    await make_listener(org, receiver, queue["id"], "paced", rate_limit_per_s=10, enabled=False)
    response = await org.post(
        f"/v1/queues/{queue['id']}/messages",
        content=b"".join(b'{"n": %d}\n' % n for n in range(35)),
        headers={"content-type": "application/x-ndjson"},
    )
    assert response.status_code == 202
    listener_id = (await org.get(f"/v1/queues/{queue['id']}/listeners")).json()["listeners"][0][
        "id"
    ]
    await org.patch(f"/v1/queues/{queue['id']}/listeners/{listener_id}", json={"enabled": True})
    await wait_for(lambda: len(receiver.at("paced")) == 35, what="35 paced deliveries")
    arrivals = [r.at for r in receiver.at("paced")]
    # A burst of up to 10, then 10 per second: the 35th cannot come before 2.5 s.
    assert arrivals[-1] - arrivals[0] >= 2.5 * 0.9
    # And never ahead of the bucket. 50 ms of slack: the burst's requests each open a
    # connection, so the first arrival can come later after its send than the others.
    for k in range(10, 35):
        assert arrivals[k] - arrivals[0] >= (k - 10 + 1) / 10 - 0.05


async def test_a_listener_failing_for_five_days_is_disabled_and_gets_nothing_new(
    org: Org, receiver: Receiver, sessionmaker
) -> None:
    from sqlalchemy import text

    receiver.on("failing", statuses(500))
    queue = await org.create_queue()
    listener = await make_listener(
        org, receiver, queue["id"], "failing", retry_schedule_s=[0.2], max_attempts=100
    )
    await send(org, queue["id"], b"never taken")
    await wait_for(lambda: len(receiver.at("failing")) >= 1, what="a first failure")
    async with sessionmaker() as session, session.begin():  # its failures began 5 days ago
        await session.execute(
            text(
                "UPDATE listeners SET failing_since = now() - interval '5 days 1 minute'"
                " WHERE id = :id"
            ),
            {"id": listener["id"]},
        )
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    await wait_for(lambda: _listener_status(org, path, "disabled"), what="disabled by the sweeper")
    view = (await org.get(path)).json()["listener"]
    assert "failed for 432000" in view["disabled_reason"]
    await send(org, queue["id"], b"after disabling")
    assert len(await deliveries(org, queue["id"], listener["id"])) == 1  # no new delivery
