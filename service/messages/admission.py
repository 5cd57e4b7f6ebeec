"""Admission control for ingest: the bytes one API process holds in requests being read,
split and committed are bounded. A request that would pass the bound is answered 503 with
Retry-After at once, before its body is read; a lone request is always admitted."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from service.errors import Unavailable

RETRY_AFTER_S = 1


class IngestAdmission:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    @contextlib.contextmanager
    def admit(self, size: int) -> Iterator[None]:
        """Holds `size` bytes of the budget while the block runs; Unavailable if full."""
        if self.held and self.held + size > self.limit:
            raise Unavailable(
                "This Herald process is ingesting as much as it holds at once; nothing was "
                "stored. Retry shortly.",
                retry_after_s=RETRY_AFTER_S,
            )
        self.held += size
        try:
            yield
        finally:
            self.held -= size
