"""API keys: the three header forms, scopes, revocation, hashing at rest."""

import hashlib
import re

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.app import UNAUTHENTICATED_PATHS, create_app
from service.auth import REQUIRED_SCOPE
from service.config import Settings
from tests.conftest import Org, assert_problem
from tests.receiver import wait_for


@pytest.mark.parametrize(
    "header",
    [
        lambda k: {"X-API-KEY": k},
        lambda k: {"Authorization": f"Bearer {k}"},
        lambda k: {"Authorization": f"token {k}"},
    ],
    ids=["x-api-key", "bearer", "token"],
)
async def test_every_header_form_authenticates(org: Org, http: httpx.AsyncClient, header) -> None:
    response = await http.get("/v1/queues", headers=header(org.key))
    assert response.status_code == 200


async def test_missing_or_unknown_key_is_401(http: httpx.AsyncClient) -> None:
    assert_problem(await http.get("/v1/queues"), 401)
    assert_problem(await http.get("/v1/queues", headers={"X-API-KEY": "hrld_nope"}), 401)
    assert_problem(await http.get("/v1/queues", headers={"Authorization": "Basic abc"}), 401)


async def test_key_is_shown_once_and_listed_without_it(org: Org) -> None:
    created = await org.post("/v1/api-keys", json={"name": "ci", "scopes": ["queues:read"]})
    assert created.status_code == 200
    key = created.json()["api_key"]
    assert set(key) >= {"id", "name", "scopes", "key", "created_at"}
    assert key["scopes"] == ["queues:read"]
    listed = (await org.get("/v1/api-keys")).json()["api_keys"]
    assert any(k["id"] == key["id"] for k in listed)
    assert all("key" not in k for k in listed)


async def test_scopes_are_enforced_with_403(org: Org, http: httpx.AsyncClient) -> None:
    created = await org.post("/v1/api-keys", json={"name": "reader", "scopes": ["queues:read"]})
    reader = {"X-API-KEY": created.json()["api_key"]["key"]}
    assert (await http.get("/v1/queues", headers=reader)).status_code == 200
    assert_problem(await http.post("/v1/queues", headers=reader, json={"name": "x"}), 403)
    assert_problem(await http.get("/v1/api-keys", headers=reader), 403)


async def test_deleted_key_stops_working_on_the_next_request(
    org: Org, http: httpx.AsyncClient
) -> None:
    created = (await org.post("/v1/api-keys", json={"name": "tmp", "scopes": ["admin"]})).json()
    headers = {"X-API-KEY": created["api_key"]["key"]}
    assert (await http.get("/v1/queues", headers=headers)).status_code == 200
    assert (await org.delete(f"/v1/api-keys/{created['api_key']['id']}")).status_code == 204
    assert_problem(await http.get("/v1/queues", headers=headers), 401)
    assert_problem(await org.delete(f"/v1/api-keys/{created['api_key']['id']}"), 404)


async def test_a_key_deleted_through_one_api_process_stops_working_in_another(
    org: Org, settings: Settings
) -> None:
    second_app = create_app(settings)
    async with AsyncTestClient(app=second_app, base_url="http://herald.test") as second:
        await wait_for(lambda: second_app.state.api_keys.caching, what="the key cache")
        created = (await org.post("/v1/api-keys", json={"name": "tmp", "scopes": ["admin"]})).json()
        headers = {"X-API-KEY": created["api_key"]["key"]}
        for _ in range(2):  # the second request is served from the second process's cache
            assert (await second.get("/v1/queues", headers=headers)).status_code == 200
        assert (await org.delete(f"/v1/api-keys/{created['api_key']['id']}")).status_code == 204

        async def refused() -> bool:
            return (await second.get("/v1/queues", headers=headers)).status_code == 401

        # The other process hears the revocation on pub/sub as soon as its loop turns.
        await wait_for(refused, timeout_s=5, what="the key refused by the other process")


async def test_keys_are_stored_hashed(
    org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    created = (await org.post("/v1/api-keys", json={"name": "h", "scopes": ["admin"]})).json()
    key = created["api_key"]["key"]
    async with sessionmaker() as session:
        row = (
            await session.execute(
                text("SELECT key_hash, api_keys::text AS whole FROM api_keys WHERE id = :id"),
                {"id": created["api_key"]["id"]},
            )
        ).one()
    assert bytes(row.key_hash) == hashlib.sha256(key.encode()).digest()
    assert key not in row.whole


async def test_bad_api_key_bodies_are_rejected(org: Org) -> None:
    assert_problem(await org.post("/v1/api-keys", json={"name": "x", "scopes": ["root"]}), 422)
    assert_problem(await org.post("/v1/api-keys", json={"name": "x", "scopes": []}), 422)
    assert_problem(await org.post("/v1/api-keys", json={"scopes": ["admin"]}), 422)


async def test_another_organizations_key_id_is_404(org: Org, other_org: Org) -> None:
    created = (await org.post("/v1/api-keys", json={"name": "mine", "scopes": ["admin"]})).json()
    assert_problem(await other_org.delete(f"/v1/api-keys/{created['api_key']['id']}"), 404)
    listed = (await other_org.get("/v1/api-keys")).json()["api_keys"]
    assert all(k["id"] != created["api_key"]["id"] for k in listed)


def test_every_authenticated_route_requires_a_scope(settings: Settings) -> None:
    app = create_app(settings)
    handlers = {
        f"{method} {route.path}": handler
        for route in app.routes
        if not any(re.match(pattern, route.path) for pattern in UNAUTHENTICATED_PATHS)
        for method, (handler, _) in getattr(route, "route_handler_map", {}).items()
        if method != "OPTIONS"
    }
    assert len(handlers) > 40
    assert [name for name, handler in handlers.items() if REQUIRED_SCOPE not in handler.opt] == []
