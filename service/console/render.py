"""Every console page is a Jinja2 template rendered as HTML, with autoescaping."""

from __future__ import annotations

from typing import Any

from litestar.enums import MediaType
from litestar.response import Template


def html(template: str, http_status: int = 200, **context: Any) -> Template:
    return Template(template, context=context, status_code=http_status, media_type=MediaType.HTML)
