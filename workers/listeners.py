"""What a drain needs to know about its listener, and the listener-level state changes."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import asyncpg

from service.deliveries.state import CANCEL_OPEN
from service.lib import signing
from service.lib.secrets import SecretBox
from service.lib.ssrf import UnsafeTarget
from service.lib.targets import Target, parse_target
from service.lib.webhook_headers import listener_headers
from service.operational_events.outbox import LISTENER_DATA, OperationalEvent, emit
from workers.pacing import claim_limit

LOAD = """
    SELECT id, queue_id, type, notify_url, liveness_url, kafka_topic, kafka_key, headers_sealed,
           timeout_ms, max_attempts, retry_schedule_s, ordered, max_in_flight, rate_limit_per_s,
           status, health_state, secret_encrypted, previous_secret_encrypted,
           previous_secret_expires_at, failing_since, delivery_failures, circuit_open_until,
           deleted_at, now() AS now
      FROM listeners WHERE id = $1
"""


@dataclass(frozen=True)
class ListenerConfig:  # loaded once per drain cycle, read for every delivery
    id: uuid.UUID
    queue_id: uuid.UUID
    type: str
    notify_url: str | None
    liveness_url: str | None
    kafka_topic: str | None
    kafka_key: str | None
    headers: dict[str, str]
    timeout_s: float
    max_attempts: int
    retry_schedule_s: list[float]
    ordered: bool
    max_in_flight: int
    rate_limit_per_s: float | None
    status: str
    health_state: str
    secrets: list[str]
    failing_since: datetime | None
    delivery_failures: int
    circuit_open_until: datetime | None
    deleted: bool
    loaded_at: datetime

    @cached_property
    def signers(self) -> tuple[hmac.HMAC, ...]:
        return signing.signers(self.secrets)

    @cached_property
    def fixed_headers(self) -> dict[str, str]:
        return listener_headers(self.headers, self.id, self.queue_id)

    @cached_property
    def notify_target(self) -> Target | UnsafeTarget:
        """Where webhooks go, parsed once per load; or why they cannot go there (a URL
        stored before the rules that refuse it)."""
        try:
            return parse_target(self.notify_url or "")
        except UnsafeTarget as exc:
            return exc

    @cached_property
    def claim_limit(self) -> int:
        """Deliveries a drain may hold claimed at once (see pacing.claim_limit)."""
        return claim_limit(self.max_in_flight, self.rate_limit_per_s)

    @property
    def deliverable(self) -> bool:
        """Active, not deleted, and not known to be down."""
        if self.deleted or self.status != "active" or self.health_state == "unreachable":
            return False
        return self.circuit_open_until is None or self.circuit_open_until <= self.loaded_at

    @property
    def half_open(self) -> bool:
        """The circuit's cool-down is over: the next delivery is the probe."""
        return self.circuit_open_until is not None and self.circuit_open_until <= self.loaded_at


async def load_listener(
    pool: asyncpg.Pool,
    listener_id: uuid.UUID,
    box: SecretBox,
    default_schedule: list[float],
    sockets_per_host: int,
) -> ListenerConfig | None:
    """`sockets_per_host` caps a webhook's sends under way: past the egress's sockets to
    one host they would only wait for one, inside their deadline."""
    row = await pool.fetchrow(LOAD, listener_id)
    if row is None:
        return None
    secrets = [box.open(row["secret_encrypted"])]
    expires = row["previous_secret_expires_at"]
    if (
        row["previous_secret_encrypted"] is not None
        and expires is not None
        and expires > row["now"]
    ):
        secrets.append(box.open(row["previous_secret_encrypted"]))
    return ListenerConfig(
        id=row["id"],
        queue_id=row["queue_id"],
        type=row["type"],
        notify_url=row["notify_url"],
        liveness_url=row["liveness_url"],
        kafka_topic=row["kafka_topic"],
        kafka_key=row["kafka_key"],
        headers=box.open_headers(row["headers_sealed"]),
        timeout_s=row["timeout_ms"] / 1000,
        max_attempts=row["max_attempts"],
        retry_schedule_s=list(row["retry_schedule_s"] or default_schedule),
        ordered=row["ordered"],
        max_in_flight=min(row["max_in_flight"], sockets_per_host)
        if row["type"] == "webhook"
        else row["max_in_flight"],
        rate_limit_per_s=row["rate_limit_per_s"],
        status=row["status"],
        health_state=row["health_state"],
        secrets=secrets,
        failing_since=row["failing_since"],
        delivery_failures=row["delivery_failures"],
        circuit_open_until=row["circuit_open_until"],
        deleted=row["deleted_at"] is not None,
        loaded_at=row["now"],
    )


# $1 the listener, $2 why.
DISABLE = f"""
    WITH disabled AS (
        UPDATE listeners SET status = 'disabled', disabled_reason = $2, updated_at = now()
         WHERE id = $1 AND status <> 'disabled'
        RETURNING id AS listener_id, org_id, queue_id, name, disabled_reason
    ), event AS ({
        emit("disabled", OperationalEvent.LISTENER_DISABLED,
             LISTENER_DATA + ", 'reason', r.disabled_reason")
    })
    SELECT count(*) FROM disabled
"""  # fmt: skip


async def disable_gone(pool: asyncpg.Pool, listener_id: uuid.UUID) -> None:
    """410 Gone: disable the listener at once and cancel its pending deliveries."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(DISABLE, listener_id, "the endpoint answered 410 Gone")
        await connection.execute(CANCEL_OPEN, [listener_id])


async def record_success(pool: asyncpg.Pool, listener_id: uuid.UUID) -> None:
    await pool.execute(
        "UPDATE listeners"
        " SET failing_since = NULL, delivery_failures = 0, circuit_open_until = NULL"
        " WHERE id = $1 AND (failing_since IS NOT NULL OR delivery_failures <> 0"
        " OR circuit_open_until IS NOT NULL)",
        listener_id,
    )


async def record_failure(
    pool: asyncpg.Pool, listener_id: uuid.UUID, *, threshold: int, cooldown_s: float, breaker: bool
) -> None:
    """Counts a failed attempt; past the threshold, opens the circuit (when `breaker`)."""
    await pool.execute(
        """
        UPDATE listeners
           SET failing_since = coalesce(failing_since, now()),
               delivery_failures = delivery_failures + 1,
               circuit_open_until = CASE
                   WHEN $4 AND delivery_failures + 1 >= $2 THEN now() + make_interval(secs => $3)
                   ELSE circuit_open_until END
         WHERE id = $1
        """,
        listener_id,
        threshold,
        cooldown_s,
        breaker,
    )
