"""Per-organization quotas: creating past one is a 409 quota-exceeded, even when the
creates race; deleting makes room again."""

from __future__ import annotations

import asyncio

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.app import create_app
from tests.conftest import assert_problem, make_settings, new_org

QUOTAS = {
    "quota_queues": 2,
    "quota_listeners_per_queue": 1,
    "quota_inlets_per_queue": 1,
    "quota_api_keys": 2,
}


def _quota_exceeded(response) -> None:  # type: ignore[no-untyped-def]
    assert assert_problem(response, 409)["type"].endswith("quota-exceeded")


async def test_each_quota_refuses_one_more(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    app = create_app(make_settings(**QUOTAS))
    async with AsyncTestClient(app=app, base_url="http://herald.test") as client:
        org = await new_org(sessionmaker, client)
        created = await asyncio.gather(
            *(org.post("/v1/queues", json={"name": f"q{i}"}) for i in range(5))
        )
        assert sorted(r.status_code for r in created)[2:] == [409, 409, 409]
        assert sum(r.is_success for r in created) == 2
        _quota_exceeded(next(r for r in created if r.status_code == 409))
        queue_id = next(r for r in created if r.is_success).json()["queue"]["id"]

        listeners = f"/v1/queues/{queue_id}/listeners"
        first = await org.post(listeners, json={"name": "a", "notify_url": "http://h/"})
        assert first.is_success
        _quota_exceeded(await org.post(listeners, json={"name": "b", "notify_url": "http://h/"}))
        listener_id = first.json()["listener"]["id"]
        assert (await org.delete(f"{listeners}/{listener_id}")).status_code == 204
        again = await org.post(listeners, json={"name": "b", "notify_url": "http://h/"})
        assert again.is_success, "a deleted listener makes room"

        inlets = f"/v1/queues/{queue_id}/inlets"
        assert (await org.post(inlets, json={"name": "a"})).is_success
        _quota_exceeded(await org.post(inlets, json={"name": "b"}))

        keys = "/v1/api-keys"
        assert (await org.post(keys, json={"name": "ci", "scopes": ["admin"]})).is_success
        _quota_exceeded(await org.post(keys, json={"name": "more", "scopes": ["admin"]}))
