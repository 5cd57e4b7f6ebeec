"""A message's payload as the console shows it: pretty JSON when it is JSON, text when it is
UTF-8, else a hex dump; always bounded, and escaped by the template like any value."""

from __future__ import annotations

import json
from dataclasses import dataclass

import msgspec

SHOWN_BYTES = 256 * 1024


@dataclass(frozen=True)
class Payload:
    kind: str  # "json", "text" or "binary"
    text: str
    size: int
    truncated: bool


def render_payload(body: bytes, content_type: str) -> Payload:
    shown = body[:SHOWN_BYTES]
    truncated = len(body) > SHOWN_BYTES
    if not truncated:
        try:
            document = msgspec.json.decode(body)
        except (msgspec.DecodeError, RecursionError):
            pass
        else:
            text = json.dumps(document, indent=2, ensure_ascii=False)
            return Payload("json", text, len(body), False)
    try:
        return Payload("text", shown.decode("utf-8"), len(body), truncated)
    except UnicodeDecodeError:
        dump = "\n".join(
            f"{offset:08x}  {shown[offset : offset + 16].hex(' ')}"
            for offset in range(0, min(len(shown), 4096), 16)
        )
        return Payload("binary", dump, len(body), len(body) > 4096)
