"""Inlet URLs are their own credential: the token in the path opens one queue."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from service.auth import client_address
from service.errors import NotFound


class InletAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """The inlet (the request's user); 404 for an unknown or deleted token, 429 over
        the inlet's rate limit or after too many unknown tokens from the same address."""
        state = connection.app.state
        token = connection.path_params["token"]
        inlet = await state.inlets.resolve(token, client_address(connection))
        if inlet is None:
            raise NotFound("Inlet not found")
        state.rate_limiter.check(f"inlet:{inlet.id}")
        return AuthenticationResult(user=inlet, auth=None)
