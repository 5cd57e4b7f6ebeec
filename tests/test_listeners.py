"""Listeners per contract: shape, defaults, validation, status, secrets, tenancy."""

from collections.abc import AsyncIterator

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.app import create_app
from service.config import DEFAULT_RETRY_SCHEDULE_S
from tests.conftest import Org, app_on_this_loop, assert_problem, make_settings, new_org


async def test_create_returns_the_contract_body(org: Org) -> None:
    queue = await org.create_queue()
    response = await org.post(
        f"/v1/queues/{queue['id']}/listeners",
        json={"name": "billing", "notify_url": "http://127.0.0.1:8000/hook"},
    )
    assert response.status_code == 200
    body = response.json()
    listener = body["listener"]
    assert listener["name"] == "billing"
    href = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    assert body["_links"] == {"self": {"href": href}}
    assert listener["status"] == "active"
    assert listener["health"] == {"state": "unknown", "checked_at": None, "consecutive_failures": 0}
    assert listener["type"] == "webhook"
    assert listener["timeout_ms"] == 15000
    assert listener["max_attempts"] == 10
    assert listener["retry_schedule_s"] == list(DEFAULT_RETRY_SCHEDULE_S)
    assert listener["max_in_flight"] == 16
    assert "secret" not in listener


async def test_every_optional_field_round_trips(org: Org) -> None:
    queue = await org.create_queue()
    fields = {
        "liveness_url": "http://127.0.0.1:8000/health",
        "headers": {"X-Team": "billing"},
        "timeout_ms": 2000,
        "max_attempts": 3,
        "retry_schedule_s": [1, 2, 3],
        "ordered": True,
        "max_in_flight": 4,
        "rate_limit_per_s": 50.0,
        "enabled": False,
    }
    listener = await org.create_listener(queue["id"], **fields)
    fetched = (await org.get(f"/v1/queues/{queue['id']}/listeners/{listener['id']}")).json()
    for field, value in fields.items():
        if field != "enabled":
            assert fetched["listener"][field] == value, field
    assert fetched["listener"]["enabled"] is False
    assert fetched["listener"]["status"] == "paused"


async def test_unknown_queue_is_404(org: Org, other_org: Org) -> None:
    body = {"name": "l", "notify_url": "http://127.0.0.1:1/x"}
    assert_problem(
        await org.post("/v1/queues/01a205c7-a107-735a-8854-61228ed47043/listeners", json=body), 404
    )
    queue = await org.create_queue()
    assert_problem(await other_org.post(f"/v1/queues/{queue['id']}/listeners", json=body), 404)


async def test_kafka_listeners_need_a_topic_and_no_url(org: Org) -> None:
    queue = await org.create_queue()
    path = f"/v1/queues/{queue['id']}/listeners"
    kafka = await org.post(
        path,
        json={"name": "k", "type": "kafka", "kafka": {"topic": "orders", "key": "customer_id"}},
    )
    assert kafka.status_code == 200
    assert kafka.json()["listener"]["kafka"] == {"topic": "orders", "key": "customer_id"}
    assert kafka.json()["listener"]["notify_url"] is None
    missing = assert_problem(await org.post(path, json={"name": "k", "type": "kafka"}), 422)
    assert missing["errors"] == [{"field": "kafka", "message": "required when type is kafka"}]
    assert_problem(
        await org.post(
            path,
            json={
                "name": "k",
                "type": "kafka",
                "kafka": {"topic": "t"},
                "notify_url": "http://127.0.0.1:1/",
            },
        ),
        422,
    )
    assert_problem(
        await org.post(path, json={"name": "k", "type": "kafka", "kafka": {"topic": "bad topic"}}),
        422,
    )


async def test_bad_listener_bodies_are_422_with_field_errors(org: Org) -> None:
    queue = await org.create_queue()
    path = f"/v1/queues/{queue['id']}/listeners"
    cases = [
        ({"name": "l"}, "notify_url"),
        ({"name": "l", "notify_url": "ftp://127.0.0.1/x"}, "notify_url"),
        ({"name": "l", "notify_url": "http:///nohost"}, "notify_url"),
        ({"name": "l", "notify_url": "http://127.0.0.1:99999/"}, "notify_url"),
        ({"name": "l", "notify_url": "http://u:p@127.0.0.1/"}, "notify_url"),
        ({"name": "l", "notify_url": "http://h/", "liveness_url": "gopher://h/"}, "liveness_url"),
        (
            {"name": "l", "notify_url": "http://h/", "headers": {"webhook-id": "x"}},
            "headers.webhook-id",
        ),
        (
            {"name": "l", "notify_url": "http://h/", "headers": {"bad name": "x"}},
            "headers.bad name",
        ),
        ({"name": "l", "notify_url": "http://h/", "headers": {"X-A": "a\r\nb"}}, "headers.X-A"),
        ({"name": "l", "notify_url": "http://h/", "timeout_ms": 0}, "timeout_ms"),
        ({"name": "l", "notify_url": "http://h/", "retry_schedule_s": []}, "retry_schedule_s"),
        ({"name": "l", "notify_url": "http://h/", "max_in_flight": "many"}, "max_in_flight"),
        ({"name": "l", "notify_url": "http://h/", "rate_limit_per_s": 0.001}, "rate_limit_per_s"),
        ({"name": "l", "notify_url": "http://h/", "surprise": 1}, None),
        ({"name": "x" * 10_000, "notify_url": "http://h/"}, "name"),
        ({"name": "l", "notify_url": "http://h/" + "a" * 5000}, "notify_url"),
    ]
    for body, field in cases:
        problem = assert_problem(await org.post(path, json=body), 422)
        if field is not None:
            assert field in [e["field"] for e in problem["errors"]], (body, problem)
    assert (await org.get(path)).json()["listeners"] == []


async def test_patch_pauses_resumes_and_revalidates(org: Org) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(queue["id"])
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    paused = (await org.patch(path, json={"enabled": False})).json()["listener"]
    assert (paused["status"], paused["enabled"]) == ("paused", False)
    resumed = (await org.patch(path, json={"enabled": True, "max_attempts": 5})).json()["listener"]
    assert (resumed["status"], resumed["max_attempts"]) == ("active", 5)
    assert_problem(await org.patch(path, json={"notify_url": None}), 422)
    assert_problem(await org.patch(path, json={"type": "kafka"}), 422)
    moved = await org.patch(path, json={"notify_url": "https://127.0.0.1:9443/new"})
    assert moved.json()["listener"]["notify_url"] == "https://127.0.0.1:9443/new"


async def test_delete_hides_the_listener(org: Org) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(queue["id"])
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    assert (await org.delete(path)).status_code == 204
    assert_problem(await org.get(path), 404)
    assert_problem(await org.delete(path), 404)
    assert (await org.get(f"/v1/queues/{queue['id']}/listeners")).json()["listeners"] == []


async def test_deleting_the_queue_removes_its_listeners(org: Org) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(queue["id"])
    assert (await org.delete(f"/v1/queues/{queue['id']}")).status_code == 204
    assert_problem(await org.get(f"/v1/queues/{queue['id']}/listeners/{listener['id']}"), 404)


async def test_list_is_paginated_and_has_no_secrets(org: Org) -> None:
    queue = await org.create_queue()
    ids = [(await org.create_listener(queue["id"], name=f"l{i}"))["id"] for i in range(3)]
    first = (await org.get(f"/v1/queues/{queue['id']}/listeners?limit=2")).json()
    assert [item["id"] for item in first["listeners"]] == ids[:2]
    second = (await org.get(first["_links"]["next"]["href"])).json()
    assert [item["id"] for item in second["listeners"]] == ids[2:]
    assert "next" not in second["_links"]
    assert all("secret" not in str(item) for item in first["listeners"])


async def test_secret_is_whsec_encrypted_at_rest_and_rotates(
    org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(queue["id"])
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    secret = (await org.get(f"{path}/secret")).json()["secret"]
    assert secret.startswith("whsec_")
    async with sessionmaker() as session:
        raw = (
            await session.execute(
                text("SELECT listeners::text FROM listeners WHERE id = :id"), {"id": listener["id"]}
            )
        ).scalar_one()
    assert secret not in raw and secret.removeprefix("whsec_") not in raw
    rotated = await org.post(f"{path}/secret/rotate")
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != secret
    assert (await org.get(f"{path}/secret")).json()["secret"] == new_secret


async def test_another_organizations_listener_is_404_everywhere(org: Org, other_org: Org) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(queue["id"])
    path = f"/v1/queues/{queue['id']}/listeners/{listener['id']}"
    for method, suffix in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("GET", "/secret"),
        ("POST", "/secret/rotate"),
    ]:
        kwargs = {"json": {"name": "x"}} if method == "PATCH" else {}
        assert_problem(await other_org.request(method, path + suffix, **kwargs), 404)
    assert (await org.get(path)).status_code == 200


@pytest.fixture(scope="module")
async def strict_http() -> AsyncIterator[httpx.AsyncClient]:
    """The API as production runs it: private and loopback targets refused."""
    app = create_app(make_settings(allow_private_targets=False))
    async with AsyncTestClient(app=app, base_url="http://herald.test") as client:
        yield client


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8080/x",
        "http://10.0.0.5/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://2130706433/x",
        "http://0x7f.1/x",
        "http://[64:ff9b::a00:1]/x",
        "http://168.63.129.16/x",
    ],
)
async def test_private_targets_are_refused_in_production_mode(
    url: str, sessionmaker: async_sessionmaker[AsyncSession], strict_http: httpx.AsyncClient
) -> None:
    org = await new_org(sessionmaker, strict_http)
    queue = await org.create_queue()
    problem = assert_problem(
        await org.post(
            f"/v1/queues/{queue['id']}/listeners", json={"name": "l", "notify_url": url}
        ),
        422,
    )
    assert problem["errors"][0]["field"] == "notify_url"


async def test_public_targets_are_accepted_in_production_mode(
    sessionmaker: async_sessionmaker[AsyncSession], strict_http: httpx.AsyncClient
) -> None:
    org = await new_org(sessionmaker, strict_http)
    queue = await org.create_queue()
    await org.create_listener(queue["id"], notify_url="https://93.184.215.14/hook")


async def test_header_values_show_only_to_keys_that_may_change_the_listener(org: Org) -> None:
    queue = await org.create_queue()
    path = f"/v1/queues/{queue['id']}/listeners"
    body = {"name": "l", "notify_url": "http://h/", "headers": {"Authorization": "Bearer rx"}}
    created = (await org.post(path, json=body)).json()["listener"]
    assert created["headers"] == {"Authorization": "Bearer rx"}
    reader = await org.post("/v1/api-keys", json={"name": "ro", "scopes": ["queues:read"]})
    as_reader = {"X-API-KEY": reader.json()["api_key"]["key"]}
    one = (await org.http.get(f"{path}/{created['id']}", headers=as_reader)).json()["listener"]
    listed = (await org.http.get(path, headers=as_reader)).json()["listeners"]
    assert one["headers"] == listed[0]["headers"] == {"Authorization": "********"}
    assert (await org.get(f"{path}/{created['id']}")).json()["listener"]["headers"] == {
        "Authorization": "Bearer rx"
    }


async def test_retry_delays_below_the_operators_minimum_are_422(org: Org) -> None:
    queue = await org.create_queue()
    path = f"/v1/queues/{queue['id']}/listeners"
    settings = make_settings(min_retry_delay_s=1.0)
    async with app_on_this_loop(settings, org.headers) as (_, client):
        fast = {"name": "l", "notify_url": "http://h/", "retry_schedule_s": [0.5, 5]}
        problem = assert_problem(await client.post(path, json=fast), 422)
        assert [e["field"] for e in problem["errors"]] == ["retry_schedule_s"]
        created = await client.post(path, json={**fast, "retry_schedule_s": [1, 5]})
        assert created.is_success
        listener_path = f"{path}/{created.json()['listener']['id']}"
        assert_problem(await client.patch(listener_path, json={"retry_schedule_s": [1e-9]}), 422)
