"""Running drains hear about new work at once: the API publishes the ids of the listeners it
woke (service/deliveries/wakeup.py) and this process sets the event of each one draining here.

Only a hint, for latency: pub/sub may drop messages, so a drain still trusts the dirty flag
and never waits on its event for longer than a short linger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.deliveries.wakeup import wake_channel

logger = logging.getLogger("herald.wake")

RESUBSCRIBE_S = 1.0


class WakeSignals:
    def __init__(self, redis: Redis, arq_queue_name: str) -> None:
        self._redis = redis
        self._channel = wake_channel(arq_queue_name)
        self._events: dict[uuid.UUID, asyncio.Event] = {}
        self._task = asyncio.create_task(self._listen(), name="wake-signals")

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
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._signal(message["data"])
            except (RedisError, OSError) as exc:
                logger.warning("wake-up signals not heard: %r", exc)
            await asyncio.sleep(RESUBSCRIBE_S)

    def _signal(self, data: bytes) -> None:
        for raw in data.split(b","):
            with contextlib.suppress(ValueError):
                event = self._events.get(uuid.UUID(raw.decode()))
                if event is not None:
                    event.set()
