"""Recording outcomes costs one lookup per outcome whatever the planner's statistics say
(real Postgres). Joined to the outcomes by key, on a table analyzed while no delivery was
in flight (the normal case), the planner compared every in-flight row with every outcome:
174 ms for 512 outcomes on 50,000 deliveries (make bench kafka: 0.36-0.43 then, 0.58
since)."""

import time
import uuid

import asyncpg

from service.config import Settings
from service.db.engine import create_pg_pool
from tests.conftest import Org
from workers.context import PLANNER_SETTINGS
from workers.recorder import RECORD_OUTCOMES, AttemptRecord

ROWS = 50_000
OUTCOMES = 512

HELD_DELIVERIES = """
    INSERT INTO deliveries (message_id, listener_id, ordered, status, attempts,
                            next_attempt_at, created_at)
    SELECT gen_random_uuid(), $1, false, 'pending', 0, now(), now()
      FROM generate_series(1, $2)
    RETURNING message_id
"""


async def test_recording_outcomes_never_compares_every_row_with_every_outcome(
    org: Org, settings: Settings
) -> None:
    queue = await org.create_queue()
    listener_id = uuid.UUID((await org.create_listener(queue["id"], enabled=False))["id"])
    pool: asyncpg.Pool = await create_pg_pool(
        settings, max_size=1, name="herald-worker", planner=PLANNER_SETTINGS
    )
    try:
        async with pool.acquire() as connection:
            message_ids = await connection.fetch(HELD_DELIVERIES, listener_id, ROWS)
            await connection.execute("ANALYZE deliveries")
            outcomes = [
                AttemptRecord(
                    listener_id, row["message_id"], 1, "delivered", 200, None, time.time(),
                    3, "ok", None,
                )
                for row in message_ids[:OUTCOMES]
            ]  # fmt: skip
            try:  # planned for these 512 outcomes, as the first executions are
                rows = await connection.fetch(f"EXPLAIN {RECORD_OUTCOMES}", outcomes)
            finally:
                await connection.execute(
                    "DELETE FROM deliveries WHERE listener_id = $1", listener_id
                )
    finally:
        await pool.close()
    text = "\n".join(row[0] for row in rows)
    # A join filter is a comparison of each pair of rows its join was given.
    assert "Join Filter" not in text, text
    assert "Tid Scan on deliveries d" in text, text
