"""A real local HTTP receiver for delivery tests, verifying every signature it gets."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from service.embedded.process import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    signature_valid: bool | None = None


Behaviour = Callable[[web.Request, int], Awaitable[web.StreamResponse]]


async def ok(_: web.Request, __: int) -> web.StreamResponse:
    return web.Response(text="ok")


@dataclass
class Receiver:
    """Serves /<name> paths; each path's behaviour is set by the test, default 200."""

    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    secrets: dict[str, list[str]] = field(default_factory=dict)
    active: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None  # serves HTTPS with it when set
    _runner: web.AppRunner | None = None

    def url(self, name: str, host: str = "127.0.0.1") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}/{name}"

    def on(self, name: str, behaviour: Behaviour) -> None:
        self.behaviours[name] = behaviour

    def verify_with(self, name: str, *secrets: str) -> None:
        self.secrets[name] = list(secrets)

    def at(self, name: str) -> list[Received]:
        return [r for r in self.received if r.path == name]

    async def start(self) -> Receiver:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{name}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.tls).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        record = Received(name, headers, body, time.monotonic(), self._verify(name, headers, body))
        self.received.append(record)
        self.active[name] = self.active.get(name, 0) + 1
        self.peak[name] = max(self.peak.get(name, 0), self.active[name])
        try:
            return await self.behaviours.get(name, ok)(request, len(self.at(name)))
        finally:
            self.active[name] -= 1

    def _verify(self, name: str, headers: dict[str, str], body: bytes) -> bool | None:
        secrets = self.secrets.get(name)
        if not secrets or "webhook-signature" not in headers:
            return None
        for secret in secrets:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                return False
            except ValueError:
                pass  # verified; the package then parses the body as JSON, which it need not be
        return True


def statuses(*codes: int) -> Behaviour:
    """Answers the n-th request with codes[n-1], then repeats the last one."""

    async def behaviour(_: web.Request, n: int) -> web.StreamResponse:
        return web.Response(status=codes[min(n, len(codes)) - 1], text="answer")

    return behaviour


def hang() -> Behaviour:
    async def behaviour(_: web.Request, __: int) -> web.StreamResponse:
        await asyncio.sleep(3600)
        return web.Response()

    return behaviour


async def wait_for(
    predicate: Callable[[], bool | Awaitable[bool]], timeout_s: float = 15.0, what: str = ""
) -> None:
    """Polls `predicate` until it holds; fails after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what or predicate}")
        await asyncio.sleep(0.02)
