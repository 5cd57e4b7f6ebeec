"""The console in a real browser (Debian's Chromium through Playwright) against a real
Herald (API and worker processes): signing in, what a person does there, and what a
hostile value or a forged form cannot do."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from playwright.async_api import Download, Page, expect

from service.config import Settings
from service.orgs import create_organization
from tests.receiver import Receiver, statuses, wait_for
from tests.stack import Stack

HOSTILE = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'


async def fail_some(request: web.Request, _: int) -> web.StreamResponse:
    """A receiver that answers 500 to bodies holding `fail`, 200 to the others."""
    return web.Response(status=500 if b"fail" in await request.read() else 200)


async def api(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    async with stack.client() as client:
        response = await client.request(method, path, **kwargs)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


async def sign_in(page: Page, stack: Stack, key: str | None = None) -> None:
    await page.goto(f"{stack.url}/console")
    await expect(page).to_have_url(f"{stack.url}/console/sign-in?next=/console")
    await page.get_by_label("API key").fill(key or stack.key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Queues")).to_be_visible()


async def test_sign_in_shows_the_organizations_queues_and_sign_out_ends_it(
    stack: Stack, page: Page
) -> None:
    queue = (await api(stack, "POST", "/v1/queues", json={"name": "billing-console"}))["queue"]
    await page.goto(f"{stack.url}/console/sign-in")
    await page.get_by_label("API key").fill("hrld_not-a-key")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("That API key is not valid.")

    await sign_in(page, stack)
    await page.get_by_role("link", name="billing-console").click()
    await expect(page).to_have_url(f"{stack.url}/console/queues/{queue['id']}")
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert (
        cookies["herald_console"]["httpOnly"] and cookies["herald_console"]["sameSite"] == "Strict"
    )

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.goto(f"{stack.url}/console/queues/{queue['id']}")
    await expect(page).to_have_url(
        f"{stack.url}/console/sign-in?next=/console/queues/{queue['id']}"
    )


async def test_a_failing_delivery_appears_live_and_is_retried_after_a_fix(
    stack: Stack, page: Page
) -> None:
    """The listener's URL is wrong (it answers 500): find the failure, fix the URL in the
    console, retry, and the message arrives at the right one."""
    receiver = await Receiver().start()
    try:
        receiver.on("old-hook", statuses(500))
        queue = (await api(stack, "POST", "/v1/queues", json={"name": "live"}))["queue"]
        listener = (
            await api(
                stack,
                "POST",
                f"/v1/queues/{queue['id']}/listeners",
                json={
                    "name": "orders-hook",
                    "notify_url": receiver.url("old-hook"),
                    "max_attempts": 1,
                },
            )
        )["listener"]
        await sign_in(page, stack)
        await page.goto(f"{stack.url}/console/queues/{queue['id']}/listeners/{listener['id']}")
        await expect(page.get_by_text("No deliveries")).to_be_visible()

        sent = await api(
            stack,
            "POST",
            f"/v1/queues/{queue['id']}/messages",
            content=b'{"order": 42}',
            headers={"sync": "1", "content-type": "application/json"},
        )
        message_id = sent["messages"][0]["id"]
        row = page.locator("#deliveries tbody tr", has_text=message_id)
        await expect(row.get_by_text("failed")).to_be_visible(timeout=15_000)  # no reload

        await row.get_by_role("link").click()
        await expect(page.locator("#payload")).to_contain_text('"order": 42')
        await expect(page.get_by_role("cell", name="500")).to_be_visible()
        await expect(page.locator("pre.response")).to_have_text("answer")
        await page.get_by_text("Headers sent").click()
        shown = dict(
            line.split(": ", 1)
            for line in (await page.locator("pre.headers").inner_text()).splitlines()
        )
        received = receiver.at("old-hook")[0].headers
        for name in ("webhook-id", "webhook-timestamp", "herald-attempt", "content-type"):
            assert shown[name] == received[name], name  # what was sent, not a guess
        assert shown["user-agent"] == received["user-agent"]

        message_url = page.url
        await page.get_by_role("link", name="orders-hook").click()
        await page.get_by_text("Edit", exact=True).click()
        await page.get_by_label("URL", exact=True).fill(receiver.url("hook"))
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator(".fields")).to_contain_text(receiver.url("hook"))
        await page.goto(message_url)
        await page.get_by_role("button", name="Retry").click()

        async def delivered() -> bool:
            await page.reload()
            return await page.locator(".delivery .status-delivered").count() == 1

        await wait_for(delivered, what="the retried delivery delivered")
        assert len(receiver.at("hook")) == 1 and len(receiver.at("old-hook")) == 1
        assert receiver.at("hook")[0].body == b'{"order": 42}'
    finally:
        await receiver.stop()


async def test_pause_resume_and_secrets_from_the_listener_page(stack: Stack, page: Page) -> None:
    queue = (await api(stack, "POST", "/v1/queues", json={"name": "secrets"}))["queue"]
    path = f"/v1/queues/{queue['id']}/listeners"
    listener = (
        await api(stack, "POST", path, json={"name": "s", "notify_url": "http://127.0.0.1:9/h"})
    )["listener"]
    first = (await api(stack, "GET", f"{path}/{listener['id']}/secret"))["secret"]
    await sign_in(page, stack)
    page_url = f"{stack.url}/console/queues/{queue['id']}/listeners/{listener['id']}"
    await page.goto(page_url)
    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator("h1 .status")).to_have_text("paused")
    await page.get_by_role("button", name="Resume").click()
    await expect(page.locator("h1 .status")).to_have_text("active")
    await page.get_by_role("button", name="Reveal secret").click()
    await expect(page.locator(".secret")).to_have_text(first)
    await page.goto(page_url)
    await page.get_by_role("button", name="Rotate secret").click()
    rotated = await page.locator(".secret").inner_text()
    assert rotated.startswith("whsec_") and rotated != first
    assert (await api(stack, "GET", f"{path}/{listener['id']}/secret"))["secret"] == rotated


async def test_hostile_names_and_payloads_render_as_text(stack: Stack, page: Page) -> None:
    queue = (await api(stack, "POST", "/v1/queues", json={"name": HOSTILE}))["queue"]
    listener = (
        await api(
            stack,
            "POST",
            f"/v1/queues/{queue['id']}/listeners",
            json={"name": HOSTILE, "notify_url": "http://127.0.0.1:9/h", "enabled": False},
        )
    )["listener"]
    sent = await api(
        stack,
        "POST",
        f"/v1/queues/{queue['id']}/messages",
        content=json.dumps({"html": HOSTILE}).encode(),
        headers={"sync": "1", "herald-event-type": "x.y"},
    )
    await sign_in(page, stack)
    for path in (
        "/console",
        f"/console/queues/{queue['id']}",
        f"/console/queues/{queue['id']}/listeners/{listener['id']}",
        f"/console/queues/{queue['id']}/messages/{sent['messages'][0]['id']}",
    ):
        await page.goto(f"{stack.url}{path}")
        await expect(page.get_by_text(HOSTILE).first).to_be_visible()
        assert await page.locator("img").count() == 0, path
        assert await page.locator("main script").count() == 0, path


async def test_forms_need_their_csrf_token_and_pages_forbid_inline_script(
    stack: Stack, page: Page
) -> None:
    await sign_in(page, stack)
    forged = await page.request.post(f"{stack.url}/console/sign-out", form={})
    assert forged.status == 403
    wrong = await page.request.post(f"{stack.url}/console/sign-out", form={"_csrf_token": "forged"})
    assert wrong.status == 403
    await page.goto(f"{stack.url}/console")
    await expect(page.get_by_role("heading", name="Queues")).to_be_visible()  # still signed in
    response = await page.request.get(f"{stack.url}/console")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


async def test_another_organizations_queues_are_out_of_reach(stack: Stack, page: Page) -> None:
    theirs = (await api(stack, "POST", "/v1/queues", json={"name": "not-yours"}))["queue"]
    _, other_key = await create_organization(Settings(database_url=stack.database_url), "other")
    await sign_in(page, stack, other_key)
    await expect(page.get_by_text("not-yours")).to_have_count(0)
    response = await page.goto(f"{stack.url}/console/queues/{theirs['id']}")
    assert response is not None and response.status == 404
    async with httpx.AsyncClient() as client:  # no cookie: the sign-in page, never the data
        anonymous = await client.get(f"{stack.url}/console/queues/{theirs['id']}")
    assert anonymous.status_code == 302 and "not-yours" not in anonymous.text


async def test_the_listener_page_tests_a_payload_against_its_filters(
    stack: Stack, page: Page
) -> None:
    queue = (await api(stack, "POST", "/v1/queues", json={"name": "filters"}))["queue"]
    listener = (
        await api(
            stack,
            "POST",
            f"/v1/queues/{queue['id']}/listeners",
            json={
                "name": "big-invoices",
                "notify_url": "http://127.0.0.1:9/h",
                "filter_types": ["invoice.*"],
                "filter": {"/amount": {"$gt": 100}},
            },
        )
    )["listener"]
    await sign_in(page, stack)
    await page.goto(f"{stack.url}/console/queues/{queue['id']}/listeners/{listener['id']}")
    await page.get_by_text("Test the filters", exact=True).click()
    await page.get_by_label("Event type to test").fill("invoice.paid")
    await page.get_by_label("Payload to test (JSON)").fill('{"amount": 250}')
    await page.get_by_role("button", name="Test filters").click()
    await expect(page.locator("#filter-verdict")).to_have_text(
        "It matches: the listener would get it."
    )
    await page.get_by_label("Payload to test (JSON)").fill('{"amount": 20}')
    await page.get_by_role("button", name="Test filters").click()
    await expect(page.locator("#filter-verdict")).to_contain_text("does not match")
    await page.get_by_label("Payload to test (JSON)").fill("{not json")
    await page.get_by_role("button", name="Test filters").click()
    await expect(page.locator("#filter-verdict")).to_contain_text("Not tested")


async def test_api_keys_are_created_shown_once_and_revoked(stack: Stack, page: Page) -> None:
    await sign_in(page, stack)
    await page.get_by_role("link", name="API keys").click()
    await page.get_by_label("Name").fill("deploy-bot")
    await page.get_by_label("messages:write").check()
    await page.get_by_role("button", name="Create key").click()
    key = await page.locator("#new-key").inner_text()
    async with httpx.AsyncClient(base_url=stack.url, headers={"X-API-KEY": key}) as client:
        assert (await client.post("/v1/queues", json={"name": "x"})).status_code == 403
        assert (await client.get("/v1/queues")).status_code == 403  # messages:write only
        await page.goto(f"{stack.url}/console/api-keys")
        await expect(page.locator("#new-key")).to_have_count(0)  # shown once
        await page.get_by_role("button", name="Revoke deploy-bot").click()
        await expect(page.get_by_role("cell", name="deploy-bot")).to_have_count(0)

        async def refused() -> bool:
            return (await client.get("/v1/queues")).status_code == 401

        await wait_for(refused, what="the revoked key refused")


async def test_the_delivery_log_lists_the_newest_first(stack: Stack, page: Page) -> None:
    queue = (await api(stack, "POST", "/v1/queues", json={"name": "log-order"}))["queue"]
    listener = (
        await api(
            stack,
            "POST",
            f"/v1/queues/{queue['id']}/listeners",
            json={"name": "held", "notify_url": "http://127.0.0.1:9/h", "enabled": False},
        )
    )["listener"]
    sent = await api(
        stack,
        "POST",
        f"/v1/queues/{queue['id']}/messages",
        content=b'{"n": 1}\n{"n": 2}\n{"n": 3}\n',
        headers={"sync": "1", "content-type": "application/x-ndjson"},
    )
    ids = [m["id"] for m in sent["messages"]]
    await sign_in(page, stack)
    await page.goto(f"{stack.url}/console/queues/{queue['id']}/listeners/{listener['id']}")
    rows = page.locator("#deliveries tbody tr")
    await expect(rows).to_have_count(3)
    assert [await rows.nth(i).locator("code").inner_text() for i in range(3)] == ids[::-1]


async def test_a_listener_is_edited_from_its_page_with_the_apis_checks(
    stack: Stack, page: Page
) -> None:
    queue = (await api(stack, "POST", "/v1/queues", json={"name": "edit-me"}))["queue"]
    path = f"/v1/queues/{queue['id']}/listeners"
    listener = (
        await api(
            stack, "POST", path, json={"name": "before", "notify_url": "http://127.0.0.1:9/a"}
        )
    )["listener"]
    await sign_in(page, stack)
    page_url = f"{stack.url}/console/queues/{queue['id']}/listeners/{listener['id']}"
    await page.goto(page_url)
    await page.get_by_text("Edit", exact=True).click()
    await page.get_by_label("Name", exact=True).fill("after")
    await page.get_by_label("Event types (comma-separated").fill("invoice.*, refund.created")
    await page.get_by_label("Body filter (JSON").fill('{"/amount": {"$gt": 100}}')
    await page.get_by_label("Attempts", exact=True).fill("3")
    await page.get_by_label("Ordered").check()
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("heading", name="after")).to_be_visible()
    saved = (await api(stack, "GET", f"{path}/{listener['id']}"))["listener"]
    assert saved["name"] == "after" and saved["max_attempts"] == 3 and saved["ordered"]
    assert saved["filter_types"] == ["invoice.*", "refund.created"]
    assert saved["filter"] == {"/amount": {"$gt": 100}}

    await page.get_by_text("Edit", exact=True).click()
    await page.get_by_label("Body filter (JSON").fill('{"/amount": {"$gt": [1]}}')
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert")).to_contain_text('filter["/amount"]["$gt"]')
    unchanged = (await api(stack, "GET", f"{path}/{listener['id']}"))["listener"]
    assert unchanged["filter"] == {"/amount": {"$gt": 100}}


async def test_a_bulk_replay_is_previewed_then_sent(stack: Stack, page: Page) -> None:
    receiver = await Receiver().start()
    try:
        receiver.on("down", statuses(500, 500, 500, 200))
        queue = (await api(stack, "POST", "/v1/queues", json={"name": "replays"}))["queue"]
        path = f"/v1/queues/{queue['id']}/listeners"
        body = {"name": "down", "notify_url": receiver.url("down"), "max_attempts": 1}
        listener = (await api(stack, "POST", path, json=body))["listener"]
        since = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
        await api(
            stack,
            "POST",
            f"/v1/queues/{queue['id']}/messages",
            content=b'{"n": 1}\n{"n": 2}\n{"n": 3}\n',
            headers={"content-type": "application/x-ndjson"},
        )
        deliveries = f"{path}/{listener['id']}/deliveries"

        async def statuses_now() -> list[str]:
            return [d["status"] for d in (await api(stack, "GET", deliveries))["deliveries"]]

        await wait_for(lambda: _all(statuses_now(), "failed"), what="three failed deliveries")
        await sign_in(page, stack)
        await page.goto(f"{stack.url}/console/queues/{queue['id']}/listeners/{listener['id']}")
        await page.get_by_text("Replay", exact=True).click()
        await page.get_by_label("Replay since (UTC)").fill(since)
        await page.get_by_role("button", name="Preview").click()
        await expect(page.locator("#replay-result")).to_have_text(
            "3 deliveries would be sent again."
        )
        assert await statuses_now() == ["failed"] * 3  # a preview changes nothing
        await page.get_by_role("button", name="Replay 3").click()
        await expect(page.locator("#replay-result")).to_have_text(
            "3 deliveries will be sent again."
        )
        await wait_for(lambda: _all(statuses_now(), "delivered"), what="three delivered")
        assert len(receiver.at("down")) == 6
    finally:
        await receiver.stop()


async def _all(statuses_now: Awaitable[list[str]], status: str) -> bool:
    found = await statuses_now
    return len(found) == 3 and set(found) == {status}


async def test_a_queue_and_listener_made_in_the_console_show_their_figures(
    stack: Stack, page: Page
) -> None:
    """Create a queue, a listener (then give it a header and one attempt) and an inlet
    from the console; what is delivered shows in the charts, rates and success rate."""

    receiver = await Receiver().start()
    receiver.on("hook", fail_some)
    _, key = await create_organization(Settings(database_url=stack.database_url), "figures")
    try:
        await sign_in(page, stack, key)
        await expect(page.get_by_text("No queues yet.")).to_be_visible()
        await page.get_by_label("Name").fill("shop")
        await page.get_by_role("button", name="Create queue").click()
        await expect(page.get_by_role("heading", name="shop")).to_be_visible()
        queue_url = page.url

        await page.get_by_label("Name", exact=True).fill("orders")
        await page.get_by_label("URL", exact=True).fill(receiver.url("hook"))
        await page.get_by_role("button", name="Create listener").click()
        await expect(page.get_by_role("heading", name="orders")).to_be_visible()
        await page.get_by_text("Edit", exact=True).click()
        await page.get_by_label("Headers sent with every delivery").fill("X-Tenant: acme")
        await page.get_by_label("Attempts", exact=True).fill("1")
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator(".fields code", has_text="X-Tenant: acme")).to_be_visible()

        queue_id = queue_url.rsplit("/", 1)[1]
        async with httpx.AsyncClient(base_url=stack.url, headers={"X-API-KEY": key}) as client:
            sent = await client.post(
                f"/v1/queues/{queue_id}/messages",
                content=b'{"n": 1}\n{"n": 2}\n{"fail": true}\n',
                headers={"content-type": "application/x-ndjson", "sync": "1"},
            )
        assert sent.status_code == 200, sent.text
        await wait_for(lambda: len(receiver.at("hook")) == 3, what="three deliveries")
        assert {r.headers["x-tenant"] for r in receiver.at("hook")} == {"acme"}

        async def charted() -> bool:  # counts reach Postgres once a second
            await page.goto(f"{stack.url}/console")
            legend = await page.locator(".chart .legend").first.inner_text()
            rate = page.locator("#queues tbody tr", has_text="shop").locator("td").nth(1)
            counted = "delivered 2" in legend and "failed for good 1" in legend
            return counted and await rate.inner_text() == "0.6"  # 3 messages in 5 minutes

        await wait_for(charted, what="the overview to count the messages and deliveries")
        await expect(page.locator(".bars rect.bar-failed")).to_have_count(60)  # one a minute

        await page.goto(queue_url)
        listener_row = page.locator("#listeners tbody tr", has_text="orders")
        await expect(listener_row).to_contain_text("66.7 %")
        await page.get_by_label("New inlet").fill("stripe")
        await page.get_by_role("button", name="Create inlet").click()
        inlet_url = await page.locator("#new-inlet-url").inner_text()
        async with httpx.AsyncClient() as client:
            assert (await client.post(inlet_url, content=b'{"n": 3}')).status_code == 202
        await wait_for(lambda: len(receiver.at("hook")) == 4, what="the inlet's message")
        await page.reload()  # the URL is shown once: a reload re-posts nothing and shows none
        await expect(page.locator("#inlets")).to_contain_text("stripe")
    finally:
        await receiver.stop()


async def test_the_log_filters_by_status_type_and_time_and_a_test_message_is_sent(
    stack: Stack, page: Page
) -> None:
    receiver = await Receiver().start()
    receiver.on("hook", fail_some)
    try:
        queue = (await api(stack, "POST", "/v1/queues", json={"name": "filtered-log"}))["queue"]
        listener = (
            await api(
                stack,
                "POST",
                f"/v1/queues/{queue['id']}/listeners",
                json={
                    "name": "typed",
                    "notify_url": receiver.url("hook"),
                    "max_attempts": 1,
                    "filter_types": ["order.*", "invoice.*"],
                },
            )
        )["listener"]
        for event_type, body in (
            ("order.created", b'{"n": 1}\n{"n": 2}\n'),
            ("invoice.paid", b'{"fail": 1}\n'),
        ):
            await api(
                stack,
                "POST",
                f"/v1/queues/{queue['id']}/messages",
                content=body,
                headers={"content-type": "application/x-ndjson", "herald-event-type": event_type},
            )
        await wait_for(lambda: len(receiver.at("hook")) == 3, what="three deliveries")
        await sign_in(page, stack)
        page_url = f"{stack.url}/console/queues/{queue['id']}/listeners/{listener['id']}"
        await page.goto(page_url)
        rows = page.locator("#deliveries tbody tr")
        await expect(rows.filter(has_text="delivered")).to_have_count(2)
        await expect(rows.filter(has_text="failed")).to_have_count(1)

        await page.get_by_label("Status").select_option("failed")
        await page.get_by_role("button", name="Show").click()
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("invoice.paid")

        await page.goto(page_url)
        await page.locator("#log_event_type").fill("order.created")
        await page.get_by_role("button", name="Show").click()
        await expect(rows.filter(has_text="order.created")).to_have_count(2)
        await expect(rows).to_have_count(2)

        later = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
        await page.goto(page_url)
        await page.locator("#log_since").fill(later)
        await page.get_by_role("button", name="Show").click()
        await expect(rows).to_have_text(["No deliveries match."])
        await page.locator("#log_since").fill("")
        await page.locator("#log_until").fill(later)
        await page.get_by_role("button", name="Show").click()
        await expect(rows).to_have_count(3)

        # A test message reaches the listener though its filters would not take it.
        await page.goto(page_url)
        await page.get_by_text("Send a test message", exact=True).click()
        await page.get_by_role("button", name="Send test message").click()
        await expect(page.locator("#test-sent")).to_be_visible()
        await wait_for(lambda: len(receiver.at("hook")) == 4, what="the test message")
        test = receiver.at("hook")[-1]
        assert b"herald.test" in test.body and test.signature_valid is not False
        await expect(rows.filter(has_text="herald.test")).to_have_count(1)  # live, no reload
    finally:
        await receiver.stop()


async def test_batches_are_listed_with_their_counts_and_downloads(stack: Stack, page: Page) -> None:
    queue = (await api(stack, "POST", "/v1/queues", json={"name": "batched"}))["queue"]
    path = f"/v1/queues/{queue['id']}/messages"
    ndjson = {"content-type": "application/x-ndjson", "sync": "1"}
    first = await api(stack, "POST", path, content=b'{"a": 1}\n{"a": 2}\n', headers=ndjson)
    second = await api(stack, "POST", path, content=b'{"b": 1}\n{not json\n', headers=ndjson)
    await sign_in(page, stack)
    await page.goto(f"{stack.url}/console/queues/{queue['id']}")
    await page.get_by_role("link", name="Batches").click()
    rows = page.locator("#batches tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text(second["batch_id"])  # newest first
    await expect(rows.nth(1)).to_contain_text(first["batch_id"])
    assert [await rows.nth(0).locator("td.num").nth(i).inner_text() for i in (0, 1)] == ["1", "1"]

    async with page.expect_download() as download_info:
        await rows.nth(0).get_by_role("link", name="rejected items").click()
    lines = await _ndjson_lines(await download_info.value)
    failure = json.loads(lines[0])
    assert len(lines) == 1 and failure["index"] == 1 and failure["raw"] == "{not json"
    async with page.expect_download() as download_info:
        await rows.nth(1).get_by_role("link", name="accepted messages").click()
    lines = await _ndjson_lines(await download_info.value)
    assert [json.loads(line)["payload"] for line in lines] == ['{"a": 1}', '{"a": 2}']

    await page.goto(f"{stack.url}/console/queues/{queue['id']}")  # a customer quotes an id
    await page.get_by_label("Find a message").fill(f" {first['messages'][1]['id']} ")
    await page.get_by_role("button", name="Find").click()
    await expect(page.locator("#payload")).to_contain_text('"a": 2')


async def _ndjson_lines(download: Download) -> list[bytes]:
    """The lines of a downloaded gzip NDJSON file."""
    compressed = await asyncio.to_thread(Path(await download.path()).read_bytes)
    return gzip.decompress(compressed).splitlines()


async def test_the_console_works_from_the_keyboard_and_fits_a_phone(
    stack: Stack, page: Page
) -> None:
    queue = (await api(stack, "POST", "/v1/queues", json={"name": "keyboard"}))["queue"]
    listener = await api(
        stack,
        "POST",
        f"/v1/queues/{queue['id']}/listeners",
        json={"name": "kb-hook", "notify_url": "http://127.0.0.1:9/h", "enabled": False},
    )
    listener_path = f"/console/queues/{queue['id']}/listeners/{listener['listener']['id']}"
    await page.goto(f"{stack.url}/console/sign-in")
    await expect(page.get_by_label("API key")).to_be_focused()  # ready to type
    await page.keyboard.type(stack.key)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Queues")).to_be_visible()

    await page.keyboard.press("Tab")  # the skip link comes first
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.keyboard.press("Enter")  # past the header: focus moves to the page itself
    await expect(page.locator("main")).to_be_focused()
    link = page.get_by_role("link", name="keyboard", exact=True)
    for _ in range(200):  # tab to the queue's link, as a keyboard user would
        if await link.evaluate("element => element === document.activeElement"):
            break
        await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="keyboard")).to_be_visible()

    for width in (1280, 390):
        await page.set_viewport_size({"width": width, "height": 800})
        for path in ("/console", f"/console/queues/{queue['id']}", listener_path):
            await page.goto(f"{stack.url}{path}")
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
