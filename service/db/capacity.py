"""The start-up check that a process's connection pools fit the server's max_connections:
a pool that can never fill would only show itself under load, as requests waiting for a
connection the server refuses to open."""

from __future__ import annotations

import asyncpg
import structlog

from service.config import Settings

log = structlog.get_logger("herald.db")

SERVER_LIMITS = """
    SELECT current_setting('max_connections')::int
           - current_setting('superuser_reserved_connections')::int
           - coalesce(current_setting('reserved_connections', true)::int, 0) AS available,
           (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS used
"""


class PoolsTooLarge(RuntimeError):
    pass


def api_connections(settings: Settings) -> int:
    """What the API's processes open at most: SQLAlchemy, ingest and export pools each."""
    ingest = settings.ingest_writers + 8
    per_process = settings.db_pool_size + ingest + settings.export_pool_size
    return per_process * settings.api_workers


async def check_pool_capacity(pool: asyncpg.Pool, wanted: int, who: str) -> None:
    """Raises PoolsTooLarge when `wanted` connections can never be open at once; warns when
    they do not fit beside the connections open now."""
    try:
        row = await pool.fetchrow(SERVER_LIMITS)
    except (OSError, asyncpg.PostgresConnectionError, TimeoutError) as exc:
        log.warning("could not check the pool sizes: database unavailable", error=repr(exc))
        return
    assert row is not None
    available, used = row["available"], row["used"]
    if wanted > available:
        raise PoolsTooLarge(
            f"{who} may open {wanted} database connections but the server allows "
            f"{available} (max_connections less its reserved ones): lower the pool sizes "
            "(HERALD_DB_POOL_SIZE, HERALD_INGEST_WRITERS, HERALD_EXPORT_POOL_SIZE, "
            "HERALD_API_WORKERS, HERALD_WORKER_DB_POOL_SIZE) or raise max_connections"
        )
    if used + wanted > available:
        log.warning(
            "the pools may not fill: the server has few connections left",
            wanted=wanted,
            open_now=used,
            available=available,
        )
