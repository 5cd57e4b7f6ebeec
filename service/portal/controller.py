"""HTTP routes: open and end portal sessions."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, requires
from service.portal.schemas import PortalSessionCreate, PortalSessionResponse, PortalSessionView
from service.portal.service import PortalSessionService

WRITE = requires("queues:write")


def provide_portal_sessions(db_session: NamedDependency[AsyncSession]) -> PortalSessionService:
    return PortalSessionService(db_session)


class PortalSessionController(Controller):
    path = "/portal-sessions"
    tags = ["portal"]
    dependencies = {"service": Provide(provide_portal_sessions, sync_to_thread=False)}

    @post(status_code=200, opt=WRITE, summary="Open a portal for an end customer")
    async def create(
        self,
        request: Request[Principal, Any, Any],
        data: JSONBody[PortalSessionCreate],
        service: NamedDependency[PortalSessionService],
    ) -> PortalSessionResponse:
        portal, path = await service.create(request.user.org_id, data)
        url = str(request.base_url).rstrip("/") + path
        return PortalSessionResponse(PortalSessionView(portal.id, url, portal.expires_at))

    @delete("/{session_id:uuid}", opt=WRITE, summary="End a portal session at once")
    async def end(
        self,
        request: Request[Principal, Any, Any],
        session_id: FromPath[uuid.UUID],
        service: NamedDependency[PortalSessionService],
    ) -> None:
        await service.end(request.user.org_id, session_id)
