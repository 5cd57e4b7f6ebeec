"""Request-scoped dependencies shared by controllers; the session is the transaction boundary."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal
from service.config import Settings


async def provide_db_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """One transaction per request: committed after the handler returns, before the response."""
    async with state.sessionmaker() as session, session.begin():
        yield session


def provide_principal(request: Request[Principal, Any, Any]) -> Principal:
    return request.user


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings
