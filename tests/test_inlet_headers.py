"""An inlet request's headers: capped as the contract says, stored once per request."""

from __future__ import annotations

import secrets

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import Org, assert_problem


async def _inlet_url(org: Org) -> tuple[str, str]:
    queue = await org.create_queue()
    created = await org.post(f"/v1/queues/{queue['id']}/inlets", json={"name": "hook"})
    return queue["id"], created.json()["inlet"]["url"]


async def test_more_than_64_forwarded_headers_is_431(org: Org) -> None:
    _, url = await _inlet_url(org)
    # The client adds a few of its own (user-agent, accept, accept-encoding).
    few = {f"x-h{i}": "v" for i in range(56)}
    assert (await org.http.post(url, content=b"{}", headers=few)).status_code == 202
    many = {f"x-h{i}": "v" for i in range(65)}
    problem = assert_problem(await org.http.post(url, content=b"{}", headers=many), 431)
    assert "at most 64 headers" in problem["detail"]


async def test_more_than_16_kib_of_forwarded_headers_is_431(org: Org) -> None:
    _, url = await _inlet_url(org)
    under = {"x-a": "v" * 8000, "x-b": "v" * 8000}
    assert (await org.http.post(url, content=b"{}", headers=under)).status_code == 202
    over = {**under, "x-c": "v" * 500}
    assert_problem(await org.http.post(url, content=b"{}", headers=over), 431)


async def test_a_split_inlet_request_stores_its_headers_once(
    org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    queue_id, url = await _inlet_url(org)
    body = b"".join(b'{"n": %d}\n' % n for n in range(1000))
    signature = secrets.token_urlsafe(6000)  # 8,000 characters that do not compress
    headers = {"content-type": "application/x-ndjson", "x-signature": signature, "sync": "1"}
    response = await org.http.post(url, content=body, headers=headers)
    assert response.status_code == 200 and response.json()["accepted"] == 1000
    async with sessionmaker() as session:
        stored = (
            await session.execute(
                text(
                    "SELECT sum(pg_column_size(m)) AS messages,"
                    " (SELECT pg_column_size(b.original_headers) FROM batches b"
                    "   WHERE b.id = :batch) AS headers"
                    " FROM messages m WHERE m.queue_id = :queue AND m.batch_id = :batch"
                ),
                {"queue": queue_id, "batch": response.json()["batch_id"]},
            )
        ).one()
    assert stored.headers >= 6000
    assert stored.messages < 1000 * 200, "each message row carries a copy of the headers"
