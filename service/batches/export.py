"""Batch downloads: rows -> NDJSON lines -> gzip, chunk by chunk."""

from __future__ import annotations

import base64
import zlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec

GZIP_WBITS = 31
FLUSH_BYTES = 64 * 1024


def message_line(row: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "id": str(row["id"]),
        "index": row["index"],
        "content_type": row["content_type"],
        "event_type": row["event_type"],
    }
    body: bytes | None = row["body"]
    if body is None:
        line["payload"] = None
        line["expired"] = True
        return line
    try:
        line["payload"] = body.decode("utf-8")
    except UnicodeDecodeError:
        line["payload"] = base64.b64encode(body).decode()
        line["encoding"] = "base64"
    return line


def failure_line(row: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"index": row["index"], "reason": row["reason"]}
    raw: bytes = row["raw"]
    try:
        line["raw"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        line["raw"] = base64.b64encode(raw).decode()
        line["encoding"] = "base64"
    return line


async def gzip_ndjson(rows: AsyncIterator[Any], to_line: Any) -> AsyncIterator[bytes]:
    encoder = msgspec.json.Encoder()
    compressor = zlib.compressobj(6, zlib.DEFLATED, GZIP_WBITS)
    pending = bytearray()
    async for row in rows:
        pending += compressor.compress(encoder.encode(to_line(row)) + b"\n")
        if len(pending) >= FLUSH_BYTES:
            yield bytes(pending)
            pending.clear()
    pending += compressor.flush()
    yield bytes(pending)
