"""Engine and session factory built from Settings; the only place connections are configured."""

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from service.config import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(
        settings.database_url,
        # No overflow: under a burst, requests wait briefly for a connection instead of
        # opening and closing one each (measured: connection churn cut throughput 10x).
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout_s,
        hide_parameters=True,  # error messages and logs never carry bound values
        pool_pre_ping=False,
        connect_args={"server_settings": {"application_name": "herald"}},
    )


async def create_pg_pool(
    settings: Settings,
    max_size: int | None = None,
    *,
    name: str = "herald-ingest",
    wait_for_disk: bool = True,
    planner: dict[str, str] | None = None,
) -> asyncpg.Pool:
    """A plain asyncpg pool for the hot paths (group-commit ingest, COPY, streamed exports,
    the workers). `wait_for_disk=False`: commits return before their WAL is flushed
    (synchronous_commit off), for writes that Postgres may lose in a crash of its own
    without losing anything that was acknowledged. `planner`: planner settings for the
    pool's sessions."""
    url = make_url(settings.database_url)
    server_settings = {"application_name": name, **(planner or {})}
    if not wait_for_disk:
        server_settings["synchronous_commit"] = "off"
    return await asyncpg.create_pool(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        database=url.database,
        min_size=0,  # the API starts (and answers 503) while Postgres is down
        max_size=max_size or settings.ingest_writers + 8,
        server_settings=server_settings,
        reset=_keep_session,
    )


async def _keep_session(_: asyncpg.Connection) -> None:
    """Skips asyncpg's RESET ALL round trip on every release: this pool never changes
    session state (no SET, LISTEN or advisory locks), so there is nothing to reset."""


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def check_writable(engine: AsyncEngine) -> None:
    """Raises unless Postgres answers and accepts writes (a standby is read-only)."""
    async with engine.connect() as connection:
        read_only = await connection.scalar(text("SELECT current_setting('transaction_read_only')"))
    if read_only == "on":
        raise RuntimeError("Postgres is read-only")
