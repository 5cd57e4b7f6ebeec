"""What both clients share: limits, defaults, and the pure helpers that build requests."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx
import msgspec

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
INGEST_RETRIES = 4  # tries after the first, for 429, 503 and lost connections
RETRY_WAIT_S = (0.5, 1.0, 2.0, 4.0, 8.0)  # when the answer names no Retry-After
MAX_RETRY_WAIT_S = 30.0
PAGE_SIZE = 100
MAX_ITEMS = 10_000  # items a request may hold
MAX_BYTES = 4 * 1024 * 1024  # a request's body, under Herald's 5 MiB
JSON = "application/json"


def body_of(kind: type[Any], fields: Mapping[str, Any]) -> Any:
    """`fields` checked against the request model as the API will check them: an unknown
    field is a TypeError, a wrong value a ValueError naming the field."""
    unknown = set(fields) - set(kind.__struct_fields__)
    if unknown:
        raise TypeError(f"{kind.__name__} has no field {', '.join(sorted(unknown))}")
    try:
        return msgspec.convert(dict(fields), kind, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from exc


def ndjson_line(item: Any) -> bytes:
    """An NDJSON line: bytes and str as they are, anything else as JSON."""
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode()
    return msgspec.json.encode(item)


def ndjson_chunks(items: Iterable[Any]) -> Iterator[bytes]:
    """NDJSON bodies of at most MAX_ITEMS lines and (unless one line is larger) MAX_BYTES."""
    lines: list[bytes] = []
    size = 0
    for item in items:
        line = ndjson_line(item) + b"\n"
        if lines and (len(lines) == MAX_ITEMS or size + len(line) > MAX_BYTES):
            yield b"".join(lines)
            lines, size = [], 0
        lines.append(line)
        size += len(line)
    if lines:
        yield b"".join(lines)


def new_idempotency_key() -> str:
    return f"herald-client-{uuid.uuid4()}"
