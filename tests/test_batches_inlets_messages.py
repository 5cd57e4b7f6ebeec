"""Batch downloads, inlets, and the messages read API."""

from __future__ import annotations

import base64
import gzip
import json

from tests.conftest import Org, assert_problem

NDJSON = {"content-type": "application/x-ndjson"}


def ndjson_lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(data).splitlines()]


async def test_batch_downloads_accepted_and_failed_items(org: Org) -> None:
    queue = await org.create_queue()
    body = b'{"a": 1}\nbroken\n{"b": "\xc3\xa9"}\n'
    batch = (
        await org.post(f"/v1/queues/{queue['id']}/messages", content=body, headers=NDJSON)
    ).json()
    accepted = await org.get(f"/v1/batches/{batch['batch_id']}/messages")
    assert accepted.status_code == 200
    assert (
        accepted.headers["content-disposition"] == f'attachment; filename="{batch["batch_id"]}.gz"'
    )
    lines = ndjson_lines(accepted.content)
    assert [(line["index"], line["payload"]) for line in lines] == [
        (0, '{"a": 1}'),
        (2, '{"b": "é"}'),
    ]
    assert all(line["content_type"] == "application/json" and "id" in line for line in lines)
    failed = ndjson_lines((await org.get(f"/v1/batches/{batch['batch_id']}/failures")).content)
    assert [(f["index"], f["raw"]) for f in failed] == [(1, "broken")]
    assert "JSON" in failed[0]["reason"]


async def test_binary_payloads_download_as_base64_and_raw_is_truncated(org: Org) -> None:
    queue = await org.create_queue()
    binary = b"\x00\xff\xfe" * 10
    batch = (
        await org.post(
            f"/v1/queues/{queue['id']}/messages",
            content=binary + b"|" + b"y" * 3000,
            params={"delimiter": "|"},
        )
    ).json()
    lines = ndjson_lines((await org.get(f"/v1/batches/{batch['batch_id']}/messages")).content)
    assert lines[0]["encoding"] == "base64"
    assert base64.b64decode(lines[0]["payload"]) == binary
    big = b'"' + b"z" * (1024 * 1024) + b'"'
    batch = (
        await org.post(
            f"/v1/queues/{queue['id']}/messages", content=b"1\n" + big + b"\n", headers=NDJSON
        )
    ).json()
    failed = ndjson_lines((await org.get(f"/v1/batches/{batch['batch_id']}/failures")).content)
    assert len(failed[0]["raw"]) == 1024


async def test_batches_of_other_organizations_are_404(org: Org, other_org: Org) -> None:
    queue = await org.create_queue()
    batch = (await org.post(f"/v1/queues/{queue['id']}/messages", content=b"x")).json()
    for suffix in ("", "/messages", "/failures"):
        assert_problem(await other_org.get(f"/v1/batches/{batch['batch_id']}{suffix}"), 404)


async def test_inlet_ingests_with_its_token_and_keeps_the_callers_headers(org: Org) -> None:
    queue = await org.create_queue()
    created = await org.post(f"/v1/queues/{queue['id']}/inlets", json={"name": "stripe"})
    assert created.status_code == 200
    inlet = created.json()["inlet"]
    assert inlet["url"] == f"/v1/inlets/{inlet['token']}"
    headers = {
        "content-type": "application/json",
        "stripe-signature": "t=1,v1=abc",
        "authorization": "Bearer secret",
        "x-api-key": "secret",
        "sync": "1",
    }
    received = await org.http.post(inlet["url"], content=b'{"id": "evt_1"}', headers=headers)
    assert received.status_code == 200
    message_id = received.json()["messages"][0]["id"]
    payload = await org.get(f"/v1/queues/{queue['id']}/messages/{message_id}/payload")
    assert payload.content == b'{"id": "evt_1"}'
    listed = (await org.get(f"/v1/queues/{queue['id']}/inlets")).json()["inlets"]
    assert [i["id"] for i in listed] == [inlet["id"]] and "token" not in listed[0]


async def test_inlet_headers_are_stored_without_auth_or_hop_by_hop(org: Org, sessionmaker) -> None:
    from sqlalchemy import text

    queue = await org.create_queue()
    inlet = (await org.post(f"/v1/queues/{queue['id']}/inlets", json={"name": "gh"})).json()[
        "inlet"
    ]
    response = await org.http.post(
        inlet["url"],
        content=b"{}",
        headers={
            "x-hub-signature-256": "sha256=1",
            "authorization": "x",
            "connection": "keep-alive",
            "sync": "1",
        },
    )
    message_id = response.json()["messages"][0]["id"]
    async with sessionmaker() as session:
        stored = (
            await session.execute(
                text(
                    "SELECT b.original_headers FROM messages m JOIN batches b ON b.id = m.batch_id"
                    " WHERE m.id = :id AND m.has_original_headers"
                ),
                {"id": message_id},
            )
        ).scalar_one()
    assert stored["x-hub-signature-256"] == "sha256=1"
    assert not {"authorization", "connection", "host", "content-length"} & set(stored)


async def test_unknown_or_deleted_inlet_token_is_404(org: Org) -> None:
    queue = await org.create_queue()
    inlet = (await org.post(f"/v1/queues/{queue['id']}/inlets", json={"name": "x"})).json()["inlet"]
    assert_problem(await org.http.post("/v1/inlets/inl_unknown", content=b"x"), 404)
    assert (await org.delete(f"/v1/queues/{queue['id']}/inlets/{inlet['id']}")).status_code == 204
    assert_problem(await org.http.post(inlet["url"], content=b"x"), 404)
    assert_problem(await org.get(f"/v1/queues/{queue['id']}/inlets/{inlet['id']}"), 404)


async def test_inlets_of_other_organizations_are_404(org: Org, other_org: Org) -> None:
    queue = await org.create_queue()
    inlet = (await org.post(f"/v1/queues/{queue['id']}/inlets", json={"name": "x"})).json()["inlet"]
    assert_problem(
        await other_org.post(f"/v1/queues/{queue['id']}/inlets", json={"name": "y"}), 404
    )
    assert_problem(await other_org.get(f"/v1/queues/{queue['id']}/inlets/{inlet['id']}"), 404)
    assert_problem(await other_org.delete(f"/v1/queues/{queue['id']}/inlets/{inlet['id']}"), 404)


async def test_messages_list_newest_first_with_cursor(org: Org) -> None:
    queue = await org.create_queue()
    ids = []
    for n in range(5):
        response = await org.post(
            f"/v1/queues/{queue['id']}/messages", content=str(n).encode(), headers={"sync": "1"}
        )
        ids.append(response.json()["messages"][0]["id"])
    seen, href = [], f"/v1/queues/{queue['id']}/messages?limit=2"
    while href:
        page = (await org.get(href)).json()
        seen += [m["id"] for m in page["messages"]]
        href = page["_links"].get("next", {}).get("href")
    assert seen == list(reversed(ids))


async def test_message_view_fields_and_404s(org: Org, other_org: Org) -> None:
    queue = await org.create_queue()
    response = await org.post(
        f"/v1/queues/{queue['id']}/messages", content=b"hi", headers={"sync": "1"}
    )
    message_id = response.json()["messages"][0]["id"]
    view = (await org.get(f"/v1/queues/{queue['id']}/messages/{message_id}")).json()
    assert set(view["message"]) >= {
        "id",
        "queue_id",
        "batch_id",
        "content_type",
        "size",
        "received_at",
    }
    assert view["message"]["batch_id"] == response.json()["batch_id"]
    assert view["deliveries"] == []
    assert_problem(await other_org.get(f"/v1/queues/{queue['id']}/messages/{message_id}"), 404)
    assert_problem(
        await other_org.get(f"/v1/queues/{queue['id']}/messages/{message_id}/payload"), 404
    )
    assert_problem(await other_org.get(f"/v1/queues/{queue['id']}/messages"), 404)
