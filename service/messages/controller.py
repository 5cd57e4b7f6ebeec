"""HTTP routes: ingest into a queue, and read its messages back."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, requires
from service.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, page_request, paginate, self_link
from service.messages.http import INGEST_RESPONSES, ingest_messages
from service.messages.repository import MessageRepository
from service.messages.schemas import MessageDetail, MessageList
from service.messages.service import MessageService
from service.messages.views import delivery_view, message_view


def provide_messages(db_session: NamedDependency[AsyncSession]) -> MessageService:
    return MessageService(MessageRepository(db_session))


class MessageController(Controller):
    path = "/queues/{queue_id:uuid}/messages"
    tags = ["messages"]
    dependencies = {
        "messages": Provide(provide_messages, sync_to_thread=False),
    }

    @post(
        status_code=202,
        opt=requires("messages:write"),
        request_max_body_size=None,
        summary="Ingest messages (raw, NDJSON, split=array, delimiter; gzip accepted)",
        responses=INGEST_RESPONSES,
    )
    async def ingest(self, request: Request[Principal, Any, State]) -> Response[dict[str, Any]]:
        # The hot path takes only the request: no parameter parsing or injected dependencies.
        principal = request.user
        return await ingest_messages(
            request,
            org_id=principal.org_id,
            queue_id=request.path_params["queue_id"],
            credential=f"key:{principal.key_id}",
        )

    @get(opt=requires("messages:read"), summary="List a queue's messages, newest first")
    async def list_messages(
        self,
        queue_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        messages: NamedDependency[MessageService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> MessageList:
        rows = await messages.page(principal.org_id, queue_id, page_request(limit, cursor))
        page, links = paginate(rows, limit, f"/v1/queues/{queue_id}/messages")
        return MessageList([message_view(m) for m in page], links)

    @get(
        "/{message_id:uuid}",
        opt=requires("messages:read"),
        summary="A message and its deliveries",
    )
    async def get_message(
        self,
        queue_id: FromPath[uuid.UUID],
        message_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        messages: NamedDependency[MessageService],
    ) -> MessageDetail:
        message, deliveries = await messages.get(principal.org_id, queue_id, message_id)
        return MessageDetail(
            message_view(message),
            [delivery_view(d) for d in deliveries],
            self_link(f"/v1/queues/{queue_id}/messages/{message_id}"),
        )

    @get(
        "/{message_id:uuid}/payload",
        opt=requires("messages:read"),
        summary="The raw message bytes",
        # Any bytes, served with the media type they were ingested with.
        responses={
            200: ResponseSpec(
                data_container=Any,
                media_type="*/*",
                description="The message body byte for byte, with its stored media type",
                generate_examples=False,
            )
        },
    )
    async def get_payload(
        self,
        queue_id: FromPath[uuid.UUID],
        message_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        messages: NamedDependency[MessageService],
    ) -> Response[bytes]:
        message, body = await messages.payload(principal.org_id, queue_id, message_id)
        return Response(content=body, media_type=message.content_type)
