"""Hostile ingest bodies cost a bounded amount: counted before they are split, gzip
members capped, never millions of objects built for a request that is refused."""

from __future__ import annotations

import gzip
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.messages.splitting import TooManyItems, split_array
from tests.conftest import Org, assert_problem

FIVE_MIB = 5 * 1024 * 1024


@pytest.fixture
async def queue_path(org: Org) -> str:
    return f"/v1/queues/{(await org.create_queue())['id']}/messages"


async def test_a_gzip_body_of_many_members_is_400(org: Org, queue_path: str) -> None:
    flood = gzip.compress(b"") * 200_000
    response = await org.post(queue_path, content=flood, headers={"content-encoding": "gzip"})
    assert "members" in assert_problem(response, 400)["detail"]


async def test_concatenated_gzip_members_within_the_cap_are_one_body(
    org: Org, queue_path: str
) -> None:
    body = gzip.compress(b'{"a": 1}\n') + gzip.compress(b'{"b": 2}\n') + gzip.compress(b"")
    headers = {"content-encoding": "gzip", "content-type": "application/x-ndjson", "sync": "1"}
    response = await org.post(queue_path, content=body, headers=headers)
    assert response.status_code == 200 and response.json()["accepted"] == 2


@pytest.mark.parametrize(
    ("body", "options"),
    [
        (b"\n" * (FIVE_MIB - 1), {"headers": {"content-type": "application/x-ndjson"}}),
        (b";" * (FIVE_MIB - 1), {"params": {"delimiter": ";"}}),
    ],
    ids=["newlines", "delimiters"],
)
async def test_a_flood_of_empty_segments_is_413(
    org: Org, queue_path: str, body: bytes, options: dict[str, dict[str, str]]
) -> None:
    problem = assert_problem(await org.post(queue_path, content=body, **options), 413)
    assert "segments" in problem["detail"]


def test_counting_a_huge_array_builds_no_element_past_the_limit() -> None:
    body = b"[" + b"1," * (FIVE_MIB // 2 - 1) + b"1]"
    tracemalloc.start()
    try:
        with pytest.raises(TooManyItems):
            split_array(body, max_item_bytes=1 << 20, max_items=10_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 1024 * 1024, f"{peak / 1e6:.0f} MB for a refused array"


@given(count=st.integers(min_value=0, max_value=40), limit=st.integers(min_value=1, max_value=30))
def test_an_array_over_the_limit_is_refused_whole(count: int, limit: int) -> None:
    body = b"[" + b",".join(b'{"n": [1, "a,b"]}' for _ in range(count)) + b"]"
    try:
        split = split_array(body, max_item_bytes=1 << 20, max_items=limit)
    except TooManyItems:
        assert count > limit
    else:
        assert len(split.items) == count <= limit
