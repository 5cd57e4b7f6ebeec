"""The guarded egress for the reqwest client (pyreqwest): reqwest resolves names itself, so
Herald resolves them first through the same GuardedResolver as aiohttp's egress and hands
reqwest a client pinned to the checked address. A pinned client connects to that address
and to no other, whatever DNS says later; pins are refreshed every PIN_TTL_S (a name that
rebinds to a forbidden address is refused at the next refresh, before any connection).
Address literals were checked by Egress.refusal before this is asked; their URLs are
rewritten to the address Herald read, so reqwest connects to exactly that one.

Each client refuses redirects, never decompresses, ignores proxy variables, keeps no
cookies and verifies TLS (reqwest's defaults where not set here).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass

from pyreqwest.client import Client, ClientBuilder
from yarl import URL

from service.lib.targets import Target
from service.lib.webhook_headers import USER_AGENT
from workers.egress import GuardedResolver

PIN_TTL_S = 10.0  # as aiohttp's DNS cache in workers/egress.py
MAX_PINNED = 256  # hosts with a client kept (about 115 KB each); the least recent goes
MAX_ROUTES = 4096  # listener URLs whose host and port are remembered


@dataclass(slots=True)
class Pin:
    client: Client
    expires: float


class PinnedClients:
    def __init__(self, resolver: GuardedResolver, *, per_host: int) -> None:
        self.resolver = resolver
        self.per_host = per_host
        self._pins: OrderedDict[tuple[str, int], Pin] = OrderedDict()
        self._routes: dict[URL, tuple[tuple[str, int], str]] = {}
        self._literal = self._builder().build()
        self._closing: set[asyncio.Task[None]] = set()

    async def client_for(self, target: Target) -> tuple[Client, str]:
        """The client to reach `target` with, and the URL to hand it. Raises
        BlockedDestination when the host resolves to a forbidden address, OSError when it
        does not resolve."""
        if target.address is not None:
            return self._literal, str(target.url.with_host(str(target.address)))
        route = self._routes.get(target.url)
        if route is None:
            if len(self._routes) >= MAX_ROUTES:
                self._routes.clear()
            port = target.url.port or (443 if target.url.scheme == "https" else 80)
            route = self._routes[target.url] = ((target.host, port), str(target.url))
        key, url = route
        pin = self._pins.get(key)
        now = time.monotonic()
        if pin is None or pin.expires <= now:
            pin = await self._pin(key, pin, now)
        elif len(self._pins) > 1:
            self._pins.move_to_end(key)
        return pin.client, url

    async def _pin(self, key: tuple[str, int], old: Pin | None, now: float) -> Pin:
        host, port = key
        results = await self.resolver.resolve(host, port, socket.AF_UNSPEC)
        client = self._builder().resolve(host, results[0]["host"], port).build()
        if old is not None:
            self._close_later(old.client)
        pin = self._pins[key] = Pin(client, now + PIN_TTL_S)
        self._pins.move_to_end(key)
        while len(self._pins) > MAX_PINNED:
            _, oldest = self._pins.popitem(last=False)
            self._close_later(oldest.client)
        return pin

    def _builder(self) -> ClientBuilder:
        return (
            ClientBuilder()
            .follow_redirects(False)
            .gzip(False)
            .brotli(False)
            .zstd(False)
            .deflate(False)
            .no_proxy()
            .user_agent(USER_AGENT)
            .max_connections(self.per_host)
        )

    def _close_later(self, client: Client) -> None:
        """Requests under way on a replaced client finish; then it closes."""
        task = asyncio.get_running_loop().create_task(_close_when_idle(client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        for pin in self._pins.values():
            await pin.client.close()
        self._pins.clear()
        await self._literal.close()


async def _close_when_idle(client: Client) -> None:
    await asyncio.sleep(PIN_TTL_S * 30)  # longer than any attempt's deadline (300 s)
    await client.close()
