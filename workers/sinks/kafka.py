"""The Kafka sink: produce each message to the listener's topic on the configured cluster.

Sends are awaited before a delivery counts as delivered; concurrent sends share the
producer's batches (linger). Failures become outcomes and follow the listener's schedule.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from service.config import Settings
from workers.claims import ClaimedDelivery
from workers.listeners import ListenerConfig
from workers.policy import Outcome
from workers.sinks import SinkResult

LINGER_MS = 5
START_ATTEMPTS = 3


def record_key(listener: ListenerConfig, delivery: ClaimedDelivery) -> tuple[bytes, str | None]:
    """The record key and, when the configured JSON field could not be used, why."""
    fallback = str(delivery.message_id).encode()
    if not listener.kafka_key:
        return fallback, None
    try:
        document = json.loads(delivery.body or b"")
    except ValueError:
        return fallback, f"body is not JSON: keyed by message id instead of '{listener.kafka_key}'"
    value = document.get(listener.kafka_key) if isinstance(document, dict) else None
    if value is None:
        return fallback, f"field '{listener.kafka_key}' missing: keyed by message id"
    return (value if isinstance(value, str) else json.dumps(value)).encode(), None


def record_headers(listener: ListenerConfig, delivery: ClaimedDelivery) -> list[tuple[str, bytes]]:
    return [
        ("webhook-id", str(delivery.id).encode()),
        ("content-type", delivery.content_type.encode()),
        ("herald-queue-id", str(delivery.queue_id).encode()),
        ("herald-message-id", str(delivery.message_id).encode()),
    ]


class KafkaSink:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer: AIOKafkaProducer | None = None

    @classmethod
    async def start(cls, settings: Settings) -> KafkaSink:
        return cls(settings)

    async def _producer(self) -> AIOKafkaProducer:
        """Started on first use (the broker may be down when the worker starts)."""
        if self.producer is not None:
            return self.producer
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(START_ATTEMPTS),
            wait=wait_exponential(multiplier=0.2, max=1),
            retry=retry_if_exception_type(KafkaError),
            reraise=True,
        ):
            with attempt:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.settings.kafka_bootstrap,
                    acks="all",
                    enable_idempotence=self.settings.kafka_idempotent,
                    linger_ms=LINGER_MS,
                    request_timeout_ms=10_000,
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self.producer = producer
        assert self.producer is not None
        return self.producer

    async def send(self, listener: ListenerConfig, delivery: ClaimedDelivery) -> SinkResult:
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        outcome, note = await self._produce(listener, delivery)
        return SinkResult(outcome, started_at, int((time.perf_counter() - started) * 1000), note)

    async def _produce(
        self, listener: ListenerConfig, delivery: ClaimedDelivery
    ) -> tuple[Outcome, str | None]:
        if delivery.body is None:
            return Outcome(error="payload no longer retained", permanent=True), None
        key, key_note = record_key(listener, delivery)
        try:
            producer = await self._producer()
            metadata = await producer.send_and_wait(
                listener.kafka_topic or "",
                value=delivery.body,
                key=key,
                headers=record_headers(listener, delivery),
            )
        except MessageSizeTooLargeError as exc:
            return Outcome(
                error=f"record too large for the broker: {exc}", permanent=True
            ), key_note
        except (KafkaError, OSError) as exc:
            await self._reset()
            return Outcome(error=f"kafka: {type(exc).__name__}: {exc}"), key_note
        note = f"partition={metadata.partition} offset={metadata.offset}"
        return Outcome(accepted=True), f"{note}; {key_note}" if key_note else note

    async def _reset(self) -> None:
        """Drops a producer that failed, so the next attempt reconnects."""
        producer, self.producer = self.producer, None
        if producer is not None:
            with contextlib.suppress(KafkaError, OSError):
                await producer.stop()

    async def close(self) -> None:
        await self._reset()
