"""The Kafka sink: produce each message to the listener's topic on the configured cluster.

Records are produced as whole record batches (aiokafka's batch API: one future per batch)
and awaited before their deliveries count as delivered. Each partition gathers the records
of every claim that comes while its last batch is being sent into the next batch.
Records are placed on the partitions the producer itself would choose for their keys.
Failures become outcomes and follow the listener's schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
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
from workers.sinks import SinkResult, internal_error

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
        value = document.get(listener.kafka_key) if isinstance(document, dict) else None
        if value is None:
            return fallback, f"field '{listener.kafka_key}' missing: keyed by message id"
        return (value if isinstance(value, str) else json.dumps(value)).encode(), None
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deeply
        field = listener.kafka_key
        return fallback, f"body not readable as JSON: keyed by message id, not '{field}'"


def record_headers(
    delivery: ClaimedDelivery, message_id: bytes, queue_id: bytes
) -> list[tuple[str, bytes]]:
    headers = [
        ("webhook-id", message_id),  # a delivery's id is its message's (migration 0006)
        ("content-type", delivery.content_type.encode()),
        ("herald-queue-id", queue_id),
        ("herald-message-id", message_id),
    ]
    if delivery.event_type is not None:
        headers.append(("herald-event-type", delivery.event_type.encode()))
    return headers


def _record(
    listener: ListenerConfig, delivery: ClaimedDelivery, queue_id: bytes
) -> tuple[bytes, bytes, list[tuple[str, bytes]], str | None]:
    """The delivery's record (key, value, headers) and a note on its key, if any."""
    assert delivery.body is not None
    message_id = str(delivery.message_id).encode()
    key, note = record_key(listener, delivery, message_id)
    return key, delivery.body, record_headers(delivery, message_id, queue_id), note


@dataclass
class _Batch:
    """Records bound for one partition, gathered from every claim that comes while the
    partition's previous batch is being sent."""

    partition: int
    builder: BatchBuilder
    # Set when the batch is handed to the producer: the send under way, or why not.
    handed: asyncio.Future[asyncio.Future[RecordMetadata] | BaseException] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def add(self, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> int | None:
        """The record's offset in the batch; None when the batch is full."""
        placed = self.builder.append(timestamp=None, key=key, value=value, headers=headers)
        return None if placed is None else int(placed.offset)

    @property
    def records(self) -> int:
        return int(self.builder.record_count())


_Lane = tuple[AIOKafkaProducer, str, int]  # a producer's topic partition
_Record = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers


class KafkaSink:
    batches = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer: AIOKafkaProducer | None = None
        # Concurrent claims share one producer, and a new one starts only after the last
        # has stopped: otherwise each claim could start its own (leaking all but one), and
        # their produce requests would race (Tansu loses records written that way).
        self.starting = asyncio.Lock()
        # Per partition, the batch taking records and the task that hands batches over one
        # at a time (the next when the last is answered). aiokafka keeps one produce request
        # in flight per broker: a batch per claim made each claim wait for the ones before
        # it, in requests of one claim each. One task per partition also keeps a single
        # waiter in aiokafka's add_batch, which takes the whole time waited off its timeout
        # on every wake-up (several waiters timed out in under a second).
        self.lanes: dict[_Lane, deque[_Batch]] = {}  # the last one is still gathering
        self.handing: dict[_Lane, asyncio.Task[None]] = {}

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
        producer = None
        try:
            producer = await self._producer()
            partitions = sorted(await producer.partitions_for(topic))
        except (KafkaError, OSError) as exc:
            outcomes: list[_Done] = [(_failure(exc), None)] * len(deliveries)
        else:
            outcomes = await self._produce(producer, topic, partitions, listener, deliveries)
        if any(outcome.error and not outcome.permanent for outcome, _ in outcomes):
            await self._reset(producer)  # the next attempt reconnects
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
        """Every record joins its partition's gathering batch; the claim then waits for
        the batches it joined to be handed over and answered."""
        outcomes: list[_Done | None] = [None] * len(deliveries)
        notes: list[str | None] = [None] * len(deliveries)
        placed: list[tuple[int, _Batch, int, _Record]] = []  # delivery, batch, offset, record
        queue_id = str(listener.queue_id).encode()  # a claim is one listener's, of one queue
        for index, delivery in enumerate(deliveries):
            if delivery.body is None:
                outcomes[index] = (_permanent("payload no longer retained"), None)
                continue
            try:
                key, value, headers, notes[index] = _record(listener, delivery, queue_id)
                if size := _oversized(key, value, headers):
                    outcomes[index] = (_too_large(f"{size} bytes"), notes[index])
                    continue
                lane = (producer, topic, partition_for(key, partitions))
                batch, offset = self._gather(lane, key, value, headers)
            except Exception as exc:  # this record fails alone; the claim's others go on
                outcomes[index] = (internal_error(exc).outcome, None)
                continue
            placed.append((index, batch, offset, (key, value, headers)))
        joined = list({id(batch): batch for _, batch, _, _ in placed}.values())
        await _answered(joined)
        for index, batch, offset, record in placed:
            base_offset = _base_offset(batch)
            if isinstance(base_offset, MessageSizeTooLargeError) and batch.records > 1:
                outcome, where = await _produce_alone(producer, topic, batch.partition, record)
                outcomes[index] = (outcome, _joined(where, notes[index]) if where else notes[index])
            elif isinstance(base_offset, BaseException):
                outcomes[index] = (_failure(base_offset), notes[index])
            else:
                where = f"partition={batch.partition} offset={base_offset + offset}"
                outcomes[index] = (Outcome(accepted=True), _joined(where, notes[index]))
        return [outcome or (_permanent("not produced"), None) for outcome in outcomes]

    def _gather(
        self, lane: _Lane, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> tuple[_Batch, int]:
        """The batch of `lane` the record went into, and its offset there."""
        producer, _, partition = lane
        batches = self.lanes.setdefault(lane, deque())
        offset = batches[-1].add(key, value, headers) if batches else None
        if offset is None:  # no batch gathering, or it is full
            batches.append(_Batch(partition, producer.create_batch()))
            offset = batches[-1].add(key, value, headers)
            assert offset is not None  # an empty batch takes any record under the limit
        if lane not in self.handing:
            self.handing[lane] = asyncio.create_task(self._hand_over_lane(lane))
        return batches[-1], offset

    async def _hand_over_lane(self, lane: _Lane) -> None:
        """Hands the lane's batches over one at a time, each when the last is answered:
        what comes meanwhile gathers into the next batch."""
        producer, topic, _ = lane
        try:
            while batches := self.lanes.get(lane):
                batch = batches.popleft()
                if not batches:
                    del self.lanes[lane]
                sent = await _hand_over(producer, topic, batch)
                batch.handed.set_result(sent)
                if isinstance(sent, asyncio.Future):
                    await asyncio.wait([sent], timeout=ANSWER_DEADLINE_S)
        finally:
            del self.handing[lane]

    async def _reset(self, failed: AIOKafkaProducer | None) -> None:
        """Drops the producer that failed, so the next attempt reconnects (claims that
        shared its batches do not drop its successor). No new producer starts until the
        old one has stopped (flushed or expired what it held)."""
        async with self.starting:
            if failed is not None and self.producer is not failed:
                return
            producer, self.producer = self.producer, None
            if producer is not None:
                with contextlib.suppress(KafkaError, OSError):
                    await producer.stop()

    async def close(self) -> None:
        await self._reset(None)


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
    except Exception as exc:  # any failure is this batch's outcome (retried)
        return exc
    return sent


async def _produce_alone(
    producer: AIOKafkaProducer, topic: str, partition: int, record: _Record
) -> tuple[Outcome, str | None]:
    """A record whose shared batch the broker refused as too large, in a batch of its own:
    its outcome and, when produced, where it went."""
    batch = _Batch(partition, producer.create_batch())
    batch.add(*record)
    batch.handed.set_result(await _hand_over(producer, topic, batch))
    await _answered([batch])
    base_offset = _base_offset(batch)
    if isinstance(base_offset, BaseException):
        return _failure(base_offset), None
    return Outcome(accepted=True), f"partition={partition} offset={base_offset}"


def _oversized(key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> int | None:
    """The record's size when one request cannot carry it (the key is the message id or
    a field of the body, so only a body of half the limit or more can get there)."""
    if len(value) <= MAX_REQUEST_BYTES // 2:
        return None
    size: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
    return size if size > MAX_REQUEST_BYTES else None


async def _answered(batches: list[_Batch]) -> None:
    """Until each batch is handed over and answered, each step within ANSWER_DEADLINE_S."""
    if handing := [batch.handed for batch in batches if not batch.handed.done()]:
        await asyncio.wait(handing, timeout=ANSWER_DEADLINE_S)
    sending = [
        sent
        for batch in batches
        if batch.handed.done() and isinstance(sent := batch.handed.result(), asyncio.Future)
    ]
    if sending := [sent for sent in sending if not sent.done()]:
        await asyncio.wait(sending, timeout=ANSWER_DEADLINE_S)


def _base_offset(batch: _Batch) -> int | BaseException:
    """Where the batch begins in its partition, or why it was not produced. The send's
    future is shared by every claim in the batch: it is read, never cancelled."""
    if not batch.handed.done():
        return _timeout(f"not handed to the producer within {ANSWER_DEADLINE_S} s")
    sent = batch.handed.result()
    if isinstance(sent, BaseException):
        return sent
    if not sent.done():
        return _timeout(f"no answer within {ANSWER_DEADLINE_S} s")
    if sent.cancelled():
        return _timeout("the send was cancelled")
    exc = sent.exception()
    if exc is not None:
        return exc
    return int(sent.result().offset)


def _timeout(detail: str) -> BaseException:
    error: BaseException = KafkaTimeoutError(detail)
    return error


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
