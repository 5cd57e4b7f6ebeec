"""Console pages of an organization's queues: signing in and out, the overview, a queue
with its inlets and batches, and a message. The same domain services as the API, with the
signed-in key's organization and scopes; every value is rendered by Jinja2 with
autoescaping."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, client_address
from service.batches.controller import download, find_batch, provide_batches
from service.batches.export import failure_line, message_line
from service.batches.repository import FAILURES_SQL, MESSAGES_SQL, BatchRepository
from service.console.auth import MESSAGES, READ, WRITE
from service.console.forms import Form, queue_new
from service.console.message_page import MessagePage, provide_message_page
from service.console.queue_page import QueuePage, provide_queue_page
from service.console.render import html, signed_in
from service.console.sessions import COOKIE, TTL_S
from service.errors import NotFound, invalid_field
from service.lib.ids import AFTER_ALL, parse_id
from service.lib.pagination import PageRequest, decode_cursor, encode_cursor, split_page
from service.queues.controller import provide_service as provide_queues
from service.queues.service import QueueService
from service.stats.activity import BACKLOG_CAP, ActivityStats, Window

BATCHES_PAGE = 50
DOWNLOADS = {"messages": (MESSAGES_SQL, message_line), "failures": (FAILURES_SQL, failure_line)}


def provide_activity(db_session: NamedDependency[AsyncSession]) -> ActivityStats:
    return ActivityStats(db_session)


class ConsoleSignIn(Controller):
    """The only console pages open without a session."""

    path = "/console"
    include_in_schema = False

    @get("/sign-in")
    async def sign_in_page(
        self, next_page: Annotated[str, QueryParameter(name="next")] = "/console"
    ) -> Template:
        return html("sign_in.html", next=_local(next_page), error=None)

    @post("/sign-in", status_code=303)
    async def sign_in(self, request: Request[Any, Any, Any], data: Form, state: State) -> Any:
        key = data.get("api_key", "").strip()
        principal = await state.api_keys.principal(key, client_address(request)) if key else None
        if principal is None:
            context = {"next": _local(data.get("next", "")), "error": "That API key is not valid."}
            return html("sign_in.html", 401, **context)
        token = await state.console_sessions.start(principal)
        response = Redirect(_local(data.get("next", "")), status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=TTL_S,
            path="/console",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response


class ConsoleQueues(Controller):
    path = "/console"
    include_in_schema = False
    dependencies = {
        "queues": Provide(provide_queues, sync_to_thread=False),
        "activity": Provide(provide_activity, sync_to_thread=False),
        "queue_page": Provide(provide_queue_page, sync_to_thread=False),
        "batches": Provide(provide_batches, sync_to_thread=False),
        "message_page": Provide(provide_message_page, sync_to_thread=False),
    }

    @post("/sign-out", status_code=303)
    async def sign_out(self, request: Request[Principal, Any, Any], state: State) -> Redirect:
        await state.console_sessions.end(request.auth)
        response = Redirect("/console/sign-in", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    @get("/", opt=READ)
    async def overview(
        self,
        request: Request[Principal, Any, Any],
        queues: NamedDependency[QueueService],
        activity: NamedDependency[ActivityStats],
        window: FromQuery[Window] = "hour",
    ) -> Template:
        org_id = request.user.org_id
        return signed_in(
            request,
            "overview.html",
            queues=await queues.page(org_id, PageRequest(limit=1000, after=None)),
            activity=await activity.queues(org_id),
            chart=await activity.chart(org_id, window),
            backlog_cap=BACKLOG_CAP,
        )

    @post("/queues", opt=WRITE, status_code=303)
    async def create_queue(
        self,
        request: Request[Principal, Any, Any],
        data: Form,
        queues: NamedDependency[QueueService],
    ) -> Redirect:
        queue = await queues.create(request.user.org_id, queue_new(data))
        return Redirect(f"/console/queues/{queue.id}", status_code=303)

    @get("/queues/{queue_id:uuid}", opt=READ)
    async def queue(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        queue_page: NamedDependency[QueuePage],
        window: FromQuery[Window] = "hour",
    ) -> Template:
        return await queue_page.render(request, queue_id, window=window)

    @post("/queues/{queue_id:uuid}/inlets", opt=WRITE)
    async def create_inlet(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        data: Form,
        queue_page: NamedDependency[QueuePage],
    ) -> Template:
        """A new inlet; its URL (which holds its token) is shown on the page this once."""
        name = data.get("name", "").strip()
        if not name:
            raise invalid_field("name", "an inlet needs a name")
        inlet, token = await queue_page.inlets.create(request.user.org_id, queue_id, name[:200])
        url = f"{str(request.base_url).rstrip('/')}/v1/inlets/{token}"
        return await queue_page.render(request, queue_id, new_inlet=(inlet.name, url))

    @post("/queues/{queue_id:uuid}/inlets/{inlet_id:uuid}/delete", opt=WRITE, status_code=303)
    async def delete_inlet(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        inlet_id: FromPath[uuid.UUID],
        queue_page: NamedDependency[QueuePage],
    ) -> Redirect:
        await queue_page.inlets.delete(request.user.org_id, queue_id, inlet_id)
        return Redirect(f"/console/queues/{queue_id}", status_code=303)

    @get("/queues/{queue_id:uuid}/batches", opt=MESSAGES)
    async def batches(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        queues: NamedDependency[QueueService],
        batches: NamedDependency[BatchRepository],
        before: FromQuery[str | None] = None,
    ) -> Template:
        """The queue's batches (one per ingest request), newest first, with downloads."""
        org_id = request.user.org_id
        queue = await queues.get(org_id, queue_id)
        rows = await batches.recent(
            org_id, queue_id, decode_cursor(before) or AFTER_ALL, BATCHES_PAGE
        )
        shown, next_id = split_page(rows, BATCHES_PAGE)
        older = encode_cursor(next_id) if next_id else None
        return signed_in(request, "batches.html", queue=queue, batches=shown, older=older)

    @get("/queues/{queue_id:uuid}/batches/{batch_id:uuid}/{part:str}", opt=MESSAGES)
    async def batch_download(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        batch_id: FromPath[uuid.UUID],
        part: FromPath[str],
        batches: NamedDependency[BatchRepository],
        state: State,
    ) -> Stream:
        """A batch's accepted messages (`messages`) or rejected items (`failures`), as the
        API serves them."""
        batch = await find_batch(batches, request.user.org_id, batch_id)
        if batch.queue_id != queue_id or part not in DOWNLOADS:
            raise NotFound("Batch not found")
        sql, to_line = DOWNLOADS[part]
        return await download(state, sql, batch_id, to_line)

    @get("/queues/{queue_id:uuid}/messages", opt=MESSAGES, status_code=303)
    async def find_message(
        self, queue_id: FromPath[uuid.UUID], message_id: Annotated[str, QueryParameter(name="id")]
    ) -> Redirect:
        """The "find a message" box: a message (webhook-id) or delivery id, to its page."""
        found = parse_id(message_id.strip())
        if found is None:
            raise invalid_field("id", "a message id such as 01939ad0-...")
        return Redirect(f"/console/queues/{queue_id}/messages/{found}", status_code=303)

    @get("/queues/{queue_id:uuid}/messages/{message_id:uuid}", opt=MESSAGES)
    async def message(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        message_id: FromPath[uuid.UUID],
        message_page: NamedDependency[MessagePage],
    ) -> Template:
        return await message_page.render(request, queue_id, message_id)


def _local(path: str) -> str:
    """`path` when it is a console page, else the overview: never a redirect elsewhere."""
    if path.startswith("/console") and not path.startswith("//") and "\\" not in path:
        return path
    return "/console"
