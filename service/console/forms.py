"""What the console's forms send, as the API's request bodies: the same validation, and an
invalid field is the API's 422 naming it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import msgspec
from litestar.datastructures import FormMultiDict
from litestar.enums import RequestEncodingType
from litestar.params import Body

from service.deliveries.schemas import ReplayRequest
from service.errors import invalid_field
from service.listeners.schemas import FilterTypes, ListenerCreate, ListenerUpdate
from service.queues.schemas import QueueCreate

T = TypeVar("T")
# A form post, as the handlers read it.
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def listener_edit(form: dict[str, str]) -> ListenerUpdate:
    """The listener edit form as a PATCH body. Empty optional fields clear the setting."""
    body: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "ordered": form.get("ordered") == "on",
        "timeout_ms": _number(form, "timeout_ms", int),
        "max_attempts": _number(form, "max_attempts", int),
        "max_in_flight": _number(form, "max_in_flight", int),
        "rate_limit_per_s": _number(form, "rate_limit_per_s", float),
        "retry_schedule_s": _list(form, "retry_schedule_s", float),
        "filter_types": _list(form, "filter_types", str),
        "filter": _json(form, "filter"),
    }
    body = {k: v for k, v in body.items() if v is not None or k in CLEARABLE}
    if form.get("notify_url", "").strip():
        body["notify_url"] = form["notify_url"].strip()
    if "liveness_url" in form:  # webhook listeners: empty removes the probe
        body["liveness_url"] = form["liveness_url"].strip() or None
    if "headers" in form:
        body["headers"] = _headers(form["headers"])
    return _convert(body, ListenerUpdate)


def listener_new(form: dict[str, str]) -> ListenerCreate:
    """The new-listener form as a create body; every other field takes its default."""
    body: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "notify_url": form.get("notify_url", "").strip() or None,
        "liveness_url": form.get("liveness_url", "").strip() or None,
        "filter_types": _list(form, "filter_types", str),
        "headers": _headers(form.get("headers", "")),
    }
    return _convert(body, ListenerCreate)


def chosen_types(form: FormMultiDict) -> list[str] | None:
    """The event type picker: None for every event, else the ticked types."""
    if form.get("event_types_scope") != "some":
        return None
    types = [str(value).strip() for value in form.getall("filter_types") if str(value).strip()]
    if not types:
        raise invalid_field("filter_types", "tick an event type, or choose every event")
    try:
        checked: list[str] = msgspec.convert(types, FilterTypes)
    except msgspec.ValidationError as exc:
        raise invalid_field("filter_types", str(exc)) from exc
    return checked


def queue_new(form: dict[str, str]) -> QueueCreate:
    body = {"name": form.get("name", "").strip()}
    if form.get("event_type_field", "").strip():
        body["event_type_field"] = form["event_type_field"].strip()
    return _convert(body, QueueCreate)


def _convert(body: dict[str, Any], kind: type[T]) -> T:
    try:
        return msgspec.convert(body, kind)
    except msgspec.ValidationError as exc:
        path = str(exc).rpartition("at `$.")[2].rstrip("`") or "form"
        raise invalid_field(path, str(exc).partition(" - at")[0]) from exc


def _headers(text: str) -> dict[str, str]:
    """`Name: value` lines (blank lines skipped) as the listener's headers."""
    headers = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise invalid_field("headers", f"line {number}: write it as `Name: value`")
        headers[name.strip()] = value.strip()
    return headers


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
    return moment(form.get(field, ""), field)


def moment(text: str, field: str) -> datetime | None:
    """A browser's datetime-local (or any ISO 8601 time) as UTC; None when empty."""
    text = text.strip()
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise invalid_field(field, "a date and time such as 2026-12-01T10:00") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


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
