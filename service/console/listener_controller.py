"""Console pages of one listener: its page (chart, delivery log, the answers of its forms)
and every action on it: create, edit, pause and resume, secret, test message, replay,
filter test, and retrying one of its deliveries."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from service.auth import Principal
from service.console.auth import READ, WRITE
from service.console.delivery_log import LogFilters
from service.console.forms import Form, listener_edit, listener_new, replay_request
from service.console.listener_page import ListenerPage, provide_listener_page
from service.console.render import signed_in
from service.deliveries.controller import provide_deliveries
from service.deliveries.service import DeliveryService
from service.errors import invalid_field
from service.listeners.controller import provide_service as provide_listeners
from service.listeners.schemas import FilterTest, ListenerUpdate
from service.listeners.service import ListenerService
from service.stats.activity import Window


class ConsoleListeners(Controller):
    path = "/console"
    include_in_schema = False
    dependencies = {
        "listeners": Provide(provide_listeners, sync_to_thread=False),
        "deliveries": Provide(provide_deliveries, sync_to_thread=False),
        "page": Provide(provide_listener_page, sync_to_thread=False),
    }

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
        return signed_in(request, "secret.html", listener=listener, secret=secret, rotated=rotate)

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
