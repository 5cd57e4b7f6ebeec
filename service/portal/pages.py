"""Portal pages: an end customer sees and acts on the listeners of one queue that its
session grants (service/portal/sessions.py), with the same domain services as the API.
Anything outside the session's queue and listeners is a 404, as if it did not exist."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from service.console.delivery_log import LogFilters, delivery_log
from service.console.forms import chosen_types, replay_request
from service.console.payloads import render_payload
from service.console.render import html
from service.deliveries.controller import provide_deliveries
from service.deliveries.service import DeliveryService
from service.errors import Forbidden, HeraldError, NotFound
from service.event_types.controller import provide_service as provide_event_types
from service.event_types.service import EventTypeService
from service.lib.pagination import PageRequest
from service.listeners.controller import provide_service as provide_listeners
from service.listeners.schemas import ListenerCreate, ListenerUpdate
from service.listeners.service import ListenerService
from service.messages.controller import provide_messages
from service.messages.service import MessageService
from service.portal.sessions import COOKIE, PortalPrincipal

CAPABILITY = "portal_capability"
MANAGE, REPLAY = {CAPABILITY: "manage_listeners"}, {CAPABILITY: "replay"}
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
Portal = Request[PortalPrincipal, Any, Any]


class PortalSignInRequired(Exception):
    pass


class PortalAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        cookie = connection.cookies.get(COOKIE)
        principal = await connection.app.state.portal_sessions.principal(cookie) if cookie else None
        if principal is None:
            raise PortalSignInRequired
        capability = connection.route_handler.opt.get(CAPABILITY)
        if capability is not None and not principal.can(capability):
            raise Forbidden("This portal does not allow that")
        return AuthenticationResult(user=principal, auth=cookie)


def portal_ended(_: Request[Any, Any, Any], __: PortalSignInRequired) -> Response[Any]:
    return html(
        "error.html",
        401,
        status_code=401,
        detail="This portal session has ended or expired: ask for a new link.",
    )


def portal_error(_: Request[Any, Any, Any], exc: HeraldError) -> Response[Any]:
    return html("error.html", exc.status_code, status_code=exc.status_code, detail=exc.detail)


class PortalSignIn(Controller):
    path = "/portal"
    include_in_schema = False

    @get("/sign-in/{token:str}")
    async def sign_in(
        self, token: FromPath[str], request: Request[Any, Any, Any], state: State
    ) -> Any:
        exchanged = await state.portal_sessions.exchange(token)
        if exchanged is None:
            return html(
                "error.html",
                401,
                status_code=401,
                detail="This link has been used, has expired, or was ended.",
            )
        cookie, expires_at = exchanged
        response = Redirect("/portal", status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=max(1, int((expires_at - datetime.now(UTC)).total_seconds())),
            path="/portal",
            httponly=True,
            samesite="lax",  # the link arrives from the operator's own site
            secure=request.url.scheme == "https",
        )
        return response


class PortalPages(Controller):
    path = "/portal"
    include_in_schema = False
    dependencies = {
        "listeners": Provide(provide_listeners, sync_to_thread=False),
        "deliveries": Provide(provide_deliveries, sync_to_thread=False),
        "messages": Provide(provide_messages, sync_to_thread=False),
        "event_types": Provide(provide_event_types, sync_to_thread=False),
    }

    @get("/branding.css", media_type="text/css")
    async def branding(self, request: Portal) -> str:
        colour = request.user.branding.get("accent_color")  # validated: #rrggbb
        return f":root {{ --accent: {colour}; }}\n" if colour else ""

    @get("/")
    async def overview(
        self,
        request: Portal,
        listeners: NamedDependency[ListenerService],
        event_types: NamedDependency[EventTypeService],
    ) -> Template:
        portal = request.user
        rows = await listeners.page(portal.org_id, portal.queue_id, PageRequest(1000, None))
        return _page(
            request,
            "portal_overview.html",
            listeners=[r for r in rows if portal.sees(r.id)],
            catalog=await _catalog(event_types, portal),
        )

    @post("/listeners", opt=MANAGE, status_code=303)
    async def create(
        self, request: Portal, listeners: NamedDependency[ListenerService]
    ) -> Redirect:
        portal = request.user
        if portal.listener_ids is not None:
            raise Forbidden("This portal manages only the listeners it was opened for")
        form = await request.form()
        listener = await listeners.create(
            portal.org_id,
            portal.queue_id,
            ListenerCreate(
                name=str(form.get("name", "")).strip() or "endpoint",
                notify_url=str(form.get("notify_url", "")),
                filter_types=chosen_types(form),
            ),
        )
        return Redirect(f"/portal/listeners/{listener.id}", status_code=303)

    @get("/listeners/{listener_id:uuid}")
    async def listener(
        self,
        request: Portal,
        listener_id: FromPath[uuid.UUID],
        listeners: NamedDependency[ListenerService],
        deliveries: NamedDependency[DeliveryService],
        event_types: NamedDependency[EventTypeService],
        status: FromQuery[str] = "",
        event_type: FromQuery[str] = "",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
        after: FromQuery[str | None] = None,
    ) -> Template:
        portal = _sees(request, listener_id)
        listener = await listeners.get(portal.org_id, portal.queue_id, listener_id)
        filters = LogFilters(status, event_type, since, until)
        log = await delivery_log(
            deliveries, portal.org_id, portal.queue_id, listener_id, filters, after
        )
        catalog = await _catalog(event_types, portal)
        return _page(request, "portal_listener.html", listener=listener, log=log, catalog=catalog)

    @post("/listeners/{listener_id:uuid}/settings", opt=MANAGE, status_code=303)
    async def settings(
        self,
        request: Portal,
        listener_id: FromPath[uuid.UUID],
        listeners: NamedDependency[ListenerService],
    ) -> Redirect:
        portal = _sees(request, listener_id)
        form = await request.form()
        changes: dict[str, Any] = {}
        if "notify_url" in form:
            changes["notify_url"] = str(form["notify_url"]).strip()
        if "enabled" in form:
            changes["enabled"] = form["enabled"] == "true"
        if "event_types_form" in form:
            changes["filter_types"] = chosen_types(form)
        await listeners.update(
            portal.org_id, portal.queue_id, listener_id, ListenerUpdate(**changes)
        )
        return Redirect(f"/portal/listeners/{listener_id}", status_code=303)

    @post("/listeners/{listener_id:uuid}/secret", opt=MANAGE)
    async def secret(
        self,
        request: Portal,
        listener_id: FromPath[uuid.UUID],
        data: Form,
        listeners: NamedDependency[ListenerService],
    ) -> Template:
        portal = _sees(request, listener_id)
        rotate = data.get("rotate") == "true"
        listener, secret = await listeners.reveal_secret(
            portal.org_id, portal.queue_id, listener_id, rotate=rotate
        )
        return _page(
            request, "portal_secret.html", listener=listener, secret=secret, rotated=rotate
        )

    @post("/listeners/{listener_id:uuid}/replay", opt=REPLAY)
    async def replay(
        self,
        request: Portal,
        listener_id: FromPath[uuid.UUID],
        data: Form,
        deliveries: NamedDependency[DeliveryService],
    ) -> Template:
        portal = _sees(request, listener_id)
        replay = replay_request({**data, "status": "all"})
        replayed = await deliveries.replay(portal.org_id, portal.queue_id, listener_id, replay)
        return _page(
            request,
            "portal_notice.html",
            listener_id=listener_id,
            notice=f"{replayed} deliveries will be sent again.",
        )

    @get("/listeners/{listener_id:uuid}/messages/{message_id:uuid}")
    async def message(
        self,
        request: Portal,
        listener_id: FromPath[uuid.UUID],
        message_id: FromPath[uuid.UUID],
        listeners: NamedDependency[ListenerService],
        messages: NamedDependency[MessageService],
        deliveries: NamedDependency[DeliveryService],
    ) -> Template:
        portal = _sees(request, listener_id)
        listener = await listeners.get(portal.org_id, portal.queue_id, listener_id)
        message, its_deliveries = await messages.get(portal.org_id, portal.queue_id, message_id)
        delivery = next((d for d in its_deliveries if d.listener_id == listener_id), None)
        if delivery is None:
            raise NotFound("Message not found")
        attempts, _ = await deliveries.attempts(
            portal.org_id, portal.queue_id, listener_id, message_id
        )
        try:
            _, body = await messages.payload(portal.org_id, portal.queue_id, message_id)
            payload = render_payload(body, message.content_type)
        except NotFound:
            payload = None
        return _page(
            request,
            "portal_message.html",
            listener=listener,
            message=message,
            delivery=delivery,
            attempts=attempts,
            payload=payload,
        )

    @post(
        "/listeners/{listener_id:uuid}/messages/{message_id:uuid}/retry",
        opt=REPLAY,
        status_code=303,
    )
    async def retry(
        self,
        request: Portal,
        listener_id: FromPath[uuid.UUID],
        message_id: FromPath[uuid.UUID],
        deliveries: NamedDependency[DeliveryService],
    ) -> Redirect:
        portal = _sees(request, listener_id)
        await deliveries.retry(portal.org_id, portal.queue_id, listener_id, message_id)
        return Redirect(f"/portal/listeners/{listener_id}/messages/{message_id}", status_code=303)


async def _catalog(event_types: EventTypeService, portal: PortalPrincipal) -> list[str]:
    """The queue's event types an endpoint may subscribe to."""
    return [t.name for t in await event_types.list(portal.org_id, portal.queue_id)]


def _sees(request: Portal, listener_id: uuid.UUID) -> PortalPrincipal:
    if not request.user.sees(listener_id):
        raise NotFound("Listener not found")
    return request.user


def _page(request: Portal, template: str, **context: Any) -> Template:
    return html(template, portal=request.user, **context)
