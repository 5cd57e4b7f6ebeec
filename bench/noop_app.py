"""The ingest baseline: a Litestar POST that reads the body and answers 202, nothing else."""

from typing import Any

from litestar import Litestar, Request, post


@post("/noop", status_code=202)
async def noop(request: Request[Any, Any, Any]) -> dict[str, Any]:
    body = await request.body()
    return {"accepted": 1, "size": len(body)}


def create() -> Litestar:
    return Litestar(route_handlers=[noop])
