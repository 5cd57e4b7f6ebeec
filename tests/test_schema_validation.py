"""Event type schemas: a queue with `validate_schemas` rejects, item by item, a message whose
body does not satisfy its type's JSON Schema (2020-12), with a reason naming the path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Org, assert_problem

INVOICE = {
    "type": "object",
    "required": ["type", "amount"],
    "properties": {
        "amount": {"type": "number", "minimum": 0},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}},
    },
    "$defs": {"line": {"type": "object", "properties": {"qty": {"type": "integer"}}}},
}


async def validating_queue(org: Org, **fields: Any) -> dict[str, Any]:
    response = await org.post(
        "/v1/queues",
        json={"name": "billing", "event_type_field": "/type", "validate_schemas": True, **fields},
    )
    assert response.status_code == 200, response.text
    queue: dict[str, Any] = response.json()["queue"]
    assert queue["validate_schemas"] is fields.get("validate_schemas", True)
    return queue


async def register(org: Org, queue_id: str, name: str, schema: Any) -> Any:
    return await org.put(f"/v1/queues/{queue_id}/event-types/{name}", json={"schema": schema})


async def ingest(org: Org, queue_id: str, *events: Any, **headers: str) -> Any:
    body = b"".join((e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n" for e in events)
    return await org.post(
        f"/v1/queues/{queue_id}/messages",
        content=body,
        headers={"content-type": "application/x-ndjson", "sync": "1", **headers},
    )


async def test_each_item_is_checked_against_its_types_schema(org: Org) -> None:
    queue = await validating_queue(org)
    assert (await register(org, queue["id"], "invoice.paid", INVOICE)).status_code == 200
    response = await ingest(
        org,
        queue["id"],
        {"type": "invoice.paid", "amount": 10, "lines": [{"qty": 2}]},  # valid
        {"type": "invoice.paid", "amount": -1},  # below the minimum
        {"type": "invoice.paid", "amount": 5, "lines": [{"qty": 1}, {"qty": "two"}]},
        {"type": "invoice.paid"},  # amount missing
        {"type": "customer.created", "anything": True},  # a type without a schema
        {"no_type": 1},  # untyped
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == 3 and result["rejected"] == 3
    assert [m["index"] for m in result["messages"]] == [0, 4, 5]
    reasons = {f["index"]: f["reason"] for f in result["failures"]}
    assert reasons[1].startswith("schema: /amount: ") and "minimum" in reasons[1]
    assert reasons[2].startswith("schema: /lines/1/qty: ")
    assert reasons[3].startswith("schema: /: ") and "amount" in reasons[3]
    batch = (await org.get(f"/v1/batches/{result['batch_id']}")).json()["batch"]
    assert (batch["accepted"], batch["rejected"]) == (3, 3)


async def test_a_body_that_is_not_json_fails_a_schema_and_passes_without_one(org: Org) -> None:
    queue = await validating_queue(org)
    assert (await register(org, queue["id"], "invoice.paid", INVOICE)).status_code == 200
    path = f"/v1/queues/{queue['id']}/messages"
    refused = await org.post(
        path, content=b"not json", headers={"herald-event-type": "invoice.paid"}
    )
    problem = assert_problem(refused, 422)
    assert problem["failures"][0]["reason"] == "schema: the body is not JSON"
    passed = await org.post(path, content=b"not json", headers={"herald-event-type": "other"})
    assert passed.status_code == 202, passed.text


async def test_without_validate_schemas_nothing_is_checked_and_changes_apply_at_once(
    org: Org,
) -> None:
    queue = await validating_queue(org, validate_schemas=False)
    await register(org, queue["id"], "invoice.paid", INVOICE)
    bad = {"type": "invoice.paid", "amount": -1}
    assert (await ingest(org, queue["id"], bad)).json()["accepted"] == 1
    patched = await org.patch(f"/v1/queues/{queue['id']}", json={"validate_schemas": True})
    assert patched.json()["queue"]["validate_schemas"] is True
    assert_problem(await ingest(org, queue["id"], bad), 422)
    relaxed = {**INVOICE, "properties": {"amount": {"type": "number"}}}
    assert (await register(org, queue["id"], "invoice.paid", relaxed)).status_code == 200
    assert (await ingest(org, queue["id"], bad)).json()["accepted"] == 1
    await org.delete(f"/v1/queues/{queue['id']}/event-types/invoice.paid")
    assert (await ingest(org, queue["id"], {"type": "invoice.paid"})).json()["accepted"] == 1


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ({"type": "numbr"}, "schema/type"),
        ({"properties": {"a": {"minimum": "x"}}}, "schema/properties/a/minimum"),
        ({"$ref": "http://127.0.0.1:9/remote.json"}, "schema"),
        ({"description": "x" * 70_000}, "schema"),
    ],
)
async def test_an_invalid_or_remote_schema_is_refused_naming_the_path(
    org: Org, schema: Any, field: str
) -> None:
    queue = await validating_queue(org)
    problem = assert_problem(await register(org, queue["id"], "invoice.paid", schema), 422)
    assert problem["errors"][0]["field"] == field


async def test_a_catastrophic_pattern_costs_linear_time(org: Org) -> None:
    """`^(a+)+$` against 'aaaa...!' takes exponential time in a backtracking engine; the
    request would not come back within the test's life."""
    queue = await validating_queue(org)
    schema = {"properties": {"name": {"type": "string", "pattern": "^(a+)+$"}}}
    assert (await register(org, queue["id"], "evil", schema)).status_code == 200
    response = await ingest(org, queue["id"], {"type": "evil", "name": "a" * 5000 + "!"})
    assert_problem(response, 422)
    assert "/name" in response.json()["failures"][0]["reason"]
