"""The HTTP side of ingest, shared by the messages and inlet routes: request -> IngestRequest
-> IngestService -> response."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response
from litestar.openapi.datastructures import ResponseSpec

from service.config import Settings
from service.errors import BadRequest, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from service.lib.failure_limit import FailureLimit
from service.messages import event_types
from service.messages.body import check_encoding, drain, read_body
from service.messages.ingest import IngestRequest, IngestService
from service.messages.schemas import IngestAccepted, IngestResult

# What the sender got wrong, as opposed to Herald being busy or away.
REFUSED = (BadRequest, PayloadTooLarge, UnsupportedMediaType, InvalidInput)
MAX_IDEMPOTENCY_KEY = 255
DRAIN_FACTOR = 4
SYNC_VALUES = ("1", "true", "yes")


async def read_ingest_request(
    request: Request[Any, Any, Any],
    settings: Settings,
    *,
    org_id: uuid.UUID,
    queue_id: uuid.UUID,
    original_headers: dict[str, str] | None = None,
) -> IngestRequest:
    """Reads and decodes the body within the limits; raises 400, 413 or 415."""
    headers = request.headers
    gzipped = check_encoding(headers.get("content-encoding"))
    limit = settings.max_request_bytes
    drain_limit = DRAIN_FACTOR * limit
    declared = headers.get("content-length")
    stream = request.stream()
    if declared and declared.isdigit() and int(declared) > limit:
        await drain(stream, drain_limit)
        raise PayloadTooLarge(f"the request body is over the limit of {limit} bytes")
    body = await read_body(stream, gzipped=gzipped, limit=limit, drain_limit=drain_limit)
    key = headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise BadRequest(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
            errors=[{"field": "Idempotency-Key", "message": "empty or too long"}],
        )
    query = request.query_params
    return IngestRequest(
        org_id=org_id,
        queue_id=queue_id,
        body=body,
        content_type=headers.get("content-type"),
        split=query.get("split"),
        delimiter=query.get("delimiter"),
        sync=headers.get("sync", "").lower() in SYNC_VALUES
        or query.get("wait", "").lower() in SYNC_VALUES,
        idempotency_key=key,
        original_headers=original_headers,
        event_type=headers.get(event_types.HEADER, query.get(event_types.QUERY)),
    )


# What ingest answers: the body is built once per request by IngestService (and replayed
# verbatim for an idempotent repeat), in the shape of these structs.
INGEST_RESPONSES = {
    200: ResponseSpec(
        IngestResult,
        description="Sync: committed, with each message's id",
        generate_examples=False,  # random examples would change the document every build
    ),
    202: ResponseSpec(
        IngestAccepted,
        description="Committed; the batch has the details",
        generate_examples=False,
    ),
}


async def ingest_messages(
    request: Request[Any, Any, Any],
    *,
    org_id: uuid.UUID,
    queue_id: uuid.UUID,
    credential: str,
    original_headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    """The one ingest path: the request's messages stored in the queue, and the answer.
    `credential` names the API key or inlet: its refused requests are limited per second."""
    service: IngestService = request.app.state.ingest
    refusals: FailureLimit = request.app.state.refused_ingest
    await refusals.check(credential)
    try:
        with service.admission.admit(_most_bytes(request, service.settings.max_request_bytes)):
            parsed = await read_ingest_request(
                request,
                service.settings,
                org_id=org_id,
                queue_id=queue_id,
                original_headers=original_headers,
            )
            result = await service.ingest(parsed)
    except REFUSED:
        refusals.count(credential)
        raise
    return Response(content=result.body, status_code=result.status_code)


def _most_bytes(request: Request[Any, Any, Any], limit: int) -> int:
    """The most a request's body can take once read: its declared length, or the limit
    when it is compressed or of unknown length."""
    headers = request.headers
    declared = headers.get("content-length", "")
    if not declared.isdigit() or headers.get("content-encoding", "identity") != "identity":
        return limit
    return min(int(declared), limit)
