"""The request class every route gets: Litestar's, with JSON bodies that fail as 400s."""

from __future__ import annotations

from typing import Any

from litestar import Request

from service.errors import BadRequest


class HeraldRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        """The decoded body. JSON nested deeper than the decoder's recursion limit is a
        400 problem (msgspec raises RecursionError for it, which would otherwise be a 500)."""
        try:
            return await super().json()
        except RecursionError as exc:
            raise BadRequest("the JSON body is nested too deeply") from exc
