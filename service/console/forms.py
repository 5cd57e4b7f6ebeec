"""What the console's forms send, as the API's request bodies: the same validation, and an
invalid field is the API's 422 naming it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from service.deliveries.schemas import ReplayRequest
from service.errors import invalid_field
from service.listeners.schemas import ListenerUpdate


def listener_edit(form: dict[str, str]) -> ListenerUpdate:
    """The listener edit form as a PATCH body. Empty optional fields clear the setting."""
    body: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "ordered": form.get("ordered") == "on",
        "timeout_ms": _number(form, "timeout_ms", int),
        "max_attempts": _number(form, "max_attempts", int),
        "rate_limit_per_s": _number(form, "rate_limit_per_s", float),
        "retry_schedule_s": _list(form, "retry_schedule_s", float),
        "filter_types": _list(form, "filter_types", str),
        "filter": _json(form, "filter"),
    }
    if form.get("notify_url", "").strip():
        body["notify_url"] = form["notify_url"].strip()
    body = {k: v for k, v in body.items() if v is not None or k in CLEARABLE}
    try:
        return msgspec.convert(body, ListenerUpdate)
    except msgspec.ValidationError as exc:
        path = str(exc).rpartition("at `$.")[2].rstrip("`") or "form"
        raise invalid_field(path, str(exc).partition(" - at")[0]) from exc


def replay_request(form: dict[str, str]) -> ReplayRequest:
    """The replay form: times in UTC (a browser's datetime-local has no zone)."""
    since = _time(form, "since")
    if since is None:
        raise invalid_field("since", "a date and time is needed")
    status = form.get("status", "failed")
    if status not in ("failed", "all"):
        raise invalid_field("status", "failed or all")
    return ReplayRequest(since=since, until=_time(form, "until"), status=status)  # type: ignore[arg-type]


def _time(form: dict[str, str], field: str) -> datetime | None:
    text = form.get(field, "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise invalid_field(field, "a date and time such as 2026-12-01T10:00") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


CLEARABLE = ("rate_limit_per_s", "retry_schedule_s", "filter_types", "filter")


def _number(form: dict[str, str], field: str, kind: type[int] | type[float]) -> int | float | None:
    text = form.get(field, "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError as exc:
        raise invalid_field(field, "must be a number") from exc


def _list(form: dict[str, str], field: str, kind: type[Any]) -> list[Any] | None:
    parts = [part.strip() for part in form.get(field, "").split(",") if part.strip()]
    if not parts:
        return None
    try:
        return [kind(part) for part in parts]
    except ValueError as exc:
        raise invalid_field(field, "must be a comma-separated list of numbers") from exc


def _json(form: dict[str, str], field: str) -> Any:
    text = form.get(field, "").strip()
    if not text:
        return None
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise invalid_field(field, f"not JSON: {exc}") from exc
