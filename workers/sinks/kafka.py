"""The Kafka sink: produce each message to the listener's topic on the configured cluster.

A claim is produced as whole record batches (aiokafka's batch API: one batch per
partition, one future per batch) and awaited before its deliveries count as delivered.
Records are placed on the partitions the producer itself would choose for their keys.
Failures become outcomes and follow the listener's schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError, MessageSizeTooLargeError
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.structs import RecordMetadata
from murmurhash2 import murmurhash2
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from service.config import Settings
from workers.claims import ClaimedDelivery
from workers.listeners import ListenerConfig
from workers.policy import Outcome
from workers.sinks import SinkResult

# A claim of a few hundred 1 KiB messages fits one batch (one produce request; the
# producer keeps one request in flight per broker), well under the broker's default
# 1 MB message.max.bytes. A broker configured smaller rejects the batch as too large:
# its records are then produced one per batch (see _produce_alone).
MAX_BATCH_BYTES = 256 * 1024
MAX_REQUEST_BYTES = 1024 * 1024  # aiokafka's max_request_size default
START_ATTEMPTS = 3
REQUEST_TIMEOUT_S = 10
# aiokafka fails a batch it could not deliver after the request timeout, except one handed
# over while the producer was closing (after a failure): that one is never answered.
ANSWER_DEADLINE_S = REQUEST_TIMEOUT_S + 5
MURMUR2_SEED = 0x9747B28C  # the seed of Kafka's default partitioner


def partition_for(key: bytes, partitions: list[int]) -> int:
    """The partition Kafka's default partitioner (Java's and aiokafka's alike) picks for a
    keyed record, so that records with the same key share a partition whoever produced
    them. `partitions` sorted."""
    if len(partitions) == 1:
        return partitions[0]
    return partitions[(murmurhash2(key, MURMUR2_SEED) & 0x7FFFFFFF) % len(partitions)]


def record_key(
    listener: ListenerConfig, delivery: ClaimedDelivery, fallback: bytes
) -> tuple[bytes, str | None]:
    """The record key (`fallback`, the message id, unless the listener names a JSON field)
    and, when the configured field could not be used, why."""
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


def record_headers(
    delivery: ClaimedDelivery, message_id: bytes, queue_id: bytes
) -> list[tuple[str, bytes]]:
    return [
        ("webhook-id", message_id),  # a delivery's id is its message's (migration 0006)
        ("content-type", delivery.content_type.encode()),
        ("herald-queue-id", queue_id),
        ("herald-message-id", message_id),
    ]


@dataclass
class _Batch:
    """Records of one claim bound for one partition, with where each one came from."""

    partition: int
    builder: BatchBuilder
    members: list[tuple[int, int]] = field(default_factory=list)  # (delivery, offset in batch)

    def add(self, index: int, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> bool:
        """False when the batch is full."""
        placed = self.builder.append(timestamp=None, key=key, value=value, headers=headers)
        if placed is None:
            return False
        self.members.append((index, placed.offset))
        return True


class KafkaSink:
    batches = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer: AIOKafkaProducer | None = None
        # Concurrent claims share one producer, and a new one starts only after the last
        # has stopped: otherwise each claim could start its own (leaking all but one), and
        # their produce requests would race (Tansu loses records written that way).
        self.starting = asyncio.Lock()
        # One claim hands its batches over at a time. aiokafka queues one batch per
        # partition and makes the next wait for it to be sent, taking the time waited off
        # its timeout once per wake-up counted from the start: several claims waiting for
        # the same partition wake each other and time out in under a second.
        self.handing_over = asyncio.Lock()

    @classmethod
    async def start(cls, settings: Settings) -> KafkaSink:
        return cls(settings)

    async def _producer(self) -> AIOKafkaProducer:
        """Started on first use (the broker may be down when the worker starts)."""
        if self.producer is not None:
            return self.producer
        async with self.starting:
            if self.producer is None:
                self.producer = await self._start_producer()
            return self.producer

    async def _start_producer(self) -> AIOKafkaProducer:
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
                    max_batch_size=MAX_BATCH_BYTES,
                    max_request_size=MAX_REQUEST_BYTES,
                    request_timeout_ms=REQUEST_TIMEOUT_S * 1000,
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                return producer
        raise AssertionError("unreachable: the last attempt's error is raised")

    async def send(self, listener: ListenerConfig, delivery: ClaimedDelivery) -> SinkResult:
        return (await self.send_many(listener, [delivery]))[0]

    async def send_many(
        self, listener: ListenerConfig, deliveries: list[ClaimedDelivery]
    ) -> list[SinkResult]:
        started_at = time.time()
        started = time.perf_counter()
        topic = listener.kafka_topic or ""
        try:
            producer = await self._producer()
            partitions = sorted(await producer.partitions_for(topic))
        except (KafkaError, OSError) as exc:
            outcomes: list[_Done] = [(_failure(exc), None)] * len(deliveries)
        else:
            outcomes = await self._produce(producer, topic, partitions, listener, deliveries)
        if any(outcome.error and not outcome.permanent for outcome, _ in outcomes):
            await self._reset()  # the next attempt reconnects
        duration_ms = int((time.perf_counter() - started) * 1000)
        return [SinkResult(outcome, started_at, duration_ms, note) for outcome, note in outcomes]

    async def _produce(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        partitions: list[int],
        listener: ListenerConfig,
        deliveries: list[ClaimedDelivery],
    ) -> list[_Done]:
        """Every record goes into its partition's batch; the batches are handed over
        closed (nothing lingers: the claim is the batch), then awaited together."""
        outcomes: list[_Done | None] = [None] * len(deliveries)
        notes: list[str | None] = [None] * len(deliveries)
        open_batches: dict[int, _Batch] = {}
        queue_id = str(listener.queue_id).encode()  # a claim is one listener's, of one queue
        full: list[_Batch] = []
        for index, delivery in enumerate(deliveries):
            if delivery.body is None:
                outcomes[index] = (_permanent("payload no longer retained"), None)
                continue
            message_id = str(delivery.message_id).encode()
            key, notes[index] = record_key(listener, delivery, message_id)
            headers = record_headers(delivery, message_id, queue_id)
            if size := _oversized(key, delivery.body, headers):
                outcomes[index] = (_too_large(f"{size} bytes"), notes[index])
                continue
            partition = partition_for(key, partitions)
            batch = open_batches.get(partition)
            if batch is None or not batch.add(index, key, delivery.body, headers):
                if batch is not None:
                    full.append(batch)
                batch = open_batches[partition] = _Batch(partition, producer.create_batch())
                batch.add(index, key, delivery.body, headers)  # an empty batch takes any record
        batches = [*full, *open_batches.values()]
        async with self.handing_over:
            handed = [await _hand_over(producer, topic, batch) for batch in batches]
        if sending := [sent for sent in handed if isinstance(sent, asyncio.Future)]:
            await asyncio.wait(sending, timeout=ANSWER_DEADLINE_S)
        for batch, sent in zip(batches, handed, strict=True):
            base_offset = _base_offset(sent)
            if isinstance(base_offset, MessageSizeTooLargeError) and len(batch.members) > 1:
                for index, _ in batch.members:
                    alone = await self._produce(producer, topic, [batch.partition], listener,
                                                [deliveries[index]])  # fmt: skip
                    outcomes[index] = alone[0]
                continue
            for index, offset in batch.members:
                if isinstance(base_offset, BaseException):
                    outcomes[index] = (_failure(base_offset), notes[index])
                else:
                    where = f"partition={batch.partition} offset={base_offset + offset}"
                    outcomes[index] = (Outcome(accepted=True), _joined(where, notes[index]))
        return [outcome or (_permanent("not produced"), None) for outcome in outcomes]

    async def _reset(self) -> None:
        """Drops a producer that failed, so the next attempt reconnects. No new producer
        starts until the old one has stopped (flushed or expired what it held)."""
        async with self.starting:
            producer, self.producer = self.producer, None
            if producer is not None:
                with contextlib.suppress(KafkaError, OSError):
                    await producer.stop()

    async def close(self) -> None:
        await self._reset()


_Done = tuple[Outcome, str | None]  # the outcome and a note for the attempt log


async def _hand_over(
    producer: AIOKafkaProducer, topic: str, batch: _Batch
) -> asyncio.Future[RecordMetadata] | BaseException:
    """The batch's send under way (closed first: it is complete and must not linger)."""
    batch.builder.close()
    try:
        sent: asyncio.Future[RecordMetadata] = await producer.send_batch(
            batch.builder, topic, partition=batch.partition
        )
    except (KafkaError, OSError) as exc:
        return exc
    return sent


def _oversized(key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> int | None:
    """The record's size when one request cannot carry it (the key is the message id or
    a field of the body, so only a body of half the limit or more can get there)."""
    if len(value) <= MAX_REQUEST_BYTES // 2:
        return None
    size: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
    return size if size > MAX_REQUEST_BYTES else None


def _base_offset(sent: asyncio.Future[RecordMetadata] | BaseException) -> int | BaseException:
    """Where the batch begins in its partition, or why it was not produced."""
    if isinstance(sent, BaseException):
        return sent
    if not sent.done():
        sent.cancel()  # a shield: the batch itself is left to the producer
        unanswered: BaseException = KafkaTimeoutError(f"no answer within {ANSWER_DEADLINE_S} s")
        return unanswered
    exc = sent.exception()
    if exc is not None:
        return exc
    return int(sent.result().offset)


def _joined(note: str, key_note: str | None) -> str:
    return f"{note}; {key_note}" if key_note else note


def _permanent(error: str) -> Outcome:
    return Outcome(error=error, permanent=True)


def _too_large(detail: str) -> Outcome:
    return _permanent(f"record too large for the broker: {detail}")


def _failure(exc: BaseException) -> Outcome:
    if isinstance(exc, MessageSizeTooLargeError):
        return _too_large(str(exc))
    return Outcome(error=f"kafka: {type(exc).__name__}: {exc}")
