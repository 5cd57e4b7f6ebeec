"""HERALD_SECRET_KEY and what it seals (listener signing secrets and headers): the start-up
check that the configured keys can open them, and rotation to the newest key.

Rotating: set `HERALD_SECRET_KEY=<new>,<old>` everywhere (the first key encrypts, any
decrypts), run `herald secrets rotate`, then drop the old key. `secret_key_check` holds a
value sealed with the oldest key the stored secrets may still need; rotation reseals it
last, so a process that cannot open it would fail on some secret, and refuses to start.
"""

from __future__ import annotations

import uuid

import asyncpg
import structlog

from service.lib.secrets import InvalidToken, SecretBox

CHECK_VALUE = "herald"
READ_CHECK = "SELECT sealed FROM secret_key_check WHERE id = 1"
WRITE_CHECK = """
    INSERT INTO secret_key_check (id, sealed) VALUES (1, $1)
    ON CONFLICT (id) DO UPDATE SET sealed = EXCLUDED.sealed
"""
FIRST_CHECK = "INSERT INTO secret_key_check (id, sealed) VALUES (1, $1) ON CONFLICT DO NOTHING"
SEALED_PAGE = """
    SELECT id, secret_encrypted, previous_secret_encrypted, headers_sealed FROM listeners
     WHERE id > $1 ORDER BY id LIMIT $2
"""
# Unless the row changed meanwhile (a new secret or headers, sealed with the newest key).
RESEAL = """
    UPDATE listeners SET secret_encrypted = $2, previous_secret_encrypted = $3,
                         headers_sealed = $4
     WHERE id = $1 AND secret_encrypted = $5
       AND previous_secret_encrypted IS NOT DISTINCT FROM $6
       AND headers_sealed IS NOT DISTINCT FROM $7
"""
PAGE = 500
log = structlog.get_logger("herald.secret_keys")
MISMATCH = (
    "HERALD_SECRET_KEY cannot decrypt the secrets stored in this database. If the key was "
    "changed, list the new key first and the old one after it (HERALD_SECRET_KEY=new,old), "
    "run `herald secrets rotate`, then drop the old key."
)


class SecretKeyMismatch(RuntimeError):
    def __init__(self) -> None:
        super().__init__(MISMATCH)


async def check_secret_key(pool: asyncpg.Pool, box: SecretBox) -> None:
    """Raises SecretKeyMismatch when the configured keys cannot open the stored secrets.
    A process that starts while Postgres is away (it answers 503 until it is back) cannot
    check, and says so."""
    try:
        sealed = await pool.fetchval(READ_CHECK)
    except (OSError, asyncpg.PostgresConnectionError, TimeoutError) as exc:
        log.warning("could not check HERALD_SECRET_KEY: database unavailable", error=repr(exc))
        return
    if sealed is None:
        await pool.execute(FIRST_CHECK, box.seal(CHECK_VALUE))
        return
    try:
        box.open(sealed)
    except InvalidToken:
        raise SecretKeyMismatch() from None


async def rotate_secret_keys(pool: asyncpg.Pool, box: SecretBox) -> int:
    """Reseals every listener's secrets and headers with the newest key, then the check
    value; returns how many listeners it resealed."""
    await check_secret_key(pool, box)
    resealed = 0
    after = None
    while True:
        rows = await pool.fetch(SEALED_PAGE, after or _FIRST_ID, PAGE)
        if not rows:
            break
        await pool.executemany(RESEAL, [_resealed(box, row) for row in rows])
        resealed += len(rows)
        after = rows[-1]["id"]
    await pool.execute(WRITE_CHECK, box.seal(CHECK_VALUE))
    return resealed


_FIRST_ID = uuid.UUID(int=0)


def _resealed(box: SecretBox, row: asyncpg.Record) -> tuple[object, ...]:
    def reseal(token: bytes | None) -> bytes | None:
        return box.reseal(token) if token is not None else None

    secret, previous, headers = (
        row["secret_encrypted"],
        row["previous_secret_encrypted"],
        row["headers_sealed"],
    )
    return (
        row["id"],
        reseal(secret),
        reseal(previous),
        reseal(headers),
        secret,
        previous,
        headers,
    )
