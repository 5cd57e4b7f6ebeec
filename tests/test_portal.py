"""The tenant portal: a one-time link opens a page scoped to one queue (or some of its
listeners) with granted capabilities, in a real browser against a real Herald."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Page, expect

from service.config import Settings
from service.orgs import create_organization
from tests.receiver import Receiver, wait_for
from tests.stack import Stack
from tests.test_console import api


async def listener(stack: Stack, queue_id: str, name: str) -> dict[str, Any]:
    body = {"name": name, "notify_url": f"http://127.0.0.1:9/{name}", "enabled": False}
    created = await api(stack, "POST", f"/v1/queues/{queue_id}/listeners", json=body)
    return dict(created["listener"])


async def portal(stack: Stack, **fields: Any) -> dict[str, Any]:
    created = await api(stack, "POST", "/v1/portal-sessions", json=fields)
    session: dict[str, Any] = created["portal_session"]
    assert re.fullmatch(rf"{stack.url}/portal/sign-in/[A-Za-z0-9_-]{{40,}}", session["url"])
    return session


async def test_a_portal_scoped_to_one_listener_reaches_nothing_else(
    stack: Stack, page: Page
) -> None:
    queue = (await api(stack, "POST", "/v1/queues", json={"name": "portal-q"}))["queue"]
    mine = await listener(stack, queue["id"], "acme-endpoint")
    sibling = await listener(stack, queue["id"], "other-customer")
    elsewhere_queue = (await api(stack, "POST", "/v1/queues", json={"name": "portal-r"}))["queue"]
    elsewhere = await listener(stack, elsewhere_queue["id"], "elsewhere")
    session = await portal(
        stack,
        queue_id=queue["id"],
        listener_ids=[mine["id"]],
        capabilities=["read", "manage_listeners"],
        branding={"title": "Acme webhooks", "accent_color": "#aa3300"},
    )

    await page.goto(session["url"])
    await expect(page).to_have_url(f"{stack.url}/portal")
    await expect(page.get_by_role("link", name="acme-endpoint")).to_be_visible()
    await expect(page.get_by_text("other-customer")).to_have_count(0)
    await expect(page.get_by_role("link", name="Acme webhooks")).to_be_visible()
    assert "#aa3300" in await (await page.request.get(f"{stack.url}/portal/branding.css")).text()
    await expect(page.get_by_role("button", name="Add endpoint")).to_have_count(0)

    for other in (sibling, elsewhere):
        response = await page.goto(f"{stack.url}/portal/listeners/{other['id']}")
        assert response is not None and response.status == 404
    console = await page.goto(f"{stack.url}/console")
    assert console is not None and console.url.startswith(f"{stack.url}/console/sign-in")
    async_api = await page.request.get(f"{stack.url}/v1/queues")
    assert async_api.status == 401  # the portal's cookie is no API credential

    await page.goto(f"{stack.url}/portal/listeners/{mine['id']}")
    await page.get_by_role("button", name="Rotate secret").click()
    rotated = await page.locator(".secret").inner_text()
    path = f"/v1/queues/{queue['id']}/listeners/{mine['id']}/secret"
    assert (await api(stack, "GET", path))["secret"] == rotated

    reused = await page.goto(session["url"])  # the link works once
    assert reused is not None and reused.status == 401
    await api(stack, "DELETE", f"/v1/portal-sessions/{session['id']}")
    ended = await page.goto(f"{stack.url}/portal")
    assert ended is not None and ended.status == 401


async def test_a_read_only_portal_shows_no_actions_and_refuses_them(
    stack: Stack, page: Page
) -> None:
    queue = (await api(stack, "POST", "/v1/queues", json={"name": "portal-read"}))["queue"]
    mine = await listener(stack, queue["id"], "read-only")
    session = await portal(stack, queue_id=queue["id"])
    await page.goto(session["url"])
    await page.get_by_role("link", name="read-only").click()
    await expect(page.get_by_role("button", name="Rotate secret")).to_have_count(0)
    await expect(page.get_by_role("button", name="Replay")).to_have_count(0)
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    refused = await page.request.post(
        f"{stack.url}/portal/listeners/{mine['id']}/secret",
        form={"rotate": "true"},
        headers={"x-csrftoken": cookies["csrftoken"]},  # a valid token: the capability decides
    )
    assert refused.status == 403
    assert "This portal does not allow that" in await refused.text()


async def test_portal_sessions_are_checked_when_opened(stack: Stack) -> None:
    queue = (await api(stack, "POST", "/v1/queues", json={"name": "portal-checks"}))["queue"]
    other_queue = (await api(stack, "POST", "/v1/queues", json={"name": "portal-other"}))["queue"]
    stranger = await listener(stack, other_queue["id"], "stranger")
    async with stack.client() as client:
        wrong_listener = await client.post(
            "/v1/portal-sessions",
            json={"queue_id": queue["id"], "listener_ids": [stranger["id"]]},
        )
        assert wrong_listener.status_code == 422
        assert wrong_listener.json()["errors"][0]["field"] == "listener_ids[0]"
        too_long = await client.post(
            "/v1/portal-sessions", json={"queue_id": queue["id"], "expires_in_s": 604_801}
        )
        assert too_long.status_code == 422
        bad_logo = await client.post(
            "/v1/portal-sessions",
            json={"queue_id": queue["id"], "branding": {"logo_url": "javascript:alert(1)"}},
        )
        assert bad_logo.status_code == 422
    _, other_key = await create_organization(Settings(database_url=stack.database_url), "o")
    async with stack.client() as client:
        foreign = await client.post(
            "/v1/portal-sessions",
            json={"queue_id": queue["id"]},
            headers={"X-API-KEY": other_key},
        )
    assert foreign.status_code == 404


async def test_a_replay_portal_sends_a_window_again(stack: Stack, page: Page) -> None:
    receiver = await Receiver().start()
    try:
        queue = (await api(stack, "POST", "/v1/queues", json={"name": "portal-replay"}))["queue"]
        body = {"name": "replayed", "notify_url": receiver.url("r")}
        await api(stack, "POST", f"/v1/queues/{queue['id']}/listeners", json=body)
        since = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
        await api(stack, "POST", f"/v1/queues/{queue['id']}/messages", content=b"{}")
        await wait_for(lambda: len(receiver.at("r")) == 1, what="the first delivery")
        session = await portal(stack, queue_id=queue["id"], capabilities=["read", "replay"])
        await page.goto(session["url"])
        await page.get_by_role("link", name="replayed").click()
        await page.get_by_label("Send again everything since (UTC)").fill(since)
        await page.get_by_role("button", name="Replay").click()
        await expect(page.locator("#notice")).to_have_text("1 deliveries will be sent again.")
        await wait_for(lambda: len(receiver.at("r")) == 2, what="the replayed delivery")
    finally:
        await receiver.stop()


async def test_an_end_customer_adds_an_endpoint_for_the_event_types_they_pick(
    stack: Stack, page: Page
) -> None:
    receiver = await Receiver().start()
    try:
        queue = (await api(stack, "POST", "/v1/queues", json={"name": "portal-types"}))["queue"]
        messages = f"/v1/queues/{queue['id']}/messages"
        for event_type in ("invoice.paid", "customer.created"):  # the catalog learns them
            await api(
                stack, "POST", messages, content=b"{}", headers={"herald-event-type": event_type}
            )
        session = await portal(stack, queue_id=queue["id"], capabilities=["manage_listeners"])
        await page.goto(session["url"])

        async def catalog_ready() -> bool:  # counts reach the catalog once a second
            await page.reload()
            return await page.get_by_role("checkbox", name="invoice.paid").count() == 1

        await wait_for(catalog_ready, what="the event types in the picker")
        await page.get_by_label("Name").fill("billing-endpoint")
        await page.get_by_label("URL").fill(receiver.url("hook"))
        await page.get_by_label("Only these:").check()
        await page.get_by_role("checkbox", name="invoice.paid").check()
        await page.get_by_role("button", name="Add endpoint").click()
        await expect(page.get_by_role("heading", name="billing-endpoint")).to_be_visible()
        endpoint_id = page.url.rsplit("/", 1)[1]
        path = f"/v1/queues/{queue['id']}/listeners/{endpoint_id}"
        assert (await api(stack, "GET", path))["listener"]["filter_types"] == ["invoice.paid"]

        for event_type in ("customer.created", "invoice.paid"):
            await api(
                stack,
                "POST",
                messages,
                content=event_type.encode(),
                headers={"herald-event-type": event_type},
            )
        await wait_for(lambda: len(receiver.at("hook")) == 1, what="the invoice")
        assert receiver.at("hook")[0].body == b"invoice.paid"

        await page.get_by_text("Choose event types").click()
        await page.get_by_label("Every event").check()
        await page.get_by_role("button", name="Save event types").click()
        await expect(page.locator(".fields")).to_contain_text("all")
        assert (await api(stack, "GET", path))["listener"]["filter_types"] is None
    finally:
        await receiver.stop()
