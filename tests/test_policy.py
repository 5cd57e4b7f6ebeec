"""The pure delivery policy and signing, exhaustively."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from service.config import DEFAULT_RETRY_SCHEDULE_S
from service.lib.secrets import new_signing_secret
from service.lib.signing import sign, signature_header
from workers.policy import (
    Decision,
    Outcome,
    Verdict,
    decide,
    parse_retry_after,
    retry_delay,
    should_disable,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SCHEDULE = list(DEFAULT_RETRY_SCHEDULE_S)


def run(outcome: Outcome, attempt: int = 1, max_attempts: int = 10, seed: int = 1) -> Decision:
    return decide(
        outcome,
        attempt=attempt,
        max_attempts=max_attempts,
        schedule=SCHEDULE,
        now=NOW,
        rng=random.Random(seed),
    )


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_any_2xx_is_delivered(status: int) -> None:
    assert run(Outcome(status_code=status)).verdict is Verdict.DELIVERED


@pytest.mark.parametrize(
    "status", [100, 301, 302, 304, 400, 401, 403, 404, 408, 409, 425, 429, 500, 502, 503, 504]
)
def test_every_other_status_is_retried(status: int) -> None:
    assert run(Outcome(status_code=status)).verdict is Verdict.RETRY


@pytest.mark.parametrize("error", ["timeout", "connection refused", "dns failure"])
def test_errors_without_a_response_are_retried(error: str) -> None:
    assert run(Outcome(error=error)).verdict is Verdict.RETRY


def test_410_disables_at_once_even_on_the_last_attempt() -> None:
    assert run(Outcome(status_code=410)).verdict is Verdict.GONE
    assert run(Outcome(status_code=410), attempt=10).verdict is Verdict.GONE


def test_permanent_errors_are_rejected_without_retries() -> None:
    assert run(Outcome(error="record too large", permanent=True)).verdict is Verdict.REJECTED


def test_the_last_attempt_fails_the_delivery() -> None:
    assert run(Outcome(status_code=500), attempt=10).verdict is Verdict.FAILED
    assert run(Outcome(status_code=500), attempt=9).verdict is Verdict.RETRY
    assert run(Outcome(status_code=500), attempt=1, max_attempts=1).verdict is Verdict.FAILED


@pytest.mark.parametrize(("attempt", "step"), list(enumerate(SCHEDULE, start=1)))
def test_default_schedule_with_20_percent_jitter(attempt: int, step: float) -> None:
    delays = [retry_delay(attempt, SCHEDULE, rng=random.Random(seed)) for seed in range(200)]
    assert all(step * 0.8 <= d <= step * 1.2 for d in delays)
    assert max(delays) - min(delays) > step * 0.2


def test_schedule_steps_are_5s_30s_2m_10m_30m_1h_2h_4h_8h() -> None:
    assert SCHEDULE == [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800]


def test_attempts_past_the_schedule_reuse_its_last_step() -> None:
    assert 2 * 0.8 <= retry_delay(7, [1, 2], rng=random.Random(3)) <= 2 * 1.2


def test_next_attempt_time_follows_the_delay() -> None:
    decision = run(Outcome(status_code=500), attempt=1)
    assert decision.next_attempt_at is not None
    assert timedelta(seconds=4) <= decision.next_attempt_at - NOW <= timedelta(seconds=6)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_raises_the_delay(status: int) -> None:
    decision = run(Outcome(status_code=status, retry_after="100"), attempt=1)
    assert decision.next_attempt_at == NOW + timedelta(seconds=100)


def test_retry_after_http_date_is_honoured() -> None:
    decision = run(Outcome(status_code=503, retry_after="Thu, 01 Jan 2026 12:03:00 GMT"), attempt=1)
    assert decision.next_attempt_at == NOW + timedelta(seconds=180)


def test_retry_after_is_capped_at_the_longest_step() -> None:
    decision = run(Outcome(status_code=429, retry_after="999999"), attempt=1)
    assert decision.next_attempt_at == NOW + timedelta(seconds=max(SCHEDULE))


def test_retry_after_shorter_than_the_step_does_not_shorten_it() -> None:
    decision = run(Outcome(status_code=429, retry_after="1"), attempt=3)
    assert decision.next_attempt_at is not None
    assert decision.next_attempt_at - NOW >= timedelta(seconds=120 * 0.8)


def test_retry_after_is_ignored_on_other_statuses() -> None:
    decision = run(Outcome(status_code=500, retry_after="1000"), attempt=1)
    assert decision.next_attempt_at is not None
    assert decision.next_attempt_at - NOW <= timedelta(seconds=6)


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "Mon, 99 Foo 2026"])
def test_unparseable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_retry_after_in_the_past_is_zero() -> None:
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", NOW) == 0.0


def test_disable_after_five_days_of_failures() -> None:
    five_days = 5 * 24 * 3600
    assert not should_disable(None, NOW, five_days)
    assert not should_disable(NOW - timedelta(days=4, hours=23), NOW, five_days)
    assert should_disable(NOW - timedelta(days=5), NOW, five_days)


def test_signature_verifies_with_the_standardwebhooks_package() -> None:
    secret = new_signing_secret()
    body = b'{"event": "paid", "amount": 10}'
    timestamp = int(time.time())  # the package checks the timestamp against its own clock
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, "msg_1", timestamp, body),
    }
    assert Webhook(secret).verify(body, headers) == {"event": "paid", "amount": 10}


def test_two_secrets_give_two_space_separated_signatures_each_valid() -> None:
    old, new = new_signing_secret(), new_signing_secret()
    header = signature_header([new, old], "id", 1, b"x")
    parts = header.split(" ")
    assert parts == [sign(new, "id", 1, b"x"), sign(old, "id", 1, b"x")]
    assert all(p.startswith("v1,") for p in parts)


def test_signature_changes_with_every_input() -> None:
    secret = new_signing_secret()
    base = sign(secret, "id", 1, b"body")
    assert base != sign(secret, "id2", 1, b"body")
    assert base != sign(secret, "id", 2, b"body")
    assert base != sign(secret, "id", 1, b"body2")
    assert base != sign(new_signing_secret(), "id", 1, b"body")
