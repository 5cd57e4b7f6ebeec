"""The webhook sink: a signed POST through the guarded egress, one deadline per attempt."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp

from service.lib.signing import signature_header_with
from service.lib.ssrf import UnsafeTarget
from service.lib.targets import Target
from service.lib.webhook_headers import request_headers
from workers.claims import ClaimedDelivery
from workers.egress import Egress, connect_failure
from workers.listeners import ListenerConfig
from workers.policy import Outcome
from workers.sinks import SinkResult
from workers.sinks.deadlines import Deadline, Deadlines

RESPONSE_BODY_BYTES = 4096


def webhook_headers(
    listener: ListenerConfig, delivery: ClaimedDelivery, body: bytes, now: float
) -> dict[str, str]:
    timestamp = int(now)
    webhook_id = str(delivery.message_id)
    return request_headers(
        listener.fixed_headers,
        delivery.original_headers,
        message_id=webhook_id,
        content_type=delivery.content_type,
        timestamp=timestamp,
        signature=signature_header_with(listener.signers, webhook_id, timestamp, body),
        attempt=delivery.attempt,
        event_type=delivery.event_type,
    )


def printable(body: bytes) -> str:
    """Text Postgres can store: invalid UTF-8 and NUL (which text columns refuse) replaced."""
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


async def _read_head(stream: aiohttp.StreamReader) -> bytes:
    head = await stream.read(RESPONSE_BODY_BYTES)
    while len(head) < RESPONSE_BODY_BYTES and not stream.at_eof():
        chunk = await stream.read(RESPONSE_BODY_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head


def refused(
    egress: Egress, target: Target | UnsafeTarget, delivery: ClaimedDelivery
) -> Outcome | None:
    """The outcome of an attempt that cannot be made, if this one cannot."""
    if delivery.body is None:
        return Outcome(error="payload no longer retained", permanent=True)
    if isinstance(target, UnsafeTarget):
        return Outcome(error=f"blocked: {target}")
    reason = egress.refusal(target)
    return Outcome(error=f"blocked: {reason}") if reason else None


@dataclass(slots=True)
class WebhookAttempt:
    """What every HTTP sink does around its request: refuse what cannot be sent, sign the
    headers, start the attempt's one deadline (for connect, send and read: socket timeouts
    alone let a receiver that drips its answer hold the attempt for ever), and turn the
    outcome into the attempt's result. Plain calls, so the sink's `send` stays one
    coroutine down to its client."""

    started_at: float
    started: float
    target: Target
    body: bytes
    headers: dict[str, str]
    deadline: Deadline

    @classmethod
    def begin(
        cls,
        egress: Egress,
        deadlines: Deadlines,
        listener: ListenerConfig,
        delivery: ClaimedDelivery,
    ) -> WebhookAttempt | SinkResult:
        """The attempt to make, or the result of one that cannot be made."""
        started_at = time.time()
        started = time.perf_counter()
        target = listener.notify_target
        refusal = refused(egress, target, delivery)
        if refusal is not None:
            return SinkResult(refusal, started_at, 0, None)
        assert delivery.body is not None and not isinstance(target, UnsafeTarget)  # refused
        headers = webhook_headers(listener, delivery, delivery.body, started_at)
        deadline = deadlines.within(listener.timeout_s)
        return cls(started_at, started, target, delivery.body, headers, deadline)

    def result(
        self, listener: ListenerConfig, outcome: Outcome | None, response_body: str | None
    ) -> SinkResult:
        if self.deadline.expired or outcome is None:
            outcome = Outcome(error=f"timeout after {int(listener.timeout_s * 1000)} ms")
            response_body = None
        duration_ms = int((time.perf_counter() - self.started) * 1000)
        return SinkResult(outcome, self.started_at, duration_ms, response_body)


class HttpSink:
    """Sends webhooks through the egress (see workers.egress for what it refuses)."""

    def __init__(self, egress: Egress) -> None:
        self.egress = egress
        self.session = egress.session
        self.deadlines = Deadlines()

    batches = False  # each webhook is its own request, with its own deadline

    async def send_many(
        self, listener: ListenerConfig, deliveries: list[ClaimedDelivery]
    ) -> list[SinkResult]:
        return [await self.send(listener, delivery) for delivery in deliveries]

    async def send(self, listener: ListenerConfig, delivery: ClaimedDelivery) -> SinkResult:
        # One coroutine from here to aiohttp: every layer of awaits is paid again each time
        # the attempt resumes.
        attempt = WebhookAttempt.begin(self.egress, self.deadlines, listener, delivery)
        if isinstance(attempt, SinkResult):
            return attempt
        outcome, response_body = None, None  # set by the request, unless the deadline ends it
        try:
            with attempt.deadline:
                async with self.session.post(
                    attempt.target.url,
                    data=attempt.body,
                    headers=attempt.headers,
                    allow_redirects=False,
                ) as response:
                    body = await _read_head(response.content)
                    if not response.content.at_eof():
                        response.close()  # do not read (or keep) an endless body
                    outcome = Outcome(
                        status_code=response.status,
                        retry_after=response.headers.get("retry-after"),
                    )
                    response_body = printable(body)
        except aiohttp.ClientConnectorError as exc:
            outcome = Outcome(error=connect_failure(exc))
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            outcome = Outcome(error=f"{type(exc).__name__}: {exc}")
        return attempt.result(listener, outcome, response_body)

    async def close(self) -> None:
        """The session is the egress's: its owner closes it."""
