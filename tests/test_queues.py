"""Queues per contract, with conventions: /v1 and unversioned, pretty, pagination, errors."""

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.models import Delivery
from tests.conftest import Org, assert_problem


async def test_create_returns_the_queue_and_its_self_link(org: Org) -> None:
    response = await org.post("/v1/queues", json={"name": "orders", "retention_days": 7})
    assert response.status_code == 200
    body = response.json()
    assert body["queue"]["name"] == "orders"
    assert body["queue"]["retention_days"] == 7
    assert body["_links"] == {"self": {"href": f"/v1/queues/{body['queue']['id']}"}}
    assert body["queue"]["created_at"].endswith("Z")


async def test_uuid_ids_are_time_ordered_v7(org: Org) -> None:
    first, second = await org.create_queue(), await org.create_queue()
    assert first["id"][14] == "7"
    assert first["id"] < second["id"]


async def test_duplicate_name_is_409_but_other_orgs_may_reuse_it(org: Org, other_org: Org) -> None:
    await org.create_queue("dup")
    assert_problem(await org.post("/v1/queues", json={"name": "dup"}), 409)
    await other_org.create_queue("dup")


async def test_get_patch_delete(org: Org) -> None:
    queue = await org.create_queue("before")
    path = f"/v1/queues/{queue['id']}"
    assert (await org.get(path)).json()["queue"]["name"] == "before"
    patched = await org.patch(path, json={"name": "after", "retention_days": None})
    assert patched.status_code == 200
    assert patched.json()["queue"]["name"] == "after"
    assert (await org.get(path)).json()["queue"]["name"] == "after"
    assert (await org.delete(path)).status_code == 204
    assert_problem(await org.get(path), 404)
    assert_problem(await org.delete(path), 404)


async def test_rename_onto_an_existing_name_is_409(org: Org) -> None:
    await org.create_queue("taken")
    queue = await org.create_queue("free")
    assert_problem(await org.patch(f"/v1/queues/{queue['id']}", json={"name": "taken"}), 409)


async def test_unversioned_routes_mean_latest(org: Org) -> None:
    queue = await org.create_queue()
    response = await org.get(f"/queues/{queue['id']}")
    assert response.status_code == 200
    assert response.json()["queue"]["id"] == queue["id"]


async def test_pretty_true_indents_the_json(org: Org) -> None:
    queue = await org.create_queue()
    plain = await org.get(f"/v1/queues/{queue['id']}")
    pretty = await org.get(f"/v1/queues/{queue['id']}?pretty=true")
    assert "\n" not in plain.text
    assert pretty.text.startswith('{\n  "queue"')
    assert pretty.json() == plain.json()


async def test_cursor_pagination_walks_every_queue_once(org: Org) -> None:
    created = [(await org.create_queue())["id"] for _ in range(5)]
    seen, href = [], "/v1/queues?limit=2"
    while href:
        page = (await org.get(href)).json()
        assert len(page["queues"]) <= 2
        assert page["_links"]["self"]["href"].startswith("/v1/queues?")
        seen += [q["id"] for q in page["queues"]]
        href = page["_links"].get("next", {}).get("href")
    assert seen == created


async def test_limit_bounds_and_bad_cursor_are_400(org: Org) -> None:
    assert_problem(await org.get("/v1/queues?limit=0"), 400)
    assert_problem(await org.get("/v1/queues?limit=501"), 400)
    assert_problem(await org.get("/v1/queues?limit=abc"), 400)
    assert_problem(await org.get("/v1/queues?cursor=%%%"), 400)
    assert (await org.get("/v1/queues?limit=500")).status_code == 200


async def test_other_organizations_queue_is_404_everywhere(org: Org, other_org: Org) -> None:
    queue = await org.create_queue()
    path = f"/v1/queues/{queue['id']}"
    assert_problem(await other_org.get(path), 404)
    assert_problem(await other_org.patch(path, json={"name": "stolen"}), 404)
    assert_problem(await other_org.delete(path), 404)
    assert_problem(await other_org.get(f"{path}/listeners"), 404)
    assert all(q["id"] != queue["id"] for q in (await other_org.get("/v1/queues")).json()["queues"])
    assert (await org.get(path)).json()["queue"]["name"] == queue["name"]


async def test_bad_bodies_are_problems_never_500(org: Org) -> None:
    headers = {"content-type": "application/json"}
    assert_problem(await org.post("/v1/queues", content=b'{"name":', headers=headers), 400)
    assert_problem(await org.post("/v1/queues", content=b"\xff\xfe", headers=headers), 400)
    body = assert_problem(await org.post("/v1/queues", json={"name": 5}), 422)
    assert body["errors"][0]["field"] == "name"
    assert_problem(await org.post("/v1/queues", json={"name": "x", "color": "red"}), 422)
    assert_problem(await org.post("/v1/queues", json={}), 422)
    assert_problem(await org.post("/v1/queues", json=["name"]), 422)
    assert_problem(await org.post("/v1/queues", json={"name": ""}), 422)
    assert_problem(await org.post("/v1/queues", json={"name": "x" * 100_000}), 422)
    assert_problem(await org.post("/v1/queues", json={"name": "x", "retention_days": -1}), 422)
    assert_problem(await org.post("/v1/queues", json={"name": "x", "retention_days": "seven"}), 422)


async def test_unknown_route_and_wrong_method(org: Org, http: httpx.AsyncClient) -> None:
    assert_problem(await org.get("/v1/nothing-here"), 404)
    assert_problem(await org.get("/v1/queues/not-a-uuid"), 404)
    assert_problem(await org.request("PUT", "/v1/queues"), 405)


async def test_deleting_a_queue_cancels_its_deliveries_and_hides_its_messages(
    org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(queue["id"], enabled=False)  # holds its deliveries
    ingested = await org.post(
        f"/v1/queues/{queue['id']}/messages", content=b'{"a": 1}', headers={"Sync": "1"}
    )
    message_id = ingested.json()["messages"][0]["id"]
    batch = ingested.json()["_links"]["self"]["href"]
    assert (await org.get(batch)).status_code == 200

    assert (await org.delete(f"/v1/queues/{queue['id']}")).status_code == 204

    assert_problem(await org.get(batch), 404)
    assert_problem(await org.get(f"/v1/queues/{queue['id']}/messages/{message_id}"), 404)
    assert_problem(await org.get(f"/v1/queues/{queue['id']}/messages/{message_id}/payload"), 404)
    assert_problem(await org.post(f"/v1/queues/{queue['id']}/messages", content=b"x"), 404)
    async with sessionmaker() as session:
        statuses = (
            await session.scalars(
                select(Delivery.status).where(Delivery.listener_id == uuid.UUID(listener["id"]))
            )
        ).all()
    assert statuses == ["cancelled"]


async def test_a_nul_character_in_a_name_is_refused_with_422_and_nothing_is_stored(
    org: Org,
) -> None:
    response = await org.post("/v1/queues", json={"name": "bad\u0000name"})
    assert_problem(response, 422)
    names = [q["name"] for q in (await org.get("/v1/queues")).json()["queues"]]
    assert "bad\u0000name" not in names and "bad" not in names
