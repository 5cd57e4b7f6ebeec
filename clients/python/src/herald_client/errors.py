"""Herald's problem+json responses as exceptions: one class per status family, each
carrying the problem's fields."""

from __future__ import annotations

from typing import Any

import httpx


class HeraldError(Exception):
    """A request Herald refused or could not serve (RFC 9457 problem details)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.errors = errors or []  # [{"field": ..., "message": ...}] for invalid input
        self.retry_after_s = retry_after_s


class BadRequest(HeraldError):  # 400
    pass


class Unauthorized(HeraldError):  # 401
    pass


class Forbidden(HeraldError):  # 403
    pass


class NotFound(HeraldError):  # 404
    pass


class Conflict(HeraldError):  # 409
    pass


class PayloadTooLarge(HeraldError):  # 413
    pass


class InvalidInput(HeraldError):  # 422: `errors` names the fields
    pass


class RateLimited(HeraldError):  # 429: `retry_after_s` says when to try again
    pass


class Unavailable(HeraldError):  # 503: nothing was stored; safe to retry
    pass


class ServerError(HeraldError):  # any other 5xx
    pass


BY_STATUS: dict[int, type[HeraldError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidInput,
    429: RateLimited,
    503: Unavailable,
}


def error_for(response: httpx.Response) -> HeraldError:
    """The exception for a response of status 400 or above (read before calling)."""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        problem = {"title": response.reason_phrase, "detail": response.text[:500]}
    status = response.status_code
    kind = BY_STATUS.get(status, ServerError if status >= 500 else HeraldError)
    return kind(
        status,
        str(problem.get("title", response.reason_phrase)),
        str(problem.get("detail", "")),
        type=str(problem.get("type", "about:blank")),
        errors=problem.get("errors") if isinstance(problem.get("errors"), list) else None,
        retry_after_s=retry_after(response),
    )


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (Herald sends seconds), None when absent or not a number."""
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None
