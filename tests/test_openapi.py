"""The OpenAPI document describes every success response: a typed client can be generated
from it, and schemathesis checks real shapes."""

from __future__ import annotations

from typing import Any

import httpx


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if not ref:
        return schema
    resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return resolved


async def test_every_success_response_has_a_typed_schema(http: httpx.AsyncClient) -> None:
    document = (await http.get("/schema/openapi.json")).json()
    untyped = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if not code.startswith("2") or code == "204":
                    continue
                content = response.get("content") or {"(none)": {}}
                for media_type, body in content.items():
                    if media_type == "*/*":  # a message's payload: its own bytes, any type
                        continue
                    schema = _resolve(body.get("schema") or {}, document)
                    typed = (
                        bool(schema.get("properties"))
                        if media_type.endswith("json")
                        else schema.get("type") == "string"
                    )
                    if not typed:
                        untyped.append(f"{method.upper()} {path} {code} {media_type}")
    assert len(document["paths"]) >= 20
    assert untyped == [], untyped
