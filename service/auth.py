"""API key authentication (three header forms), the scope each route requires, and the
per-key request rate limit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from service.errors import Forbidden, Unauthorized

REQUIRED_SCOPE = "required_scope"
SCOPES = ("queues:read", "queues:write", "messages:read", "messages:write", "admin")


@dataclass(frozen=True)
class Principal:
    org_id: uuid.UUID
    key_id: uuid.UUID
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def key_from_headers(headers: Any) -> str | None:
    if key := headers.get("x-api-key"):
        return str(key).strip() or None
    authorization = headers.get("authorization")
    if not authorization:
        return None
    scheme, _, value = str(authorization).partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return None


class ApiKeyAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """The request's principal (service/keys/cache.py: a deleted key stops working at
        once); 401 without a valid key, 403 when the key lacks the route's scope, 429 over
        the key's rate limit or after too many unknown keys from the same address."""
        state = connection.app.state
        key = key_from_headers(connection.headers)
        if key is None:
            raise Unauthorized("An API key is required (X-API-KEY or Authorization header)")
        principal: Principal | None = await state.api_keys.principal(
            key, client_address(connection)
        )
        if principal is None:
            raise Unauthorized("The API key is not valid")
        scope = connection.route_handler.opt.get(REQUIRED_SCOPE)
        if scope is not None and not principal.allows(scope):
            raise Forbidden(f"This API key lacks the '{scope}' scope")
        state.rate_limiter.check(str(principal.key_id))
        return AuthenticationResult(user=principal, auth=key)


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else ""


def requires(scope: str) -> dict[str, str]:
    """Route options: only keys carrying `scope` (or admin) may call the route.

    Checked by the authentication middleware rather than a Litestar guard, which would copy
    the route handler on every request.
    """
    return {REQUIRED_SCOPE: scope}
