"""Ingest per contract: every body mode, the limits, sync and async answers, bad input."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import pytest

from tests.conftest import Org, assert_problem

NDJSON = {"content-type": "application/x-ndjson"}
SYNC = {"sync": "1"}


async def ingest(org: Org, queue_id: str, content: bytes, **kwargs: Any):
    return await org.post(f"/v1/queues/{queue_id}/messages", content=content, **kwargs)


async def payloads(org: Org, queue_id: str, ids: list[str]) -> list[bytes]:
    out = []
    for message_id in ids:
        response = await org.get(f"/v1/queues/{queue_id}/messages/{message_id}/payload")
        assert response.status_code == 200
        out.append(response.content)
    return out


@pytest.fixture
async def queue_id(org: Org) -> str:
    return str((await org.create_queue())["id"])


async def test_async_answer_is_202_with_the_contract_fields(org: Org, queue_id: str) -> None:
    response = await ingest(
        org, queue_id, b'{"a": 1}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"batch_id", "accepted", "rejected", "received_at", "_links"}
    assert (body["accepted"], body["rejected"]) == (1, 0)
    assert body["_links"] == {"self": {"href": f"/v1/batches/{body['batch_id']}"}}
    assert body["received_at"].endswith("Z")
    batch = (await org.get(f"/v1/batches/{body['batch_id']}")).json()["batch"]
    assert (batch["queue_id"], batch["accepted"], batch["rejected"]) == (queue_id, 1, 0)


@pytest.mark.parametrize(
    "how", [{"headers": SYNC}, {"params": {"wait": "true"}}], ids=["header", "query"]
)
async def test_sync_answer_is_200_with_ids(org: Org, queue_id: str, how: dict[str, Any]) -> None:
    response = await ingest(org, queue_id, b"hello", **how)
    assert response.status_code == 200
    body = response.json()
    assert body["messages"] == [{"id": body["messages"][0]["id"], "index": 0}]
    assert body["failures"] == []


async def test_raw_body_is_stored_byte_for_byte_with_its_media_type(
    org: Org, queue_id: str
) -> None:
    raw = bytes(range(256)) * 4
    response = await ingest(
        org, queue_id, raw, headers={"content-type": "image/x-odd; v=1", **SYNC}
    )
    message_id = response.json()["messages"][0]["id"]
    stored = await org.get(f"/v1/queues/{queue_id}/messages/{message_id}/payload")
    assert stored.content == raw
    assert stored.headers["content-type"] == "image/x-odd; v=1"
    meta = (await org.get(f"/v1/queues/{queue_id}/messages/{message_id}")).json()["message"]
    assert (meta["size"], meta["content_type"]) == (len(raw), "image/x-odd; v=1")


async def test_a_json_array_without_split_is_one_message(org: Org, queue_id: str) -> None:
    body = b'[{"a": 1}, {"b": 2}]'
    response = await ingest(
        org, queue_id, body, headers={"content-type": "application/json", **SYNC}
    )
    assert response.json()["accepted"] == 1
    assert await payloads(org, queue_id, [response.json()["messages"][0]["id"]]) == [body]


async def test_ndjson_one_message_per_line_bad_lines_rejected_alone(
    org: Org, queue_id: str
) -> None:
    body = b'{"n": 0}\r\n\n  \n{"n": 1}\nnot json\n\xff\xfe\n{"n": 2}\n'
    response = await ingest(org, queue_id, b"\xef\xbb\xbf" + body, headers={**NDJSON, **SYNC})
    assert response.status_code == 200
    result = response.json()
    assert (result["accepted"], result["rejected"]) == (3, 2)
    assert [m["index"] for m in result["messages"]] == [0, 1, 4]
    assert [f["index"] for f in result["failures"]] == [2, 3]
    assert "JSON" in result["failures"][0]["reason"]
    assert "UTF-8" in result["failures"][1]["reason"]
    stored = await payloads(org, queue_id, [m["id"] for m in result["messages"]])
    assert stored == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}']


async def test_split_array_keeps_each_element_exactly(org: Org, queue_id: str) -> None:
    body = b'[ {"a" : 1}, 2,"three" , [4] ]'
    response = await ingest(org, queue_id, body, params={"split": "array"}, headers=SYNC)
    result = response.json()
    assert result["accepted"] == 4
    stored = await payloads(org, queue_id, [m["id"] for m in result["messages"]])
    assert stored == [b'{"a" : 1}', b"2", b'"three"', b"[4]"]


async def test_split_array_needs_an_array(org: Org, queue_id: str) -> None:
    assert_problem(await ingest(org, queue_id, b'{"a": 1}', params={"split": "array"}), 422)
    assert_problem(await ingest(org, queue_id, b"[1, 2", params={"split": "array"}), 422)
    assert_problem(await ingest(org, queue_id, b"[1]", params={"split": "rows"}), 400)


async def test_delimiter_splits_and_a_missing_delimiter_gives_one_message(
    org: Org, queue_id: str
) -> None:
    response = await ingest(
        org,
        queue_id,
        b"a||b||||c||",
        params={"delimiter": "||"},
        headers={"content-type": "text/plain", **SYNC},
    )
    result = response.json()
    assert [m["index"] for m in result["messages"]] == [0, 1, 2]
    assert await payloads(org, queue_id, [m["id"] for m in result["messages"]]) == [
        b"a",
        b"b",
        b"c",
    ]
    once = await ingest(
        org, queue_id, b"no delimiter here", params={"delimiter": "|"}, headers=SYNC
    )
    assert once.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("params", "headers", "body"),
    [
        ({}, {}, b"raw bytes"),
        ({}, NDJSON, b'{"a":1}\n{"b":2}\n'),
        ({"split": "array"}, {}, b"[1,2,3]"),
        ({"delimiter": ";"}, {}, b"x;y;z"),
    ],
    ids=["raw", "ndjson", "array", "delimiter"],
)
async def test_gzip_works_for_every_mode(
    org: Org, queue_id: str, params: dict[str, str], headers: dict[str, str], body: bytes
) -> None:
    plain = await ingest(org, queue_id, body, params=params, headers={**headers, **SYNC})
    zipped = await ingest(
        org,
        queue_id,
        gzip.compress(body),
        params=params,
        headers={**headers, **SYNC, "content-encoding": "gzip"},
    )
    assert zipped.status_code == 200
    assert zipped.json()["accepted"] == plain.json()["accepted"]
    ids = [m["id"] for m in zipped.json()["messages"]]
    assert await payloads(org, queue_id, ids) == await payloads(
        org, queue_id, [m["id"] for m in plain.json()["messages"]]
    )


async def test_gzip_bomb_is_413(org: Org, queue_id: str) -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    problem = assert_problem(
        await ingest(org, queue_id, bomb, headers={"content-encoding": "gzip"}), 413
    )
    assert "decompressed" in problem["detail"]


async def test_truncated_or_corrupt_gzip_is_400(org: Org, queue_id: str) -> None:
    data = gzip.compress(b"hello world" * 100)
    assert_problem(
        await ingest(org, queue_id, data[:-10], headers={"content-encoding": "gzip"}), 400
    )
    assert_problem(
        await ingest(org, queue_id, b"not gzip", headers={"content-encoding": "gzip"}), 400
    )


async def test_unsupported_encoding_is_415(org: Org, queue_id: str) -> None:
    assert_problem(await ingest(org, queue_id, b"x", headers={"content-encoding": "br"}), 415)


async def test_message_and_request_limits(org: Org, queue_id: str) -> None:
    one_mib = 1024 * 1024
    assert (await ingest(org, queue_id, b"x" * one_mib)).status_code == 202
    assert_problem(await ingest(org, queue_id, b"x" * (one_mib + 1)), 413)
    assert_problem(await ingest(org, queue_id, b"x" * (5 * one_mib + 1), headers=NDJSON), 413)
    line = b'"' + b"x" * one_mib + b'"'
    mixed = await ingest(org, queue_id, b'{"ok": 1}\n' + line + b"\n", headers={**NDJSON, **SYNC})
    assert (mixed.json()["accepted"], mixed.json()["rejected"]) == (1, 1)
    assert "limit" in mixed.json()["failures"][0]["reason"]


async def test_more_than_10000_items_is_413_and_10000_is_fine(org: Org, queue_id: str) -> None:
    assert_problem(await ingest(org, queue_id, b"1\n" * 10_001, headers=NDJSON), 413)
    assert_problem(
        await ingest(org, queue_id, b"[" + b"1," * 10_000 + b"1]", params={"split": "array"}), 413
    )
    ok = await ingest(org, queue_id, b"1\n" * 10_000, headers=NDJSON)
    assert ok.status_code == 202
    assert ok.json()["accepted"] == 10_000


async def test_nothing_accepted_is_422_with_the_failures(org: Org, queue_id: str) -> None:
    problem = assert_problem(await ingest(org, queue_id, b"nope\n{bad\n", headers=NDJSON), 422)
    assert [f["index"] for f in problem["failures"]] == [0, 1]
    assert_problem(await ingest(org, queue_id, b""), 422)
    assert_problem(await ingest(org, queue_id, b"\n\n", headers=NDJSON), 422)
    assert (await org.get(f"/v1/queues/{queue_id}/messages")).json()["messages"] == []


async def test_unknown_or_foreign_queue_is_404_and_stores_nothing(
    org: Org, other_org: Org, queue_id: str
) -> None:
    assert_problem(await ingest(org, str(uuid.uuid4()), b"x"), 404)
    assert_problem(await ingest(other_org, queue_id, b"x"), 404)
    assert (await org.get(f"/v1/queues/{queue_id}/messages")).json()["messages"] == []


async def test_scope_messages_write_is_needed(org: Org, queue_id: str) -> None:
    created = await org.post("/v1/api-keys", json={"name": "r", "scopes": ["messages:read"]})
    reader = {"X-API-KEY": created.json()["api_key"]["key"]}
    assert_problem(
        await org.http.post(f"/v1/queues/{queue_id}/messages", content=b"x", headers=reader), 403
    )


async def test_fan_out_rows_for_active_and_paused_listeners_only(org: Org, queue_id: str) -> None:
    active = await org.create_listener(queue_id, name="active")
    paused = await org.create_listener(queue_id, name="paused", enabled=False)
    deleted = await org.create_listener(queue_id, name="deleted")
    await org.delete(f"/v1/queues/{queue_id}/listeners/{deleted['id']}")
    response = await ingest(org, queue_id, b"fan", headers=SYNC)
    message_id = response.json()["messages"][0]["id"]
    view = (await org.get(f"/v1/queues/{queue_id}/messages/{message_id}")).json()
    assert {d["listener_id"] for d in view["deliveries"]} == {active["id"], paused["id"]}
    assert {d["status"] for d in view["deliveries"]} == {"pending"}
    assert all(d["attempts"] == 0 for d in view["deliveries"])


async def test_idempotency_key_replays_the_first_response(org: Org, queue_id: str) -> None:
    headers = {"idempotency-key": "order-42", **SYNC}
    first = await ingest(org, queue_id, b"once", headers=headers)
    again = await ingest(org, queue_id, b"once", headers=headers)
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    listed = (await org.get(f"/v1/queues/{queue_id}/messages")).json()["messages"]
    assert len(listed) == 1
    other_queue = await org.create_queue()
    elsewhere = await ingest(org, other_queue["id"], b"once", headers=headers)
    assert elsewhere.json()["batch_id"] != first.json()["batch_id"]


async def test_idempotency_under_20_concurrent_repeats(org: Org, queue_id: str) -> None:
    import asyncio

    headers = {"idempotency-key": f"k-{uuid.uuid4()}", **SYNC}
    responses = await asyncio.gather(
        *(ingest(org, queue_id, b"same", headers=headers) for _ in range(20))
    )
    assert {r.status_code for r in responses} == {200}
    assert len({json.dumps(r.json(), sort_keys=True) for r in responses}) == 1
    listed = (await org.get(f"/v1/queues/{queue_id}/messages")).json()["messages"]
    assert len(listed) == 1


async def test_idempotency_key_with_another_request_is_422(org: Org, queue_id: str) -> None:
    headers = {"idempotency-key": f"k-{uuid.uuid4()}", **SYNC}
    assert (await ingest(org, queue_id, b"first", headers=headers)).status_code == 200
    problem = assert_problem(await ingest(org, queue_id, b"second", headers=headers), 422)
    assert "another request" in problem["detail"]
    split = await ingest(org, queue_id, b"first", headers=headers, params={"delimiter": ","})
    assert_problem(split, 422)
    listed = (await org.get(f"/v1/queues/{queue_id}/messages")).json()["messages"]
    assert len(listed) == 1


async def test_bad_idempotency_key_is_400(org: Org, queue_id: str) -> None:
    assert_problem(await ingest(org, queue_id, b"x", headers={"idempotency-key": "k" * 256}), 400)
