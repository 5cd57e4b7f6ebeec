"""Operational endpoints and the OpenAPI document."""

import httpx


async def test_live_and_ready_answer_without_a_key(http: httpx.AsyncClient) -> None:
    assert (await http.get("/health/live")).status_code == 200
    ready = await http.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": True, "redis": True}


async def test_openapi_document_lists_the_versioned_routes(http: httpx.AsyncClient) -> None:
    response = await http.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/v1/queues" in paths
    assert "/v1/queues/{queue_id}/listeners" in paths
    assert "/v1/api-keys" in paths
