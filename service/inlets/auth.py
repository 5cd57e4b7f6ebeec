"""Inlet URLs are their own credential: the token in the path opens one queue."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from service.auth import client_address
from service.errors import NotFound
from service.inlets.repository import InletRepository
from service.inlets.service import InletService
from service.queues.repository import QueueRepository


class InletAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """The inlet (the request's user); 404 for an unknown or deleted token, 429 over
        the inlet's rate limit or after too many unknown tokens from the same address."""
        state = connection.app.state
        client = client_address(connection)
        state.failed_lookups.check(client)
        # A short session of its own: no connection is held while the body streams in.
        async with state.sessionmaker() as session:
            inlets = InletService(InletRepository(session), QueueRepository(session))
            try:
                inlet = await inlets.resolve(connection.path_params["token"])
            except NotFound:
                state.failed_lookups.failed(client)
                raise
        state.rate_limiter.check(f"inlet:{inlet.id}")
        return AuthenticationResult(user=inlet, auth=None)
