"""The interactive API docs load nothing from outside the server."""

from __future__ import annotations

import re

import httpx


async def test_the_docs_page_loads_only_assets_the_server_serves(http: httpx.AsyncClient) -> None:
    page = await http.get("/schema/swagger")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert len(urls) >= 4  # the bundle, the preset, the stylesheet, the icon
    for url in urls:
        assert url.startswith("/schema/assets/"), url
        asset = await http.get(url)
        assert asset.status_code == 200 and len(asset.content) > 500, url
