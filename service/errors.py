"""Domain errors and the one place they become RFC 9457 problem+json responses.

HeraldError
 +-- BadRequest (400)            malformed request the schema could not catch
 +-- Unauthorized (401)          missing or unknown API key
 +-- Forbidden (403)             key lacks the scope
 +-- NotFound (404)              unknown id, or another organization's
 +-- Conflict (409)              duplicate name
 +-- PayloadTooLarge (413)
 +-- UnsupportedMediaType (415)
 +-- InvalidInput (422)          semantically invalid fields, with per-field errors
 +-- RateLimited (429)           with Retry-After
 +-- Unavailable (503)           a backing server is down, with Retry-After
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

logger = logging.getLogger("herald.errors")

PROBLEM_JSON = "application/problem+json"
UNAVAILABLE_RETRY_AFTER_S = 2


class HeraldError(Exception):
    status_code = 500
    code = "internal"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        retry_after_s: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.retry_after_s = retry_after_s
        self.extra = extra


class BadRequest(HeraldError):
    status_code, code = 400, "bad-request"


class Unauthorized(HeraldError):
    status_code, code = 401, "unauthorized"


class Forbidden(HeraldError):
    status_code, code = 403, "forbidden"


class NotFound(HeraldError):
    status_code, code = 404, "not-found"


class Conflict(HeraldError):
    status_code, code = 409, "conflict"


class QuotaExceeded(HeraldError):
    status_code, code = 409, "quota-exceeded"


def enforce_quota(count: int, quota: int | None, what: str) -> None:
    """QuotaExceeded (409) when `count` existing `what` already fill the quota."""
    if quota is not None and count >= quota:
        raise QuotaExceeded(f"The quota of {quota} {what} is reached")


class PayloadTooLarge(HeraldError):
    status_code, code = 413, "payload-too-large"


class UnsupportedMediaType(HeraldError):
    status_code, code = 415, "unsupported-media-type"


class InvalidInput(HeraldError):
    status_code, code = 422, "invalid-input"


class HeadersTooLarge(HeraldError):
    status_code, code = 431, "request-header-fields-too-large"


class RateLimited(HeraldError):
    status_code, code = 429, "rate-limited"


class Unavailable(HeraldError):
    status_code, code = 503, "unavailable"


def invalid_field(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", errors=[{"field": field, "message": message}])


def problem_response(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        **(extra or {}),
        "type": f"urn:herald:problem:{code}" if code else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _herald_error(_: Request[Any, Any, Any], exc: HeraldError) -> Response[dict[str, Any]]:
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s is not None else None
    return problem_response(
        exc.status_code,
        exc.detail,
        code=exc.code,
        errors=exc.errors,
        headers=headers,
        extra=exc.extra,
    )


def _validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    errors, sources = [], set()
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            sources.add(item.get("source"))
            field = str(item.get("key") or item.get("source") or "body")
            errors.append({"field": field, "message": str(item.get("message", "invalid"))})
    if not errors:
        return problem_response(400, exc.detail or "Malformed request", code="bad-request")
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    # Well-formed bodies with wrong fields are 422; bad query or path parameters are 400.
    if sources <= {"body", None}:
        return problem_response(422, detail, code="invalid-input", errors=errors)
    return problem_response(400, detail, code="bad-request", errors=errors)


def _http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    headers = dict(exc.headers or {})
    detail = exc.detail or HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, detail, headers=headers or None)


def _database_unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    logger.warning("database unavailable: %s", exc)
    return _unavailable("The database is unavailable; nothing was stored. Retry later.")


def _pool_exhausted(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    logger.warning("no database connection free in time: %s", exc)
    return _unavailable(
        "Every database connection of this process is busy; nothing was changed. Retry later."
    )


def _unavailable(detail: str) -> Response[dict[str, Any]]:
    return problem_response(
        503, detail, code="unavailable", headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)}
    )


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return _database_unavailable(_, exc)
    if isinstance(_driver_error(exc), asyncpg.InternalClientError):
        # asyncpg's answer on a pooled connection whose backend was terminated while idle
        return _database_unavailable(_, exc)
    if _is_data_exception(exc):
        # A value Postgres cannot store (e.g. a NUL character in a name): the input is at
        # fault, and the transaction was rolled back whole.
        return problem_response(
            422, "A value cannot be stored: text must not contain NUL characters "
            "and numbers must fit their fields", code="invalid-input",
        )  # fmt: skip
    logger.exception("unhandled error", exc_info=exc)
    return problem_response(500, "Internal server error", code="internal")


def _driver_error(exc: Exception) -> object:
    """asyncpg's own exception, whether raised raw or wrapped by SQLAlchemy."""
    return getattr(exc, "orig", None) or exc


def _is_data_exception(exc: Exception) -> bool:
    """SQLSTATE class 22 ("data exception"), raw asyncpg or wrapped by SQLAlchemy."""
    orig = _driver_error(exc)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return isinstance(state, str) and state.startswith("22")


EXCEPTION_HANDLERS: Any = {
    HeraldError: _herald_error,
    ValidationException: _validation_error,
    HTTPException: _http_exception,
    OperationalError: _database_unavailable,
    PoolTimeout: _pool_exhausted,
    InterfaceError: _database_unavailable,
    OSError: _database_unavailable,
    Exception: _unexpected,
}
