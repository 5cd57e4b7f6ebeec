"""`POST /v1/queues/{queue_id}/messages` straight to the ingest service, in front of Litestar.

Ingest is the one route where the framework's own per-request work (routing, middleware
layers, handler kwargs, response rendering) costs as much as Herald's. This ASGI wrapper
serves it with the same pieces the Litestar route uses (API-key cache, scope check, rate
limiter, body rules, IngestService) and renders errors with the same exception handlers;
every other request, and ingest with `?pretty`, goes to Litestar unchanged. The Litestar
route stays, for the OpenAPI document and as the reference behaviour.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send

from service.auth import authenticate
from service.errors import EXCEPTION_HANDLERS, BadRequest
from service.messages.http import read_ingest_request
from service.messages.ingest import IngestService

INGEST_PATH = re.compile(r"^(?:/v1)?/queues/([0-9a-fA-F-]{32,36})/messages/?$")
SCOPE = "messages:write"
JSON_HEADERS = [(b"content-type", b"application/json")]
_encode = msgspec.json.Encoder().encode


class IngestFastPath:
    def __init__(self, app: Litestar) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        """Everything else about the application (state, schema, ...) is Litestar's."""
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        queue_id = _ingest_target(scope)
        if queue_id is None:
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = Request(scope, receive, send)
        try:
            status, body = await self._ingest(request, queue_id)
        except Exception as exc:
            await self._error(request, exc)(scope, receive, send)
            return
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": [*JSON_HEADERS, (b"content-length", str(len(body)).encode())],
        }
        await send(start)
        end: HTTPResponseBodyEvent = {
            "type": "http.response.body",
            "body": body,
            "more_body": False,
        }
        await send(end)

    async def _ingest(
        self, request: Request[Any, Any, Any], queue_id: uuid.UUID
    ) -> tuple[int, bytes]:
        state = self.app.state
        _, principal = await authenticate(request.headers, state.api_keys, SCOPE)
        state.rate_limiter.check(str(principal.key_id))
        ingest: IngestService = state.ingest
        parsed = await read_ingest_request(
            request,
            ingest.settings,
            org_id=principal.org_id,
            queue_id=queue_id,
            stream=body_chunks(request.receive),
        )
        result = await ingest.ingest(parsed)
        return result.status_code, _encode(result.body)

    def _error(self, request: Request[Any, Any, Any], exc: Exception) -> Any:
        """The ASGI response Litestar's exception handlers give for `exc`."""
        handler = next(EXCEPTION_HANDLERS[k] for k in type(exc).__mro__ if k in EXCEPTION_HANDLERS)
        return handler(request, exc).to_asgi_response(None, request=request)


async def body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The request body as it arrives (Litestar's stream() needs its route handler)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest("the client went away before the body ended")
        if message["type"] == "http.request":
            if body := message.get("body"):
                yield body
            if not message.get("more_body", False):
                return


def _ingest_target(scope: Any) -> uuid.UUID | None:
    """The queue id when `scope` is a plain ingest request, else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    match = INGEST_PATH.match(scope["path"])
    if match is None or b"pretty" in scope.get("query_string", b""):
        return None
    try:
        return uuid.UUID(match[1])
    except ValueError:
        return None
