"""Console sign-in sessions: a random token in an httpOnly cookie, its SHA-256 in Postgres.
A session acts as the API key that signed in, with that key's current organization and
scopes: deleting the key ends its sessions at once."""

from __future__ import annotations

import secrets

import asyncpg

from service.auth import Principal
from service.lib.secrets import hash_token

COOKIE = "herald_console"
TTL_S = 12 * 3600
START = """
    INSERT INTO web_sessions (token_hash, api_key_id, expires_at, created_at)
    VALUES ($1, $2, now() + make_interval(secs => $3), now())
"""
FIND = """
    SELECT k.id, k.org_id, k.scopes FROM web_sessions s JOIN api_keys k ON k.id = s.api_key_id
     WHERE s.token_hash = $1 AND s.expires_at > now()
"""
END = "DELETE FROM web_sessions WHERE token_hash = $1"
# A few of the expired ones go with every sign-in: the table never holds many.
FORGET_EXPIRED = """
    DELETE FROM web_sessions WHERE token_hash IN (
        SELECT token_hash FROM web_sessions WHERE expires_at < now() LIMIT 100)
"""


class ConsoleSessions:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def start(self, principal: Principal) -> str:
        """A new session's cookie token."""
        token = secrets.token_urlsafe(32)
        async with self._pool.acquire() as connection:
            await connection.execute(START, hash_token(token), principal.key_id, TTL_S)
            await connection.execute(FORGET_EXPIRED)
        return token

    async def principal(self, token: str) -> Principal | None:
        row = await self._pool.fetchrow(FIND, hash_token(token))
        if row is None:
            return None
        return Principal(org_id=row["org_id"], key_id=row["id"], scopes=frozenset(row["scopes"]))

    async def end(self, token: str) -> None:
        await self._pool.execute(END, hash_token(token))
