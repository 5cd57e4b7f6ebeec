"""Rules for portal sessions (API side). Never commits."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.base import utcnow
from service.db.models import Listener, PortalSession, Queue
from service.errors import NotFound, invalid_field
from service.lib.secrets import hash_token
from service.portal.schemas import PortalSessionCreate

SIGN_IN_PATH = "/portal/sign-in/"


class PortalSessionService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self, org_id: uuid.UUID, data: PortalSessionCreate
    ) -> tuple[PortalSession, str]:
        """The session and its one-time sign-in path."""
        queue = await self.session.scalar(
            select(Queue.id).where(Queue.org_id == org_id, Queue.id == data.queue_id)
        )
        if queue is None:
            raise NotFound("Queue not found")
        if data.listener_ids is not None:
            found = set(
                (
                    await self.session.execute(
                        select(Listener.id).where(
                            Listener.queue_id == data.queue_id,
                            Listener.id.in_(data.listener_ids),
                            Listener.deleted_at.is_(None),
                        )
                    )
                ).scalars()
            )
            for index, listener_id in enumerate(data.listener_ids):
                if listener_id not in found:
                    raise invalid_field(f"listener_ids[{index}]", "not a listener of this queue")
        token = secrets.token_urlsafe(32)
        portal = PortalSession(
            org_id=org_id,
            queue_id=data.queue_id,
            listener_ids=data.listener_ids,
            capabilities=sorted(set(data.capabilities)),
            branding=msgspec.to_builtins(data.branding),
            link_token_hash=hash_token(token),
            expires_at=utcnow() + timedelta(seconds=data.expires_in_s),
        )
        self.session.add(portal)
        await self.session.flush()
        return portal, SIGN_IN_PATH + token

    async def end(self, org_id: uuid.UUID, session_id: uuid.UUID) -> None:
        result = await self.session.execute(
            update(PortalSession)
            .where(
                PortalSession.org_id == org_id,
                PortalSession.id == session_id,
                PortalSession.ended_at.is_(None),
            )
            .values(ended_at=utcnow(), link_token_hash=None, cookie_token_hash=None)
            .returning(PortalSession.id)
        )
        if result.scalar_one_or_none() is None:
            raise NotFound("Portal session not found")
