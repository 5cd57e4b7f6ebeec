"""API key authentication (three header forms) and the scope each route requires."""

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


async def authenticate(headers: Any, api_keys: Any, scope: str | None) -> tuple[str, Principal]:
    """The request's key and principal (service/keys/cache.py: a deleted key stops working
    at once); raises 401 without a valid key, 403 when the key lacks `scope`."""
    key = key_from_headers(headers)
    if key is None:
        raise Unauthorized("An API key is required (X-API-KEY or Authorization header)")
    principal: Principal | None = await api_keys.principal(key)
    if principal is None:
        raise Unauthorized("The API key is not valid")
    if scope is not None and not principal.allows(scope):
        raise Forbidden(f"This API key lacks the '{scope}' scope")
    return key, principal


class ApiKeyAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        key, principal = await authenticate(
            connection.headers,
            connection.app.state.api_keys,
            connection.route_handler.opt.get(REQUIRED_SCOPE),
        )
        return AuthenticationResult(user=principal, auth=key)


def requires(scope: str) -> dict[str, str]:
    """Route options: only keys carrying `scope` (or admin) may call the route.

    Checked by the authentication middleware rather than a Litestar guard, which would copy
    the route handler on every request.
    """
    return {REQUIRED_SCOPE: scope}
