"""Queue request bodies."""

from __future__ import annotations

from typing import Annotated

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
RetentionDays = Annotated[int, msgspec.Meta(ge=1, le=3650)]


class QueueCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    retention_days: RetentionDays | None = None


class QueueUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    retention_days: RetentionDays | msgspec.UnsetType | None = msgspec.UNSET
