"""Every console page is a Jinja2 template rendered as HTML, with autoescaping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.enums import MediaType
from litestar.response import Template

from service.auth import Principal


def signed_in(request: Request[Principal, Any, Any], template: str, **context: Any) -> Template:
    """A page for the signed-in principal (the header shows what its scopes allow)."""
    return html(template, principal=request.user, **context)


def html(template: str, http_status: int = 200, **context: Any) -> Template:
    return Template(template, context=context, status_code=http_status, media_type=MediaType.HTML)


def age(elapsed: timedelta) -> str:
    """`45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`: how long something has waited."""
    seconds = max(0, int(elapsed.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours == 0:
        return f"{minutes} min"
    if days == 0:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"
