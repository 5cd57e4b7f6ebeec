"""Validation of a listener's target: type, URLs and extra headers (pure, apart from DNS)."""

from __future__ import annotations

import re
from typing import Any

from service.errors import InvalidInput
from service.lib.metrics import SSRF_REFUSALS
from service.lib.ssrf import EgressPolicy, UnsafeTarget
from service.lib.targets import check_target

HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")
RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "host", "transfer-encoding", "connection", "user-agent"}
)
RESERVED_PREFIXES = ("webhook-", "herald-")
MAX_HEADER_VALUE = 4096


def header_errors(headers: dict[str, str]) -> list[dict[str, str]]:
    errors = []
    for name, value in headers.items():
        field = f"headers.{name}"
        lowered = name.lower()
        if not HEADER_NAME.match(name):
            errors.append({"field": field, "message": "not a valid header name"})
        elif lowered in RESERVED_HEADERS or lowered.startswith(RESERVED_PREFIXES):
            errors.append({"field": field, "message": "this header is set by Herald"})
        elif any(c in value for c in "\r\n\x00") or len(value) > MAX_HEADER_VALUE:
            errors.append({"field": field, "message": "not a valid header value"})
    return errors


def shape_errors(target: dict[str, Any]) -> list[dict[str, str]]:
    """Which fields a listener of its type needs or must not have."""
    if target["type"] == "kafka":
        errors = []
        if target["kafka"] is None:
            errors.append({"field": "kafka", "message": "required when type is kafka"})
        for field in ("notify_url", "liveness_url"):
            if target[field] is not None:
                errors.append({"field": field, "message": "not used by kafka listeners"})
        return errors
    errors = []
    if target["notify_url"] is None:
        errors.append({"field": "notify_url", "message": "required for webhook listeners"})
    if target["kafka"] is not None:
        errors.append({"field": "kafka", "message": "only for type kafka"})
    return errors


async def validate_target(target: dict[str, Any], policy: EgressPolicy) -> None:
    """Raises InvalidInput listing every problem with the listener's target fields."""
    errors = shape_errors(target) + header_errors(target["headers"])
    for field in ("notify_url", "liveness_url"):
        if target[field] is None:
            continue
        try:
            await check_target(target[field], policy)
        except UnsafeTarget as exc:
            SSRF_REFUSALS.labels("registration").inc()
            errors.append({"field": field, "message": str(exc)})
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise InvalidInput(detail, errors=errors)
