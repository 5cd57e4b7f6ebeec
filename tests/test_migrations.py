"""Migrations: upgrade from empty, no drift from the models, downgrade and upgrade again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from service.config import Settings
from service.db.base import Base
from service.migrate import downgrade, upgrade


async def _admin(sql: str) -> None:
    url = make_url(Settings().database_url).set(database="postgres")
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(sql))
    await engine.dispose()


@pytest.fixture
def empty_database() -> Iterator[str]:
    name = f"herald_migrations_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    yield make_url(Settings().database_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(f"DROP DATABASE {name} WITH (FORCE)"))


async def _inspect(url: str) -> tuple[list[Any], set[str]]:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
        tables = set(
            (
                await connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalars()
        )
    await engine.dispose()
    return diff, tables


def test_upgrade_head_from_empty_matches_the_models(empty_database: str) -> None:
    upgrade(empty_database)
    diff, tables = asyncio.run(_inspect(empty_database))
    assert diff == []
    assert set(Base.metadata.tables) <= tables


def test_downgrade_to_base_and_upgrade_again(empty_database: str) -> None:
    upgrade(empty_database)
    downgrade(empty_database, "base")
    _, tables = asyncio.run(_inspect(empty_database))
    assert tables <= {"alembic_version"}
    upgrade(empty_database)
    diff, tables = asyncio.run(_inspect(empty_database))
    assert diff == [] and set(Base.metadata.tables) <= tables
