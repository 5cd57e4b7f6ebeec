"""A drain's slot accounting: how many deliveries it may claim now, and how many make a
claim worth its round trip."""

from __future__ import annotations

from dataclasses import dataclass

from workers.listeners import ListenerConfig

# Sends may run ahead of their recorded outcomes by this many times the claim limit.
RECORDING_BACKLOG = 4
CLAIM_FRACTION = 4  # a claim waits for claim_limit / CLAIM_FRACTION free slots
PIPELINED_CLAIMS = 2  # a batching sink's claims under way at once (see claim_size)


@dataclass(slots=True)
class Slots:
    sending: int = 0  # claimed and not yet sent: what max_in_flight counts
    unrecorded: int = 0  # outcomes known and not yet committed

    @property
    def idle(self) -> bool:
        return not self.sending and not self.unrecorded

    def free(self, listener: ListenerConfig) -> int:
        """Deliveries the drain may claim now. Ordered and half-open listeners go one at a
        time: their next claim depends on the last outcome being recorded."""
        if listener.ordered or listener.half_open:
            return 1 if self.idle else 0
        limit = listener.claim_limit
        unrecorded = self.sending + self.unrecorded
        return max(0, min(limit - self.sending, RECORDING_BACKLOG * limit - unrecorded))

    def claim_min(self, listener: ListenerConfig) -> int:
        """Free slots worth a claim: a claim per freed slot would cost a round trip each."""
        if listener.ordered or listener.half_open:
            return 1
        return max(1, listener.claim_limit // CLAIM_FRACTION)

    def can_claim(self, listener: ListenerConfig) -> bool:
        return self.free(listener) >= self.claim_min(listener)

    @staticmethod
    def claim_size(listener: ListenerConfig, *, batches: bool) -> int:
        """A sink that sends a claim as one batch gets it in parts, so that the next part
        is claimed while the last is being sent rather than after."""
        if batches:
            return max(1, listener.claim_limit // PIPELINED_CLAIMS)
        return listener.claim_limit
