"""The headers every console page carries: no script but the console's own file, nothing
framed, nothing cached, nothing leaked in a Referer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Response

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


async def secure_headers(response: Response[Any]) -> Response[Any]:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def portal_headers(frame_ancestors: str) -> Callable[[Response[Any]], Awaitable[Response[Any]]]:
    """The console's headers for the portal, but for the operator's choice of who may frame
    it (HERALD_PORTAL_FRAME_ANCESTORS) and its branding's https logo."""
    policy = CONTENT_SECURITY_POLICY.replace(
        "img-src 'self' data:", "img-src 'self' data: https:"
    ).replace("frame-ancestors 'none'", f"frame-ancestors {frame_ancestors}")
    headers = {**HEADERS, "content-security-policy": policy}
    if frame_ancestors != "'none'":
        del headers["x-frame-options"]

    async def add(response: Response[Any]) -> Response[Any]:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    return add
