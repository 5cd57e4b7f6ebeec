"""A Redis pub/sub channel heard for the life of a process, resubscribing after Redis is lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("herald.pubsub")

RESUBSCRIBE_S = 1.0


class Subscription:
    def __init__(
        self,
        redis: Redis,
        channel: str,
        on_message: Callable[[bytes], None],
        *,
        on_listening: Callable[[bool], None] = lambda _: None,
    ) -> None:
        """`on_message` gets each message's data; `on_listening(True)` once subscribed and
        `on_listening(False)` when the subscription is lost (messages may have been missed)."""
        self._redis = redis
        self._channel = channel
        self._on_message = on_message
        self._on_listening = on_listening
        self._task = asyncio.create_task(self._listen(), name=f"subscription:{channel}")

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        if message["type"] == "subscribe":
                            self._on_listening(True)
                        elif message["type"] == "message":
                            self._on_message(message["data"])
            except (RedisError, OSError) as exc:
                logger.warning("not hearing %s: %r", self._channel, exc)
            finally:
                self._on_listening(False)
            await asyncio.sleep(RESUBSCRIBE_S)
