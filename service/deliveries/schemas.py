"""Request bodies of the deliveries API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec


class ReplayRequest(msgspec.Struct, forbid_unknown_fields=True):
    since: datetime
    until: datetime | None = None
    status: Literal["failed", "all"] = "failed"
