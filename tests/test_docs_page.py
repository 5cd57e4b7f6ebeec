"""The /schema page in a real browser (Debian's Chromium): it renders the API with nothing
fetched from outside the server, as on a network without internet access."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Request, async_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.stack import Stack


async def test_the_docs_page_renders_every_tag_from_the_server_alone(stack: Stack) -> None:
    outside: list[str] = []

    def watch(request: Request) -> None:
        if urlsplit(request.url).hostname not in ("127.0.0.1", None):
            outside.append(request.url)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.on("request", watch)
            await page.goto(f"{stack.url}/schema", wait_until="networkidle")
            await page.wait_for_selector(".opblock-tag", timeout=15_000)
            tags = await page.locator(".opblock-tag").all_inner_texts()
            operations = await page.locator(".opblock").count()
        finally:
            await browser.close()
    assert {"queues", "listeners", "messages", "deliveries"} <= {t.strip() for t in tags}
    assert operations >= 30
    assert outside == []
