"""Console pages: the same domain services as the API, with the signed-in key's organization
and scopes; every value is rendered by Jinja2 with autoescaping."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import SCOPES, Principal, client_address, requires
from service.batches.controller import download, find_batch, provide_batches
from service.batches.export import failure_line, message_line
from service.batches.repository import FAILURES_SQL, MESSAGES_SQL, BatchRepository
from service.console.auth import error_page
from service.console.delivery_log import LogFilters
from service.console.forms import listener_edit, listener_new, queue_new, replay_request
from service.console.listener_page import ListenerPage, provide_listener_page
from service.console.message_page import MessagePage, provide_message_page
from service.console.queue_page import QueuePage, provide_queue_page
from service.console.render import html
from service.console.sessions import COOKIE, TTL_S
from service.deliveries.controller import provide_deliveries
from service.deliveries.service import DeliveryService
from service.dependencies import after_commit
from service.errors import NotFound, invalid_field
from service.keys.cache import ApiKeyCache
from service.keys.controller import provide_service as provide_keys
from service.keys.service import ApiKeyService
from service.lib.ids import AFTER_ALL, parse_id
from service.lib.pagination import PageRequest, decode_cursor, encode_cursor
from service.listeners.controller import provide_service as provide_listeners
from service.listeners.schemas import FilterTest, ListenerUpdate
from service.listeners.service import ListenerService
from service.queues.controller import provide_service as provide_queues
from service.queues.service import QueueService
from service.stats.activity import BACKLOG_CAP, ActivityStats, Window

READ, WRITE, ADMIN = requires("queues:read"), requires("queues:write"), requires("admin")
MESSAGES = requires("messages:read")
BATCHES_PAGE = 50
DOWNLOADS = {"messages": (MESSAGES_SQL, message_line), "failures": (FAILURES_SQL, failure_line)}
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


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


class ConsolePages(Controller):
    path = "/console"
    include_in_schema = False
    dependencies = {
        "queues": Provide(provide_queues, sync_to_thread=False),
        "listeners": Provide(provide_listeners, sync_to_thread=False),
        "deliveries": Provide(provide_deliveries, sync_to_thread=False),
        "keys": Provide(provide_keys, sync_to_thread=False),
        "page": Provide(provide_listener_page, sync_to_thread=False),
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
        return _page(
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

    @post("/queues/{queue_id:uuid}/listeners", opt=WRITE, status_code=303)
    async def create_listener(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        data: Form,
        listeners: NamedDependency[ListenerService],
    ) -> Redirect:
        """Adds a listener with the form's fields (the rest default), then shows its page."""
        listener = await listeners.create(request.user.org_id, queue_id, listener_new(data))
        return Redirect(f"/console/queues/{queue_id}/listeners/{listener.id}", status_code=303)

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

    @get("/queues/{queue_id:uuid}/listeners/{listener_id:uuid}", opt=READ)
    async def listener(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        page: NamedDependency[ListenerPage],
        status: FromQuery[str] = "",
        event_type: FromQuery[str] = "",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
        after: FromQuery[str | None] = None,
        window: FromQuery[Window] = "hour",
        sent: FromQuery[uuid.UUID | None] = None,
    ) -> Template:
        filters = LogFilters(status, event_type, since, until)
        return await page.render(
            request, queue_id, listener_id, filters=filters, after=after, window=window, sent=sent
        )

    @post(
        "/queues/{queue_id:uuid}/listeners/{listener_id:uuid}/test-message",
        opt=WRITE,
        status_code=303,
    )
    async def send_test_message(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        data: Form,
        deliveries: NamedDependency[DeliveryService],
    ) -> Redirect:
        """A JSON message for this listener alone; its page then links to it."""
        payload = data.get("payload", "").strip()
        try:
            msgspec.json.decode(payload)
        except msgspec.DecodeError as exc:
            raise invalid_field("payload", f"not JSON: {exc}") from exc
        event_type = data.get("event_type", "").strip() or None
        message_id = await deliveries.send_test(
            request.user.org_id, queue_id, listener_id, payload.encode(), event_type
        )
        return Redirect(
            f"/console/queues/{queue_id}/listeners/{listener_id}?sent={message_id}",
            status_code=303,
        )

    @post("/queues/{queue_id:uuid}/listeners/{listener_id:uuid}/edit", opt=WRITE, status_code=303)
    async def edit(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        data: Form,
        listeners: NamedDependency[ListenerService],
    ) -> Redirect:
        """Saves the edit form: every field it holds, checked as the API checks them."""
        await listeners.update(request.user.org_id, queue_id, listener_id, listener_edit(data))
        return Redirect(f"/console/queues/{queue_id}/listeners/{listener_id}", status_code=303)

    @post("/queues/{queue_id:uuid}/listeners/{listener_id:uuid}/replay", opt=WRITE)
    async def replay(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        data: Form,
        page: NamedDependency[ListenerPage],
    ) -> Template:
        """Counts what a replay of the window would send (`action=preview`), or replays it."""
        preview = data.get("action") != "replay"
        count = await page.deliveries.replay(
            request.user.org_id, queue_id, listener_id, replay_request(data), preview=preview
        )
        replayed = {**data, "count": count, "preview": preview}
        return await page.render(request, queue_id, listener_id, replayed=replayed)

    @post("/queues/{queue_id:uuid}/listeners/{listener_id:uuid}/filter-test", opt=READ)
    async def filter_test(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        data: Form,
        page: NamedDependency[ListenerPage],
    ) -> Template:
        """Whether a payload (and event type) would reach the listener, shown on its page."""
        event_type = data.get("event_type", "").strip() or None
        try:
            payload = msgspec.json.decode(data.get("payload", ""))
            test = msgspec.convert({"payload": payload, "event_type": event_type}, FilterTest)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            verdict = f"Not tested: {exc}"
        else:
            org_id = request.user.org_id
            if await page.listeners.test_filter(org_id, queue_id, listener_id, test):
                verdict = "It matches: the listener would get it."
            else:
                verdict = "It does not match: the listener would not get it."
        tested = {"payload": data.get("payload", ""), "event_type": event_type or ""}
        return await page.render(
            request, queue_id, listener_id, tested={**tested, "verdict": verdict}
        )

    @get("/api-keys", opt=ADMIN)
    async def api_keys(
        self, request: Request[Principal, Any, Any], keys: NamedDependency[ApiKeyService]
    ) -> Template:
        return await _keys_page(request, keys)

    @post("/api-keys", opt=ADMIN)
    async def create_api_key(
        self, request: Request[Principal, Any, Any], keys: NamedDependency[ApiKeyService]
    ) -> Template:
        form = await request.form()
        scopes = [scope for scope in form.getall("scopes") if scope in SCOPES]
        name = str(form.get("name", "")).strip()
        if not name or not scopes:
            return await _keys_page(request, keys, error="A key needs a name and a scope.")
        row, key = await keys.create(request.user.org_id, name[:200], scopes)
        return await _keys_page(request, keys, created=(row.name, key))

    @post("/api-keys/{key_id:uuid}/revoke", opt=ADMIN, status_code=303)
    async def revoke_api_key(
        self,
        request: Request[Principal, Any, Any],
        key_id: FromPath[uuid.UUID],
        keys: NamedDependency[ApiKeyService],
        db_session: NamedDependency[AsyncSession],
        state: State,
    ) -> Redirect:
        key_hash = await keys.revoke(request.user.org_id, key_id)
        api_keys: ApiKeyCache = state.api_keys
        after_commit(db_session, lambda: api_keys.revoked(key_hash))
        return Redirect("/console/api-keys", status_code=303)

    @post(
        "/queues/{queue_id:uuid}/listeners/{listener_id:uuid}/enabled", opt=WRITE, status_code=303
    )
    async def set_enabled(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        data: Form,
        listeners: NamedDependency[ListenerService],
    ) -> Redirect:
        enabled = data.get("enabled") == "true"
        await listeners.update(
            request.user.org_id, queue_id, listener_id, ListenerUpdate(enabled=enabled)
        )
        return Redirect(f"/console/queues/{queue_id}/listeners/{listener_id}", status_code=303)

    @post("/queues/{queue_id:uuid}/listeners/{listener_id:uuid}/secret", opt=WRITE)
    async def secret(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        data: Form,
        listeners: NamedDependency[ListenerService],
    ) -> Template:
        """Reveals the signing secret, or rotates it first (`rotate=true`)."""
        rotate = data.get("rotate") == "true"
        listener, secret = await listeners.reveal_secret(
            request.user.org_id, queue_id, listener_id, rotate=rotate
        )
        return _page(request, "secret.html", listener=listener, secret=secret, rotated=rotate)

    @post(
        "/queues/{queue_id:uuid}/listeners/{listener_id:uuid}/deliveries/{delivery_id:uuid}/retry",
        opt=WRITE,
        status_code=303,
    )
    async def retry(
        self,
        request: Request[Principal, Any, Any],
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        delivery_id: FromPath[uuid.UUID],
        deliveries: NamedDependency[DeliveryService],
    ) -> Redirect:
        await deliveries.retry(request.user.org_id, queue_id, listener_id, delivery_id)
        return Redirect(f"/console/queues/{queue_id}/messages/{delivery_id}", status_code=303)

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
        older = encode_cursor(rows[BATCHES_PAGE - 1].id) if len(rows) > BATCHES_PAGE else None
        return _page(request, "batches.html", queue=queue, batches=rows[:BATCHES_PAGE], older=older)

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


async def _keys_page(
    request: Request[Principal, Any, Any],
    keys: ApiKeyService,
    created: tuple[str, str] | None = None,
    error: str | None = None,
) -> Template:
    rows = await keys.page(request.user.org_id, PageRequest(1000, None))
    return _page(request, "api_keys.html", keys=rows, scopes=SCOPES, created=created, error=error)


def _page(request: Request[Principal, Any, Any], template: str, **context: Any) -> Template:
    return html(template, principal=request.user, **context)


def _local(path: str) -> str:
    """`path` when it is a console page, else the overview: never a redirect elsewhere."""
    if path.startswith("/console") and not path.startswith("//") and "\\" not in path:
        return path
    return "/console"


__all__ = ["ConsolePages", "ConsoleSignIn", "error_page"]
