"""The worker's budget for message bodies held in claimed deliveries not yet sent, shared by
all its drains: a claim asks for at most the budget left (and one claim's share)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class BodyBudget:
    limit: int  # bytes, for the whole process
    per_claim: int
    held: int = 0

    def for_claim(self) -> int:
        """Bytes the next claim may bring in; 0 when the process holds its limit."""
        return max(0, min(self.per_claim, self.limit - self.held))

    def take(self, size: int) -> None:
        self.held += size

    def give(self, size: int) -> None:
        self.held -= size
