"""Screenshots of the console and the portal for the docs: `make screenshots`.

Starts `herald dev` (embedded servers), fills it with a small example through the API,
drives Debian's Chromium over the main pages at 1280 px and at phone width, and writes
docs/screenshots/*.png.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

import httpx
from aiohttp import web
from playwright.async_api import async_playwright

OUT = Path(__file__).parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run"]


async def start_herald() -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    env = {**os.environ, "HERALD_PORT": "8765", "HERALD_ALLOW_PRIVATE_TARGETS": "true"}
    data_dir = tempfile.mkdtemp(prefix="herald-screenshots-")  # a fresh example every time
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.cli",
        "dev",
        "--data-dir",
        data_dir,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    found: dict[str, str] = {}
    assert process.stdout is not None
    while "HERALD_REDIS_URL" not in found:
        line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode().strip()
        if "=" in line:
            name, _, value = line.partition("=")
            found[name] = value
    return process, found


async def receiver() -> web.AppRunner:
    async def answer(request: web.Request) -> web.Response:
        failing = request.match_info["name"] == "crm"
        return web.Response(status=503 if failing else 200, text="busy" if failing else "ok")

    app = web.Application()
    app.router.add_post("/{name}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 8766).start()
    return runner


async def example(url: str, key: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=url, headers={"X-API-KEY": key}) as client:
        queue = (
            await client.post("/v1/queues", json={"name": "billing", "event_type_field": "/type"})
        ).json()["queue"]
        listeners = {}
        for name, extra in (
            ("finance", {"filter_types": ["invoice.*"], "filter": {"/amount": {"$gt": 100}}}),
            ("crm", {"filter_types": ["customer.*"], "max_attempts": 2, "retry_schedule_s": [1]}),
            ("warehouse", {}),
        ):
            body = {"name": name, "notify_url": f"http://127.0.0.1:8766/{name}", **extra}
            listeners[name] = (
                await client.post(f"/v1/queues/{queue['id']}/listeners", json=body)
            ).json()["listener"]["id"]
        lines = [
            b'{"type": "invoice.paid", "amount": %d, "currency": "EUR"}' % (50 * n)
            for n in range(1, 8)
        ] + [b'{"type": "customer.created", "id": "c%d"}' % n for n in range(3)]
        sent = (
            await client.post(
                f"/v1/queues/{queue['id']}/messages",
                content=b"\n".join(lines),
                headers={"content-type": "application/x-ndjson", "sync": "1"},
            )
        ).json()
        portal = (
            await client.post(
                "/v1/portal-sessions",
                json={
                    "queue_id": queue["id"],
                    "listener_ids": [listeners["crm"]],
                    "capabilities": ["read", "manage_listeners", "replay"],
                    "branding": {"title": "Acme webhooks", "accent_color": "#b4441e"},
                },
            )
        ).json()["portal_session"]
    return {
        "queue": queue["id"],
        "crm": listeners["crm"],
        "message": sent["messages"][-1]["id"],
        "portal": portal["url"],
    }


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    herald, found = await start_herald()
    runner = await receiver()
    try:
        url, key = found["HERALD_URL"], found["HERALD_API_KEY"]
        ids = await example(url, key)
        await asyncio.sleep(4)  # the failing deliveries run out of attempts
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for width, suffix in ((1280, ""), (390, "-phone")):
                page = await browser.new_page(viewport={"width": width, "height": 860})
                await page.goto(f"{url}/console/sign-in")
                await page.get_by_label("API key").fill(key)
                await page.get_by_role("button", name="Sign in").click()
                pages = {
                    "console-queues": "/console",
                    "console-queue": f"/console/queues/{ids['queue']}",
                    "console-listener": f"/console/queues/{ids['queue']}/listeners/{ids['crm']}",
                    "console-message": f"/console/queues/{ids['queue']}/messages/{ids['message']}",
                    "console-batches": f"/console/queues/{ids['queue']}/batches",
                }
                for name, path in pages.items():
                    await page.goto(f"{url}{path}")
                    await page.screenshot(path=OUT / f"{name}{suffix}.png", full_page=True)
                await page.close()
            page = await browser.new_page(viewport={"width": 1280, "height": 860})
            await page.goto(ids["portal"])
            await page.get_by_role("link", name="crm").click()
            await page.screenshot(path=OUT / "portal-listener.png", full_page=True)
            await browser.close()
    finally:
        await runner.cleanup()
        herald.terminate()
        await herald.wait()


if __name__ == "__main__":
    asyncio.run(main())
