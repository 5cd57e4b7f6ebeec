"""The Kafka sink: produce each message to the listener's topic on the configured cluster.

Sends are awaited before a delivery counts as delivered; concurrent sends share the
producer's batches (linger). Failures become outcomes and follow the listener's schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

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

    batches = True

    async def send(self, listener: ListenerConfig, delivery: ClaimedDelivery) -> SinkResult:
        return (await self.send_many(listener, [delivery]))[0]

    async def send_many(
        self, listener: ListenerConfig, deliveries: list[ClaimedDelivery]
    ) -> list[SinkResult]:
        """Every record is handed to the producer first, then all are awaited: they share
        its batches instead of each waiting out a linger of its own."""
        started_at = time.time()
        started = time.perf_counter()
        try:
            producer = await self._producer()
        except (KafkaError, OSError) as exc:
            outcomes: list[tuple[Outcome, str | None]] = [(_failure(exc), None)] * len(deliveries)
        else:
            pending = [await _enqueue(producer, listener, d) for d in deliveries]
            outcomes = [await _settle(step) for step in pending]
        if any(outcome.error and not outcome.permanent for outcome, _ in outcomes):
            await self._reset()  # the next attempt reconnects
        duration_ms = int((time.perf_counter() - started) * 1000)
        return [SinkResult(outcome, started_at, duration_ms, note) for outcome, note in outcomes]

    async def _reset(self) -> None:
        """Drops a producer that failed, so the next attempt reconnects."""
        producer, self.producer = self.producer, None
        if producer is not None:
            with contextlib.suppress(KafkaError, OSError):
                await producer.stop()

    async def close(self) -> None:
        await self._reset()


_Step = tuple["asyncio.Future[Any] | Outcome", str | None]


async def _enqueue(
    producer: AIOKafkaProducer, listener: ListenerConfig, delivery: ClaimedDelivery
) -> _Step:
    """The record's send under way, or the outcome when it could not be handed over."""
    if delivery.body is None:
        return Outcome(error="payload no longer retained", permanent=True), None
    key, key_note = record_key(listener, delivery)
    try:
        sent = await producer.send(
            listener.kafka_topic or "",
            value=delivery.body,
            key=key,
            headers=record_headers(listener, delivery),
        )
    except (KafkaError, OSError) as exc:
        return _failure(exc), key_note
    return sent, key_note


async def _settle(step: _Step) -> tuple[Outcome, str | None]:
    sent, key_note = step
    if isinstance(sent, Outcome):
        return sent, key_note
    try:
        metadata = await sent
    except (KafkaError, OSError) as exc:
        return _failure(exc), key_note
    note = f"partition={metadata.partition} offset={metadata.offset}"
    return Outcome(accepted=True), f"{note}; {key_note}" if key_note else note


def _failure(exc: BaseException) -> Outcome:
    if isinstance(exc, MessageSizeTooLargeError):
        return Outcome(error=f"record too large for the broker: {exc}", permanent=True)
    return Outcome(error=f"kafka: {type(exc).__name__}: {exc}")
