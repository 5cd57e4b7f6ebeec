"""A bounded in-process cache whose entries last `ttl_s` seconds: what the ingest path keeps
of rows that rarely change (inlet tokens, each queue's routing). When full it is
emptied whole, which costs one lookup per key again and no bookkeeping per hit."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Miss(enum.Enum):
    MISS = enum.auto()


MISS = Miss.MISS


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[K, tuple[V, float]] = {}

    def get(self, key: K) -> V | Miss:
        entry = self._entries.get(key)
        if entry is not None and entry[1] > time.monotonic():
            return entry[0]
        return MISS

    def put(self, key: K, value: V) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (value, time.monotonic() + self.ttl_s)

    def forget(self, stale: Callable[[K, V], bool]) -> None:
        """Drops every entry for which `stale(key, value)` holds."""
        for key, (value, _) in list(self._entries.items()):
            if stale(key, value):
                del self._entries[key]
