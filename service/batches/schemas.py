"""Batch response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from service.lib.pagination import LINKS, SelfLinks


class BatchView(msgspec.Struct):
    id: uuid.UUID
    queue_id: uuid.UUID
    received_at: datetime
    accepted: int
    rejected: int


class BatchResponse(msgspec.Struct):
    batch: BatchView
    links: SelfLinks = msgspec.field(name=LINKS)
