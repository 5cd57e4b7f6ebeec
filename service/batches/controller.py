"""HTTP routes for batches and their gzip NDJSON downloads."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, requires
from service.batches.export import failure_line, gzip_ndjson, message_line
from service.batches.repository import (
    FAILURES_SQL,
    MESSAGES_SQL,
    BatchRepository,
    stream_rows,
)
from service.batches.schemas import BatchResponse, BatchView
from service.db.models import Batch
from service.errors import NotFound
from service.lib.pagination import self_link

READ = requires("messages:read")
GZIP_NDJSON = ResponseSpec(
    bytes,
    media_type="application/gzip",
    description="gzip of NDJSON, one line per item",
    generate_examples=False,
)


def provide_batches(db_session: NamedDependency[AsyncSession]) -> BatchRepository:
    return BatchRepository(db_session)


async def find_batch(batches: BatchRepository, org_id: uuid.UUID, batch_id: uuid.UUID) -> Batch:
    batch = await batches.get(org_id, batch_id)
    if batch is None:
        raise NotFound("Batch not found")
    return batch


async def download(state: State, sql: str, batch_id: uuid.UUID, to_line: Any) -> Stream:
    """The batch's rows of `sql` as a gzip NDJSON attachment, streamed."""
    rows = stream_rows(state.export_pool, sql, batch_id)
    # Started here, so that a busy pool answers 503 before the 200 and its headers go out.
    first = await anext(rows, None)
    return Stream(
        gzip_ndjson(_prepend(first, rows), to_line),
        media_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{batch_id}.gz"'},
    )


async def _prepend(first: Any, rows: AsyncIterator[Any]) -> AsyncIterator[Any]:
    if first is None:
        return
    yield first
    async for row in rows:
        yield row


class BatchController(Controller):
    path = "/batches/{batch_id:uuid}"
    tags = ["batches"]
    dependencies = {"batches": Provide(provide_batches, sync_to_thread=False)}

    @get(opt=READ, summary="A batch: what one ingest request accepted and rejected")
    async def get_batch(
        self,
        batch_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        batches: NamedDependency[BatchRepository],
    ) -> BatchResponse:
        batch = await find_batch(batches, principal.org_id, batch_id)
        view = msgspec.convert(batch, BatchView, from_attributes=True)
        return BatchResponse(view, self_link(f"/v1/batches/{batch.id}"))

    @get(
        "/messages",
        opt=READ,
        summary="Accepted messages as gzip NDJSON",
        responses={200: GZIP_NDJSON},
    )
    async def download_messages(
        self,
        batch_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        batches: NamedDependency[BatchRepository],
        state: State,
    ) -> Stream:
        await find_batch(batches, principal.org_id, batch_id)
        return await download(state, MESSAGES_SQL, batch_id, message_line)

    @get(
        "/failures",
        opt=READ,
        summary="Rejected items as gzip NDJSON",
        responses={200: GZIP_NDJSON},
    )
    async def download_failures(
        self,
        batch_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        batches: NamedDependency[BatchRepository],
        state: State,
    ) -> Stream:
        await find_batch(batches, principal.org_id, batch_id)
        return await download(state, FAILURES_SQL, batch_id, failure_line)
