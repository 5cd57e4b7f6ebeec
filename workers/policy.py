"""Delivery policy as pure functions: what an attempt's outcome means and when to try next."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import Enum

JITTER = 0.2
RETRY_AFTER_STATUSES = (429, 503)


class Verdict(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    GONE = "gone"  # 410: the listener is disabled and its pending deliveries cancelled
    REJECTED = "rejected"  # can never succeed (e.g. a Kafka record over the broker's limit)


@dataclass(slots=True)
class Outcome:
    """What one attempt produced: a status code, or an error when no response came."""

    status_code: int | None = None
    error: str | None = None
    retry_after: str | None = None
    permanent: bool = False
    accepted: bool = False  # a sink without status codes (Kafka) that took the message

    @property
    def succeeded(self) -> bool:
        if self.accepted:
            return True
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(slots=True)
class Decision:
    verdict: Verdict
    next_attempt_at: datetime | None = None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None for
    anything else (Unicode digits such as '²' included)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_delay(
    attempt: int,
    schedule: list[float],
    *,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds before the attempt after `attempt` (1-based): the schedule's step with +-20%
    jitter, or Retry-After when that is longer (capped at the schedule's longest step)."""
    step = schedule[min(attempt, len(schedule)) - 1]
    delay = step * (1 + (rng or random).uniform(-JITTER, JITTER))
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, max(schedule)))
    return delay


def decide(
    outcome: Outcome,
    *,
    attempt: int,
    max_attempts: int,
    schedule: list[float],
    now: datetime,
    rng: random.Random | None = None,
) -> Decision:
    """The delivery's next state after attempt number `attempt` (1-based)."""
    if outcome.succeeded:
        return Decision(Verdict.DELIVERED)
    if outcome.status_code == 410:
        return Decision(Verdict.GONE)
    if outcome.permanent:
        return Decision(Verdict.REJECTED)
    if attempt >= max_attempts:
        return Decision(Verdict.FAILED)
    retry_after_s = None
    if outcome.status_code in RETRY_AFTER_STATUSES:
        retry_after_s = parse_retry_after(outcome.retry_after, now)
    delay = retry_delay(attempt, schedule, retry_after_s=retry_after_s, rng=rng)
    return Decision(Verdict.RETRY, now + timedelta(seconds=delay))


def should_disable(failing_since: datetime | None, now: datetime, after_s: float) -> bool:
    """A listener whose deliveries have failed without a success for `after_s` is disabled."""
    return failing_since is not None and (now - failing_since).total_seconds() >= after_s
