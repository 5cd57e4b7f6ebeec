"""A cap on the drains one organization runs at once in a worker process, applied before a
queued drain takes a job slot: the over-cap jobs stay queued (moved back by
OVER_CAP_DELAY_MS) while the drains of other organizations start.

A drain job's id names its listener (service/deliveries/wakeup.py); a listener's
organization never changes, so it is looked up once, for every new listener of a poll in
one query.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable

import asyncpg
import structlog

from service.deliveries.wakeup import listener_of_job

log = structlog.get_logger("herald.fair_share")

OVER_CAP_DELAY_MS = 1000
MAX_REMEMBERED = 100_000

ORGS_OF_LISTENERS = """
    SELECT l.id, q.org_id FROM listeners l JOIN queues q ON q.id = l.queue_id
     WHERE l.id = ANY($1::uuid[])
"""


class FairShare:
    def __init__(self, pool: asyncpg.Pool, drains_per_org: int) -> None:
        self.pool = pool
        self.drains_per_org = drains_per_org
        self._orgs: dict[uuid.UUID, uuid.UUID] = {}

    async def split(
        self, queued: list[bytes], running: Iterable[str]
    ) -> tuple[list[bytes], list[bytes]]:
        """(the jobs that may start, oldest first; the jobs over their organization's cap)."""
        listeners = {job: listener_of_job(job.decode()) for job in queued}
        await self._learn({lid for lid in listeners.values() if lid is not None})
        busy = Counter(self._org_of_job(job) for job in running)
        start: list[bytes] = []
        later: list[bytes] = []
        for job, listener_id in listeners.items():
            org = self._orgs.get(listener_id) if listener_id is not None else None
            if org is not None and busy[org] >= self.drains_per_org:
                later.append(job)
                continue
            busy[org] += 1
            start.append(job)
        return start, later

    def _org_of_job(self, job_id: str) -> uuid.UUID | None:
        listener_id = listener_of_job(job_id)
        return self._orgs.get(listener_id) if listener_id is not None else None

    async def _learn(self, listener_ids: set[uuid.UUID]) -> None:
        unknown = [lid for lid in listener_ids if lid not in self._orgs]
        if not unknown:
            return
        if len(self._orgs) + len(unknown) > MAX_REMEMBERED:
            self._orgs.clear()
        try:
            rows = await self.pool.fetch(ORGS_OF_LISTENERS, unknown)
        except Exception as exc:  # Postgres away: the drains start uncapped, and fail there
            log.warning("could not look up the drains' organizations", error=repr(exc))
            return
        self._orgs.update((row["id"], row["org_id"]) for row in rows)
