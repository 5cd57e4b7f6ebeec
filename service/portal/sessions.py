"""Portal sign-in: the one-time link's token is exchanged, once, for a browser cookie's
token (both stored as SHA-256); the cookie then names the session until it expires or an
operator ends it."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec

from service.lib.secrets import hash_token

COOKIE = "herald_portal"
# The link works once: the same statement that accepts it forgets it.
EXCHANGE = """
    UPDATE portal_sessions SET link_token_hash = NULL, cookie_token_hash = $2
     WHERE link_token_hash = $1 AND ended_at IS NULL AND expires_at > now()
    RETURNING expires_at
"""
FIND = """
    SELECT id, org_id, queue_id, listener_ids, capabilities, branding::text AS branding
      FROM portal_sessions
     WHERE cookie_token_hash = $1 AND ended_at IS NULL AND expires_at > now()
"""


@dataclass(frozen=True)
class PortalPrincipal:
    session_id: uuid.UUID
    org_id: uuid.UUID
    queue_id: uuid.UUID
    listener_ids: frozenset[uuid.UUID] | None  # None: every listener of the queue
    capabilities: frozenset[str]
    branding: dict[str, Any]

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def sees(self, listener_id: uuid.UUID) -> bool:
        return self.listener_ids is None or listener_id in self.listener_ids


class PortalSessions:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def exchange(self, link_token: str) -> tuple[str, Any] | None:
        """A cookie token and its expiry for a valid, unused link; None otherwise."""
        cookie = secrets.token_urlsafe(32)
        expires_at = await self._pool.fetchval(EXCHANGE, hash_token(link_token), hash_token(cookie))
        return None if expires_at is None else (cookie, expires_at)

    async def principal(self, cookie: str) -> PortalPrincipal | None:
        row = await self._pool.fetchrow(FIND, hash_token(cookie))
        if row is None:
            return None
        listener_ids = row["listener_ids"]
        return PortalPrincipal(
            session_id=row["id"],
            org_id=row["org_id"],
            queue_id=row["queue_id"],
            listener_ids=frozenset(listener_ids) if listener_ids is not None else None,
            capabilities=frozenset(row["capabilities"]),
            branding=msgspec.json.decode(row["branding"]),
        )
