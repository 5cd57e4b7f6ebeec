"""`herald listen`: a local receiver that prints every webhook it gets and whether its
signature verifies, for a developer writing their own receiver. Loopback by default."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from herald_client.verify import InvalidSignature, verify

MAX_BODY = 5 * 1024 * 1024  # larger requests are answered 413 unread
SHOWN_BODY = 4000  # characters of a body printed
SHOWN_HEADERS = ("webhook-id", "webhook-timestamp", "herald-event-type", "herald-attempt")


def check(body: bytes, headers: dict[str, str], secret: str | None) -> str:
    """ "verified", "INVALID: why", or "unchecked" (no secret given)."""
    if secret is None:
        return "unchecked"
    try:
        verify(body, headers, secret)
    except InvalidSignature as exc:
        return f"INVALID: {exc}"
    return "verified"


def describe(method: str, path: str, headers: dict[str, str], body: bytes, verdict: str) -> str:
    """A webhook as a few readable lines: what, its ids, the signature verdict, the body."""
    at = datetime.now(UTC).strftime("%H:%M:%S")
    lines = [f"{at} {method} {path}  signature {verdict}"]
    lines += [f"  {name}: {headers[name]}" for name in SHOWN_HEADERS if name in headers]
    text = body.decode("utf-8", errors="replace")
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    if len(text) > SHOWN_BODY:
        text = text[:SHOWN_BODY] + f"\n  ... ({len(body)} bytes)"
    lines += ["  " + line for line in text.splitlines()]
    return "\n".join(lines)


def serve(host: str, port: int, secret: str | None, *, as_json: bool, status: int) -> None:
    """Answers every POST with `status` and prints it, until Ctrl-C."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self.send_error(413)
                return
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            verdict = check(body, headers, secret)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()
            if as_json:
                record: dict[str, Any] = {
                    "path": self.path,
                    "headers": headers,
                    "body": body.decode("utf-8", errors="replace"),
                    "signature": verdict,
                }
                print(json.dumps(record), flush=True)
            else:
                print(describe("POST", self.path, headers, body, verdict), flush=True)

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # each webhook is printed above; no access log

    def stop(*_: object) -> None:
        raise KeyboardInterrupt  # SIGTERM ends it as Ctrl-C does (cleanups run)

    signal.signal(signal.SIGTERM, stop)
    server = ThreadingHTTPServer((host, port), Handler)
    print(f"listening on http://{host}:{server.server_port}/ (Ctrl-C stops)", file=sys.stderr)
    sys.stderr.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
