"""`?pretty=true`: re-indent any JSON response body."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

PRETTY_QUERY = (b"pretty=true", b"pretty=1")


def pretty_json_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        query: bytes = scope.get("query_string", b"")
        if not any(flag in query.split(b"&") for flag in PRETTY_QUERY):
            await app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def buffered_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await _send_pretty(send, start, b"".join(chunks))

        await app(scope, receive, buffered_send)

    return middleware


async def _send_pretty(send: Send, start: dict[str, Any], body: bytes) -> None:
    headers = list(start.get("headers", []))
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    if b"json" in content_type and body:
        with contextlib.suppress(ValueError):
            body = json.dumps(json.loads(body), indent=2, ensure_ascii=False).encode() + b"\n"
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
    await send({**start, "headers": headers})  # type: ignore[arg-type]
    await send({"type": "http.response.body", "body": body, "more_body": False})
