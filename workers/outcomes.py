"""What an attempt's result means: the policy's decision for it, the record it leaves in
the attempts log, and whether (and how) it changes its listener's state."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import structlog

from service.config import Settings
from service.deliveries.state import DELIVERED, FAILED, PENDING
from service.lib.metrics import count_attempt
from workers.claims import ClaimedDelivery
from workers.listeners import ListenerConfig, disable_gone, record_failure, record_success
from workers.policy import Decision, Verdict, decide
from workers.recorder import AttemptRecord
from workers.sinks import SinkResult

log = structlog.get_logger("herald.drain")

STATUS_BY_VERDICT = {
    Verdict.DELIVERED: DELIVERED,
    Verdict.RETRY: PENDING,
    Verdict.FAILED: FAILED,
    Verdict.GONE: FAILED,
    Verdict.REJECTED: FAILED,
}


def judge(listener: ListenerConfig, delivery: ClaimedDelivery, result: SinkResult) -> Decision:
    """The policy's decision for this attempt, counted in the metrics (and logged when the
    attempt failed)."""
    if result.outcome.succeeded:  # decide's first case, without reading the clock
        decision = Decision(Verdict.DELIVERED)
    else:
        decision = decide(
            result.outcome,
            attempt=delivery.attempt - delivery.retry_base,
            max_attempts=listener.max_attempts,
            schedule=listener.retry_schedule_s,
            now=datetime.now(UTC),
        )
    count_attempt(listener.type, decision.verdict.value, result.duration_ms / 1000)
    if decision.verdict is not Verdict.DELIVERED:
        log.info(
            "attempt failed",
            queue_id=str(delivery.queue_id),
            message_id=str(delivery.message_id),
            delivery_id=str(delivery.id),
            attempt=delivery.attempt,
            verdict=decision.verdict.value,
            status_code=result.outcome.status_code,
            error=result.outcome.error,
            next_attempt_at=decision.next_attempt_at.isoformat()
            if decision.verdict is Verdict.RETRY and decision.next_attempt_at
            else None,
        )
    return decision


def changes_listener(listener: ListenerConfig, decision: Decision) -> bool:
    """A failure, or the first success after failures, changes the listener's state."""
    if decision.verdict is not Verdict.DELIVERED:
        return True
    return bool(
        listener.failing_since is not None
        or listener.delivery_failures
        or listener.circuit_open_until
    )


async def change_listener(
    pool: asyncpg.Pool, settings: Settings, listener: ListenerConfig, decision: Decision
) -> None:
    """What changes_listener announced, once the attempt is recorded: a 410 disables the
    listener and cancels what is open; a success after failures clears them; a failure
    counts towards disabling it (and its circuit breaker, without a liveness probe)."""
    if decision.verdict is Verdict.GONE:
        log.warning("listener answered 410 Gone: disabled, pending deliveries cancelled")
        await disable_gone(pool, listener.id)
    elif decision.verdict is Verdict.DELIVERED:
        await record_success(pool, listener.id)
    else:
        await record_failure(
            pool,
            listener.id,
            threshold=settings.circuit_failure_threshold,
            cooldown_s=settings.circuit_cooldown_s,
            breaker=listener.liveness_url is None,
        )


def attempt_record(
    listener: ListenerConfig, delivery: ClaimedDelivery, result: SinkResult, decision: Decision
) -> AttemptRecord:
    """The attempts log's row for this attempt, with the delivery's state after it."""
    outcome = result.outcome
    status = STATUS_BY_VERDICT[decision.verdict]
    retry_at = decision.next_attempt_at if status is PENDING else None
    return AttemptRecord(
        listener.id,
        delivery.message_id,
        delivery.attempt,
        status,
        outcome.status_code,
        outcome.error.replace("\x00", "\ufffd") if outcome.error else None,
        result.started_at,
        result.duration_ms,
        result.response_body,
        retry_at.timestamp() if retry_at else None,
    )
