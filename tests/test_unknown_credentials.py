"""Credentials that do not exist: answered from memory when repeated, limited per address
when new (each costs a Postgres lookup), and /metrics behind its token when one is set."""

from __future__ import annotations

import asyncio
import secrets

import httpx
from litestar.testing import AsyncTestClient
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.app import create_app
from tests.conftest import app_on_this_loop, assert_problem, make_settings, new_org


def _codes(responses: list) -> list[int]:
    return [r.status_code for r in responses]


async def test_unknown_keys_and_tokens_are_limited_per_address(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with AsyncTestClient(
        app=create_app(make_settings()), base_url="http://herald.test"
    ) as setup:
        org = await new_org(sessionmaker, setup)
    address = f"198.51.100.{secrets.randbelow(250) + 1}"  # this test's own address
    settings = make_settings(auth_lookups_per_s=5)
    async with app_on_this_loop(settings, {}, client_address=address) as (_, client):
        assert (await org_get(client, org.key)).status_code == 200  # a known key, now cached
        queue = await client.post("/v1/queues", json={"name": "in"}, headers=org.headers)
        created = await client.post(
            f"/v1/queues/{queue.json()['queue']['id']}/inlets",
            json={"name": "in"},
            headers=org.headers,
        )
        inlet = created.json()["inlet"]["url"]
        assert (await client.post(inlet, content=b"x")).status_code == 202  # now cached
        assert (await org_get(client, "hk_same")).status_code == 401
        same = await asyncio.gather(*(org_get(client, "hk_same") for _ in range(30)))
        assert set(_codes(same)) == {401}, "a repeated unknown key is answered from memory"

        # 30 new keys at once: 5 are looked up (401), the rest held a second, then 429.
        fresh = await asyncio.gather(*(org_get(client, secrets.token_hex(16)) for _ in range(30)))
        assert _codes(fresh).count(401) <= 5 and _codes(fresh).count(429) >= 25, _codes(fresh)
        assert_problem(next(r for r in fresh if r.status_code == 429), 429)
        assert (await org_get(client, org.key)).status_code == 200, "known keys still work"
        tokens = await asyncio.gather(
            *(
                client.post(f"/v1/inlets/inl_{secrets.token_hex(8)}", content=b"x")
                for _ in range(30)
            )
        )
        assert _codes(tokens).count(404) <= 5 and _codes(tokens).count(429) >= 25, _codes(tokens)
        # The address is over its limit for unknown tokens; a known inlet still works.
        assert (await client.post(inlet, content=b"y")).status_code == 202


async def org_get(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.get("/v1/queues", headers={"x-api-key": key})


async def test_metrics_need_the_token_when_one_is_set() -> None:
    app = create_app(make_settings(metrics_token=SecretStr("s3cret")))
    async with AsyncTestClient(app=app, base_url="http://herald.test") as client:
        assert_problem(await client.get("/metrics"), 401)
        wrong = await client.get("/metrics", headers={"authorization": "Bearer nope"})
        assert_problem(wrong, 401)
        right = await client.get("/metrics", headers={"authorization": "Bearer s3cret"})
        assert right.status_code == 200 and "herald_" in right.text
