"""Sinks deliver claimed deliveries to one listener; the drain does not know which kind.

A sink that `batches` gets all the deliveries of a claim in one `send_many` (Kafka: the
claim's records as one record batch per partition, awaited together); others get one
`send` per delivery, each running on its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from workers.claims import ClaimedDelivery
from workers.listeners import ListenerConfig
from workers.policy import Outcome


@dataclass(slots=True)
class SinkResult:
    outcome: Outcome
    started_at: float  # unix seconds
    duration_ms: int
    response_body: str | None = None


class Sink(Protocol):
    batches: bool

    async def send(self, listener: ListenerConfig, delivery: ClaimedDelivery) -> SinkResult:
        """One attempt; never raises for delivery problems: they are the outcome."""
        ...

    async def send_many(
        self, listener: ListenerConfig, deliveries: list[ClaimedDelivery]
    ) -> list[SinkResult]:
        """One attempt each, results in order. Never raises for delivery problems: they
        are the outcome."""
        ...

    async def close(self) -> None: ...


def internal_error(exc: BaseException, started_at: float | None = None) -> SinkResult:
    """The result of an attempt that failed inside Herald rather than at the receiver:
    the error goes to the attempts log and the schedule applies."""
    error = f"internal error: {type(exc).__name__}: {exc}"
    return SinkResult(Outcome(error=error), started_at or time.time(), 0)
