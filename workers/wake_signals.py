"""Running drains hear about new work at once: the API publishes the ids of the listeners it
woke (service/deliveries/wakeup.py) and this process sets the event of each one draining here.

Only a hint, for latency: pub/sub may drop messages, so a drain still trusts the dirty flag
and never waits on its event for longer than a short linger.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator

from redis.asyncio import Redis

from service.deliveries.wakeup import wake_channel
from service.lib.pubsub import Subscription


class WakeSignals:
    def __init__(self, redis: Redis, arq_queue_name: str) -> None:
        self._events: dict[uuid.UUID, asyncio.Event] = {}
        self._subscription = Subscription(redis, wake_channel(arq_queue_name), self._signal)

    @contextlib.contextmanager
    def watch(self, listener_id: uuid.UUID) -> Iterator[asyncio.Event]:
        """An event set whenever `listener_id` is woken, while the block runs."""
        event = self._events[listener_id] = asyncio.Event()
        try:
            yield event
        finally:
            if self._events.get(listener_id) is event:
                del self._events[listener_id]

    async def close(self) -> None:
        await self._subscription.close()

    def _signal(self, data: bytes) -> None:
        for raw in data.split(b","):
            with contextlib.suppress(ValueError):
                event = self._events.get(uuid.UUID(raw.decode()))
                if event is not None:
                    event.set()
