"""The console's delivery log reads a bounded number of deliveries a page: a filter that
matches nothing says how far it searched and goes on from there (real Postgres)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.deliveries.repository import LOG_SCAN, DeliveryRepository, LogSearch
from service.deliveries.state import FAILED, PENDING
from service.lib.ids import AFTER_ALL, BEFORE_ALL
from tests.conftest import Org


async def test_a_rare_status_is_searched_a_bounded_scan_at_a_time(
    org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    queue = await org.create_queue()
    listener = await org.create_listener(queue["id"], enabled=False)  # deliveries stay pending
    body = b"".join(b'{"n": %d}\n' % n for n in range(LOG_SCAN + 1))
    response = await org.post(
        f"/v1/queues/{queue['id']}/messages",
        content=body,
        headers={"content-type": "application/x-ndjson", "sync": "1", "herald-event-type": "a.b"},
    )
    assert response.status_code == 200, response.text
    ids = [uuid.UUID(m["id"]) for m in response.json()["messages"]]
    queue_id, listener_id = uuid.UUID(queue["id"]), uuid.UUID(listener["id"])

    async with sessionmaker() as session:
        log = DeliveryRepository(session).log
        everything = LogSearch(before=AFTER_ALL, since=BEFORE_ALL)
        page = await log(queue_id, listener_id, everything, 50)
        assert [e.delivery.message_id for e in page.entries] == ids[::-1][:51]
        assert {e.event_type for e in page.entries} == {"a.b"}

        failed = LogSearch(before=AFTER_ALL, since=BEFORE_ALL, status=FAILED)
        page = await log(queue_id, listener_id, failed, 50)
        assert page.entries == [] and page.searched_to == ids[1]  # the oldest of the scan

        rest = LogSearch(before=ids[1], since=BEFORE_ALL, status=FAILED)
        page = await log(queue_id, listener_id, rest, 50)
        assert page.entries == [] and page.searched_to is None  # the end: nothing older

        window = LogSearch(before=ids[12], since=ids[10], status=PENDING)
        page = await log(queue_id, listener_id, window, 50)
        assert [e.delivery.message_id for e in page.entries] == [ids[11], ids[10]]
        other_type = LogSearch(before=AFTER_ALL, since=ids[-3], event_type="c.d")
        assert (await log(queue_id, listener_id, other_type, 50)).entries == []
