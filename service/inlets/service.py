"""Rules for inlets. Never commits: the caller owns the transaction."""

from __future__ import annotations

import uuid

from service.db.models import Inlet
from service.errors import HeadersTooLarge, NotFound, enforce_quota
from service.inlets.repository import InletRepository
from service.lib.pagination import PageRequest
from service.lib.secrets import hash_token, new_token
from service.queues.repository import QueueRepository

TOKEN_PREFIX = "inl_"
MAX_FORWARDED_HEADERS = 64
MAX_FORWARDED_BYTES = 16 * 1024
# Never forwarded: hop-by-hop headers, credentials, and what Herald itself re-encodes.
DROPPED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "authorization",
        "x-api-key",
        "cookie",
        "host",
        "content-length",
        "content-encoding",
        "expect",
    }
)


def forwardable_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """The inbound headers kept with an inlet message (lower-cased, repeats joined); 431
    past MAX_FORWARDED_HEADERS of them or MAX_FORWARDED_BYTES of names and values."""
    kept: dict[str, str] = {}
    size = 0
    for name, value in headers:
        lowered = name.lower()
        if lowered in DROPPED_HEADERS:
            continue
        size += len(lowered) + len(value)
        kept[lowered] = f"{kept[lowered]}, {value}" if lowered in kept else value
    if len(kept) > MAX_FORWARDED_HEADERS or size > MAX_FORWARDED_BYTES:
        raise HeadersTooLarge(
            f"an inlet request forwards at most {MAX_FORWARDED_HEADERS} headers and"
            f" {MAX_FORWARDED_BYTES} bytes of them ({len(kept)} headers, {size} bytes)"
        )
    return kept


class InletService:
    def __init__(
        self, repository: InletRepository, queues: QueueRepository, quota: int | None = None
    ) -> None:
        self.repository = repository
        self.queues = queues
        self.quota = quota

    async def _require_queue(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> None:
        if await self.queues.get(org_id, queue_id) is None:
            raise NotFound("Queue not found")

    async def create(self, org_id: uuid.UUID, queue_id: uuid.UUID, name: str) -> tuple[Inlet, str]:
        """A new inlet and its token, shown only now (stored hashed)."""
        await self._require_queue(org_id, queue_id)
        await self.queues.lock(queue_id)  # concurrent creates count one after the other
        enforce_quota(await self.repository.count(queue_id), self.quota, "inlets in this queue")
        token = new_token(TOKEN_PREFIX)
        inlet = Inlet(org_id=org_id, queue_id=queue_id, name=name, token_hash=hash_token(token))
        return await self.repository.add(inlet), token

    async def get(self, org_id: uuid.UUID, queue_id: uuid.UUID, inlet_id: uuid.UUID) -> Inlet:
        inlet = await self.repository.get(org_id, queue_id, inlet_id)
        if inlet is None:
            raise NotFound("Inlet not found")
        return inlet

    async def page(self, org_id: uuid.UUID, queue_id: uuid.UUID, page: PageRequest) -> list[Inlet]:
        await self._require_queue(org_id, queue_id)
        return await self.repository.page(queue_id, page.after, page.limit)

    async def delete(self, org_id: uuid.UUID, queue_id: uuid.UUID, inlet_id: uuid.UUID) -> None:
        if not await self.repository.delete(org_id, queue_id, inlet_id):
            raise NotFound("Inlet not found")
