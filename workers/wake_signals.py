"""Running drains hear about new work at once: the API publishes the ids of the listeners it
woke (service/deliveries/wakeup.py) and this process marks the Watch of each one draining
here.

Only a hint, for latency: pub/sub may drop messages, so a drain still reads the dirty flag
now and then, and never waits on its event for longer than a short linger.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from redis.asyncio import Redis

from service.deliveries.wakeup import wake_channel
from service.lib.pubsub import Subscription


@dataclass(eq=False)
class Watch:
    """`event` is set by every signal, and by the drain itself when it has made progress;
    `signalled` says a signal came since the drain last took it."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    signalled: bool = False

    def take_signal(self) -> bool:
        signalled, self.signalled = self.signalled, False
        return signalled


class WakeSignals:
    def __init__(self, redis: Redis, arq_queue_name: str) -> None:
        self._watches: dict[uuid.UUID, Watch] = {}
        self._subscription = Subscription(redis, wake_channel(arq_queue_name), self._signal)

    @contextlib.contextmanager
    def watch(self, listener_id: uuid.UUID) -> Iterator[Watch]:
        """Marked whenever `listener_id` is woken, while the block runs."""
        watch = self._watches[listener_id] = Watch()
        try:
            yield watch
        finally:
            if self._watches.get(listener_id) is watch:
                del self._watches[listener_id]

    async def close(self) -> None:
        await self._subscription.close()

    def _signal(self, data: bytes) -> None:
        for raw in data.split(b","):
            with contextlib.suppress(ValueError):
                watch = self._watches.get(uuid.UUID(raw.decode()))
                if watch is not None:
                    watch.signalled = True
                    watch.event.set()
