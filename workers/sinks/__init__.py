"""Sinks deliver one claimed delivery to one listener; the drain does not know which kind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from workers.claims import ClaimedDelivery
from workers.listeners import ListenerConfig
from workers.policy import Outcome


@dataclass(frozen=True)
class SinkResult:
    outcome: Outcome
    started_at: datetime
    duration_ms: int
    response_body: str | None = None


class Sink(Protocol):
    async def send(self, listener: ListenerConfig, delivery: ClaimedDelivery) -> SinkResult:
        """One attempt. Never raises for delivery problems: they are the outcome."""
        ...

    async def close(self) -> None: ...
