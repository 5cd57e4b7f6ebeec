"""Request-scoped dependencies shared by controllers; the session is the transaction boundary."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncGenerator, Callable
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal
from service.config import Settings

AFTER_COMMIT = "after_commit"


async def provide_db_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """One transaction per request: committed after the handler returns, before the response.

    Callbacks registered with `after_commit` run once the commit succeeded.
    """
    async with state.sessionmaker() as session:
        async with session.begin():
            yield session
        for callback in session.info.pop(AFTER_COMMIT, []):
            outcome = callback()
            if inspect.isawaitable(outcome):
                await outcome


def after_commit(session: AsyncSession, callback: Callable[[], object]) -> None:
    """Runs `callback` (awaited if it returns an awaitable) once the commit succeeded,
    before the response is sent."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


def waker_for(session: AsyncSession, state: State) -> Callable[[list[uuid.UUID]], None]:
    """A function that wakes the given listeners' drains once this request has committed."""

    def wake(listener_ids: list[uuid.UUID]) -> None:
        after_commit(session, lambda: state.waker.wake(listener_ids))

    return wake


def provide_principal(request: Request[Principal, Any, Any]) -> Principal:
    return request.user


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings
