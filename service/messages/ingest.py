"""Ingest rules: body mode -> items -> one batch job for the group-commit writer."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from service.config import Settings
from service.errors import BadRequest, InvalidInput, PayloadTooLarge, Unavailable
from service.event_types.counts import EventTypeCounts
from service.lib.metrics import INGESTED_BYTES, INGESTED_MESSAGES, REJECTED_MESSAGES
from service.lib.ttl_cache import MISS
from service.messages.admission import IngestAdmission
from service.messages.event_types import event_type_error
from service.messages.records import IngestJob, StaleRouting
from service.messages.splitting import (
    Failure,
    Item,
    NotAnArray,
    Split,
    TooManyItems,
    split_array,
    split_delimited,
    split_ndjson,
)
from service.messages.writer import GroupCommitWriter
from service.routing.cache import RoutingCache
from service.routing.routing import QueueRouting, Routed
from service.stats.minutes import IngestMinutes

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
JSON_TYPE = "application/json"
DEFAULT_TYPE = "application/octet-stream"
MAX_DELIMITER_BYTES = 64
# Judging a request again when the queue's routing changed under it: a change is rare,
# so a third in a row means another client keeps changing it.
MAX_JUDGEMENTS = 3


@dataclass(frozen=True)
class IngestRequest:
    org_id: uuid.UUID
    queue_id: uuid.UUID
    body: bytes
    content_type: str | None
    split: str | None
    delimiter: str | None
    sync: bool
    idempotency_key: str | None = None
    original_headers: dict[str, str] | None = None
    event_type: str | None = None  # the request's, for each of its messages


@dataclass(frozen=True)
class IngestResponse:
    status_code: int
    body: dict[str, Any]
    listener_ids: tuple[uuid.UUID, ...] = ()


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def split_body(request: IngestRequest, settings: Settings) -> tuple[Split, str]:
    """The request's items and the content type each message is stored with."""
    limits = {
        "max_item_bytes": settings.max_message_bytes,
        "max_items": settings.max_messages_per_request,
    }
    media_type = _media_type(request.content_type)
    try:
        if request.split is not None and request.split != "array":
            raise BadRequest(
                "split must be 'array'", errors=[{"field": "split", "message": "must be 'array'"}]
            )
        if request.split == "array":
            return split_array(request.body, **limits), JSON_TYPE
        if request.delimiter is not None:
            delimiter = request.delimiter.encode()
            if not delimiter or len(delimiter) > MAX_DELIMITER_BYTES:
                raise BadRequest(
                    f"delimiter must be 1 to {MAX_DELIMITER_BYTES} bytes",
                    errors=[{"field": "delimiter", "message": "empty or too long"}],
                )
            return split_delimited(
                request.body, delimiter, **limits
            ), request.content_type or DEFAULT_TYPE
        if media_type in NDJSON_TYPES:
            return split_ndjson(request.body, **limits), JSON_TYPE
    except TooManyItems as exc:
        raise PayloadTooLarge(str(exc)) from exc
    except NotAnArray as exc:
        raise InvalidInput(
            str(exc), errors=[{"field": "body", "message": "not a JSON array"}]
        ) from exc
    return _single(request, settings), request.content_type or DEFAULT_TYPE


def _single(request: IngestRequest, settings: Settings) -> Split:
    if len(request.body) > settings.max_message_bytes:
        raise PayloadTooLarge(
            f"the message is {len(request.body)} bytes,"
            f" over the limit of {settings.max_message_bytes}"
        )
    if not request.body:
        return Split(failures=[Failure(0, "the message is empty", b"")])
    return Split(items=[Item(0, request.body)])


class IngestService:
    def __init__(
        self,
        writer: GroupCommitWriter,
        settings: Settings,
        wake: Callable[[Iterable[uuid.UUID]], None],
        routing: RoutingCache,
        type_counts: EventTypeCounts,
        minutes: IngestMinutes,
    ) -> None:
        self.writer = writer
        self.settings = settings
        self.wake = wake
        self.routing = routing
        self.type_counts = type_counts
        self.minutes = minutes
        self.admission = IngestAdmission(settings.ingest_bytes_in_flight)

    async def ingest(self, request: IngestRequest) -> IngestResponse:
        """Stores the accepted items (committed before it returns) and builds the response.

        Raises InvalidInput when nothing was accepted, NotFound for an unknown queue,
        PayloadTooLarge, BadRequest, or Unavailable when Postgres cannot be reached.
        """
        _check_event_type(request.event_type)
        split, content_type = split_body(request, self.settings)
        routing = self.routing.cached(request.org_id, request.queue_id)
        fresh = False
        for _ in range(MAX_JUDGEMENTS):
            if routing is MISS:
                routing, fresh = await self.routing.load(request.org_id, request.queue_id), True
            routed = await routing.route(split, request.event_type)
            if not routed.items and not fresh and len(routed.failures) > len(split.failures):
                routing = MISS  # refused by a routing from memory: refuse with a fresh one
                continue
            try:
                return await self._write(request, routed, content_type, routing)
            except StaleRouting:
                routing = MISS
        raise Unavailable("The queue's listeners are changing; retry shortly", retry_after_s=1)

    async def _write(
        self, request: IngestRequest, routed: Routed, content_type: str, routing: QueueRouting
    ) -> IngestResponse:
        if not routed.items:
            REJECTED_MESSAGES.inc(len(routed.failures))
            raise _nothing_accepted(routed.failures)
        job = IngestJob.of(
            request.org_id,
            request.queue_id,
            content_type,
            routed,
            routing.version,
            original_headers=request.original_headers,
            idempotency_key=request.idempotency_key,
            request_hash=_request_hash(request) if request.idempotency_key else None,
        )
        response = _response(job, sync=request.sync)
        job.response = {"status_code": response.status_code, "body": response.body}
        outcome = await self.writer.write(job)
        self.wake(outcome.listener_ids)
        if outcome.replayed is not None:
            return IngestResponse(outcome.replayed["status_code"], outcome.replayed["body"])
        if request.event_type is not None or routing.event_type_field is not None:
            self.type_counts.add(job.queue_id, _type_counts(job, request.event_type))
        self.minutes.add(job.org_id, job.queue_id, len(job.items))
        INGESTED_MESSAGES.inc(len(job.items))
        INGESTED_BYTES.inc(sum(len(item.body) for item in job.items))
        REJECTED_MESSAGES.inc(len(job.failures))
        return IngestResponse(response.status_code, response.body, outcome.listener_ids)


def _type_counts(job: IngestJob, request_type: str | None) -> dict[str, int]:
    if request_type is not None:
        return {request_type: len(job.items)}
    return Counter(item.event_type for item in job.items if item.event_type is not None)


def _check_event_type(event_type: str | None) -> None:
    if event_type is not None and (reason := event_type_error(event_type)):
        raise InvalidInput(
            f"Herald-Event-Type: {reason}", errors=[{"field": "event_type", "message": reason}]
        )


def _request_hash(request: IngestRequest) -> bytes:
    """What makes two requests the same request: body, media type, how it is split and the
    event type it gives."""
    digest = hashlib.sha256(request.body)
    for part in (request.content_type, request.split, request.delimiter, request.event_type):
        digest.update(b"\0" + (part or "").encode("utf-8", "surrogateescape"))
    return digest.digest()


def _response(job: IngestJob, *, sync: bool) -> IngestResponse:
    body: dict[str, Any] = {
        "batch_id": str(job.batch_id),
        "accepted": len(job.items),
        "rejected": len(job.failures),
        "received_at": job.received_at.isoformat().replace("+00:00", "Z"),
        "_links": {"self": {"href": f"/v1/batches/{job.batch_id}"}},
    }
    if not sync:
        return IngestResponse(202, body)
    body["messages"] = [
        {"id": str(id_), "index": item.index}
        for id_, item in zip(job.message_ids, job.items, strict=True)
    ]
    body["failures"] = [{"index": f.index, "reason": f.reason} for f in job.failures]
    return IngestResponse(200, body)


def _nothing_accepted(failures: list[Failure]) -> InvalidInput:
    if not failures:
        return InvalidInput(
            "The body holds no message",
            errors=[{"field": "body", "message": "no items"}],
            extra={"accepted": 0, "rejected": 0, "failures": []},
        )
    return InvalidInput(
        f"No item was accepted ({len(failures)} rejected)",
        extra={
            "accepted": 0,
            "rejected": len(failures),
            "failures": [{"index": f.index, "reason": f.reason} for f in failures],
        },
    )
