"""What one selective listener wants: event types (`filter_types`, exact names and `*`
globs) and a body `filter` (service/routing/filters.py). A message without a type reaches
only listeners without filter_types."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.routing.filters import Predicate, compile_filter, matches

TypeTest = Callable[[str | None], bool]


def type_test(patterns: list[str]) -> TypeTest:
    """Whether an event type is one that `patterns` name (`*` matches any characters)."""
    exact = frozenset(p for p in patterns if "*" not in p)
    globs = [p for p in patterns if "*" in p]
    glob = re.compile("|".join(".*".join(map(re.escape, g.split("*"))) for g in globs))

    def wants(event_type: str | None) -> bool:
        if event_type is None:
            return False
        return event_type in exact or (bool(globs) and glob.fullmatch(event_type) is not None)

    return wants


@dataclass(frozen=True)
class Selection:
    listener_id: uuid.UUID
    types: TypeTest | None
    predicate: Predicate | None

    @classmethod
    def of(
        cls, listener_id: uuid.UUID, filter_types: list[str] | None, body_filter: Any
    ) -> Selection:
        """Raises FilterError for a filter the API would have refused."""
        return cls(
            listener_id,
            type_test(filter_types) if filter_types is not None else None,
            compile_filter(body_filter) if body_filter is not None else None,
        )

    @property
    def reads_body(self) -> bool:
        return self.predicate is not None

    def wants(self, event_type: str | None, document: Any) -> bool:
        """`document`: the decoded body, or NOT_JSON (unused without a body filter)."""
        if self.types is not None and not self.types(event_type):
            return False
        return self.predicate is None or matches(self.predicate, document)
