"""schemathesis over the served OpenAPI document: generated requests to every operation
never get a 5xx, and every response matches what the document says.

Half of the generated requests use ids of real resources (a queue with a listener, a
message, its batch and delivery, an inlet), created afresh for each operation, so the
handlers behind the 404s are exercised too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error, response_schema_conformance

from service.app import create_app
from service.orgs import create_organization
from tests.conftest import make_settings

EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture(scope="module")
def api_key() -> str:
    _, key = asyncio.run(create_organization(make_settings(), "schemathesis"))
    return key


@pytest.fixture(scope="module")
def api_schema() -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/schema/openapi.json", create_app(make_settings()))


class Seeder:
    """Creates real resources through the same ASGI app the generated requests go to."""

    def __init__(self, schema: schemathesis.BaseSchema, api_key: str) -> None:
        self.operations = {op.label: op for op in (r.ok() for r in schema.get_all_operations())}
        self.headers = {"X-API-KEY": api_key}

    def call(self, label: str, body: Any = None, **path: str) -> Any:
        operation = self.operations[label]
        case = operation.Case(path_parameters=path, body=body, media_type="application/json")
        response = case.call(headers={**self.headers, "sync": "1"})
        assert response.status_code < 300, (label, response.status_code, response.text)
        return response.json()

    def resources(self, n: int) -> dict[str, str]:
        queue = self.call("POST /v1/queues", {"name": f"fuzz-{n}"})["queue"]["id"]
        listener = self.call(
            "POST /v1/queues/{queue_id}/listeners",
            {"name": "fuzz", "notify_url": "http://127.0.0.1:9/never", "enabled": False},
            queue_id=queue,
        )["listener"]["id"]
        sent = self.call("POST /v1/queues/{queue_id}/messages", {"n": n}, queue_id=queue)
        deliveries = self.call(
            "GET /v1/queues/{queue_id}/listeners/{listener_id}/deliveries",
            queue_id=queue, listener_id=listener,
        )["deliveries"]  # fmt: skip
        inlet = self.call("POST /v1/queues/{queue_id}/inlets", {"name": "fuzz"}, queue_id=queue)
        return {
            "queue_id": queue,
            "listener_id": listener,
            "message_id": sent["messages"][0]["id"],
            "batch_id": sent["batch_id"],
            "delivery_id": deliveries[0]["id"],
            "inlet_id": inlet["inlet"]["id"],
            "token": inlet["inlet"]["token"],
        }


def fuzz(operation: Any, real: dict[str, str], api_key: str) -> Any:
    """A hypothesis test of one operation; half its cases use the real resources' ids."""

    @given(case=operation.as_strategy(), use_real_ids=st.booleans())
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    def check(case: schemathesis.Case, use_real_ids: bool) -> None:
        if use_real_ids and case.path_parameters:
            case.path_parameters = {
                name: real.get(name, value) for name, value in case.path_parameters.items()
            }
        case.call_and_validate(headers={"X-API-KEY": api_key}, checks=CHECKS)

    return check


def test_no_server_errors_and_responses_match_the_schema(
    api_schema: schemathesis.BaseSchema, api_key: str
) -> None:
    # One hypothesis run per operation; failures are collected so the report names every
    # operation that broke. (schemathesis' pytest plugin does not run under pytest 9.)
    seeder = Seeder(api_schema, api_key)
    failures = []
    for n, (label, operation) in enumerate(sorted(seeder.operations.items())):
        try:
            fuzz(operation, seeder.resources(n), api_key)()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group
            failures.append(f"{label}: {exc}")
    assert len(seeder.operations) >= 30
    assert not failures, "\n\n".join(failures)
