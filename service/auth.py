"""API key authentication (three header forms) and scope guards."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from service.errors import Forbidden, Unauthorized
from service.lib.secrets import hash_token

# On every request (no cache), so that a deleted key stops working at once in every process.
FIND_KEY = "SELECT id, org_id, scopes FROM api_keys WHERE key_hash = $1"
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
    """Looks the key up on every request, so a deleted key stops working at once."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        key = key_from_headers(connection.headers)
        if key is None:
            raise Unauthorized("An API key is required (X-API-KEY or Authorization header)")
        row = await connection.app.state.pg_pool.fetchrow(FIND_KEY, hash_token(key))
        if row is None:
            raise Unauthorized("The API key is not valid")
        principal = Principal(
            org_id=row["org_id"], key_id=row["id"], scopes=frozenset(row["scopes"])
        )
        return AuthenticationResult(user=principal, auth=key)


def requires(scope: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A guard that lets the request through only when its key carries `scope` (or admin)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal: Principal = connection.user
        if not principal.allows(scope):
            raise Forbidden(f"This API key lacks the '{scope}' scope")

    return guard
