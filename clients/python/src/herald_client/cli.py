"""The `herald` command's everyday verbs, on the client: queues, listeners, send, tail,
attempts, retry, replay, secret, listen. Every verb reads HERALD_URL and HERALD_API_KEY
(or --server, --api-key) and prints a table, or JSON with --json. The server's verbs (dev,
api, worker, migrate, orgs, secrets) belong to the server package, which this hands over
to when it is installed.

Exit codes: 0 done, 1 Herald refused the request (its problem is printed), 2 a usage error,
3 Herald could not be reached, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

from herald_client import models
from herald_client._sync.client import Herald
from herald_client.errors import HeraldError
from herald_client.listen import serve

SERVER_VERBS = ("dev", "api", "worker", "migrate", "orgs", "secrets")
DEFAULT_URL = "http://127.0.0.1:8080"
TAIL_EVERY_S = 1.0
TAIL_WATCHING = 500  # messages whose deliveries tail still follows
FINISHED = ("delivered", "failed", "cancelled")
COLOURS = {"delivered": "32", "failed": "31", "cancelled": "31", "pending": "33"}


class Output:
    """Tables for people, JSON (one document, or one line per event) for scripts, or
    (`quiet`) just the id of what was created."""

    def __init__(self, as_json: bool, quiet: bool = False) -> None:
        self.as_json = as_json
        self.quiet = quiet
        self.colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def value(self, value: Any) -> None:
        print(msgspec.json.encode(value).decode() if self.as_json else value)

    def rows(self, items: Iterable[Any], columns: Sequence[str]) -> None:
        items = list(items)
        if self.as_json:
            print(msgspec.json.encode(items).decode())
            return
        cells = [[_cell(getattr(item, column, "")) for column in columns] for item in items]
        widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
        print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
        for row in cells:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())

    def paint(self, text: str, status: str) -> str:
        code = COLOURS.get(status)
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour and code else text


def _cell(value: Any) -> str:
    if value is None or value is msgspec.UNSET:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


# --- Verbs -------------------------------------------------------------------------------


def queues_ls(herald: Herald, out: Output, _: argparse.Namespace) -> None:
    out.rows(herald.list_queues(), ["id", "name", "event_type_field", "created_at"])


def queues_create(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    fields = _given(event_type_field=args.event_type_field, retention_days=args.retention_days)
    out.value(_show(herald.create_queue(args.name, **fields), out))


def queues_rm(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    herald.delete_queue(args.queue)
    _done(out, f"deleted queue {args.queue}")


def listeners_ls(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    columns = ["id", "name", "status", "notify_url", "filter_types"]
    out.rows(herald.list_listeners(args.queue), columns)


def listeners_create(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    listener = herald.create_listener(args.queue, args.name, **_listener_fields(args))
    out.value(_show(listener, out))


def listeners_edit(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    changes = _listener_fields(args)
    if args.name:
        changes["name"] = args.name
    if not changes:
        raise Usage("nothing to change: give --name, --url, --event-types, ...")
    out.value(_show(herald.update_listener(args.queue, args.listener, **changes), out))


def listeners_pause(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    out.value(_show(herald.update_listener(args.queue, args.listener, enabled=False), out))


def listeners_resume(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    out.value(_show(herald.update_listener(args.queue, args.listener, enabled=True), out))


def listeners_rm(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    herald.delete_listener(args.queue, args.listener)
    _done(out, f"deleted listener {args.listener}")


def send(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    """A file or stdin: one message, or one per line with --ndjson."""
    body = sys.stdin.buffer.read() if args.file in (None, "-") else Path(args.file).read_bytes()
    content_type = "application/x-ndjson" if args.ndjson else args.content_type
    result = herald.send(
        args.queue,
        body,
        content_type=content_type,
        event_type=args.event_type,
        wait=True,
        gzip_body=args.gzip,
    )
    if out.as_json:
        out.value(result)
        return
    print(f"batch {result.batch_id}: {result.accepted} accepted, {result.rejected} rejected")
    if isinstance(result, models.IngestResult):
        for message in result.messages or []:
            print(f"  message {message.id}")
        for failure in result.failures or []:
            print(f"  item {failure.index} rejected: {failure.reason}")


def tail(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    """New messages of the queue, then each of their deliveries as its status changes,
    until Ctrl-C."""
    names = {listener.id: listener.name for listener in herald.list_listeners(args.queue)}
    newest = next(iter(_first(herald.list_messages(args.queue))), None)
    seen_id = newest.id if newest else ""
    watching: dict[str, dict[str, str]] = {}  # message -> listener -> last status shown
    while True:
        for message in reversed(_newer(herald, args.queue, seen_id)):
            seen_id = message.id
            watching[message.id] = {}
            while len(watching) > TAIL_WATCHING:
                watching.pop(next(iter(watching)))
        for message_id, shown in list(watching.items()):
            detail = herald.get_message(args.queue, message_id)
            for delivery in detail.deliveries:
                if shown.get(delivery.listener_id) == delivery.status:
                    continue
                shown[delivery.listener_id] = delivery.status
                _print_delivery(out, detail.message, delivery, names)
            if detail.deliveries and all(d.status in FINISHED for d in detail.deliveries):
                del watching[message_id]
        time.sleep(TAIL_EVERY_S)


def attempts(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    columns = ["number", "started_at", "duration_ms", "status_code", "error", "response_body"]
    out.rows(herald.list_attempts(args.queue, args.listener, args.delivery), columns)


def retry(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    herald.retry(args.queue, args.listener, args.delivery)
    _done(out, f"delivery {args.delivery} will be sent again")


def replay(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    status = "all" if args.all else "failed"
    result = herald.replay(args.queue, args.listener, args.since, args.until, status)
    if out.as_json:
        out.value(result)
    else:
        print(f"{result.replayed} deliveries will be sent again")


def secret(herald: Herald, out: Output, args: argparse.Namespace) -> None:
    if args.action == "rotate":
        value = herald.rotate_secret(args.queue, args.listener)
    else:
        value = herald.get_secret(args.queue, args.listener)
    out.value({"secret": value} if out.as_json else value)


def listen(herald: Herald | None, out: Output, args: argparse.Namespace) -> None:
    """The local receiver; with --queue it also registers itself as a listener of that
    queue (verifying with the listener's own secret) and removes it when stopped."""
    if args.queue is None or herald is None:
        serve(args.host, args.port, args.secret, as_json=out.as_json, status=args.status)
        return
    url = f"http://{args.host}:{args.port}/"
    listener = herald.create_listener(args.queue, f"herald listen :{args.port}", notify_url=url)
    print(f"listener {listener.id} of queue {args.queue} delivers here", file=sys.stderr)
    try:
        secret = herald.get_secret(args.queue, listener.id)
        serve(args.host, args.port, secret, as_json=out.as_json, status=args.status)
    finally:
        herald.delete_listener(args.queue, listener.id)


# --- Helpers -----------------------------------------------------------------------------


class Usage(Exception):
    """A command line that cannot be run as given."""


def _given(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _listener_fields(args: argparse.Namespace) -> dict[str, Any]:
    fields = _given(
        notify_url=args.url,
        liveness_url=args.liveness_url,
        max_attempts=args.max_attempts,
        rate_limit_per_s=args.rate_limit,
    )
    if args.event_types is not None:
        types = [t.strip() for t in args.event_types.split(",") if t.strip()]
        fields["filter_types"] = types or None
    if args.header:
        headers = {}
        for header in args.header:
            name, colon, value = header.partition(":")
            if not colon or not name.strip():
                raise Usage(f"--header {header!r}: write it as 'Name: value'")
            headers[name.strip()] = value.strip()
        fields["headers"] = headers
    return fields


def _show(value: Any, out: Output) -> Any:
    """A created or changed resource: itself as JSON, its id (quiet), else its fields a
    line each."""
    if out.as_json:
        return value
    if out.quiet:
        return value.id
    fields = msgspec.structs.asdict(value)
    width = max(len(name) for name in fields)
    shown = {name: v for name, v in fields.items() if not name.startswith("field_")}
    return "\n".join(f"{name.ljust(width)}  {_cell(v)}" for name, v in shown.items())


def _done(out: Output, what: str) -> None:
    out.value({"ok": True} if out.as_json else what)


def _first(messages: Iterable[models.MessageView]) -> list[models.MessageView]:
    for message in messages:
        return [message]
    return []


def _newer(herald: Herald, queue_id: str, seen_id: str) -> list[models.MessageView]:
    """The messages after `seen_id`, newest first (ids grow with time)."""
    newer = []
    for message in herald.list_messages(queue_id):
        if seen_id and message.id <= seen_id:
            break
        newer.append(message)
        if not seen_id or len(newer) >= TAIL_WATCHING:
            break
    return newer


def _print_delivery(
    out: Output, message: models.MessageView, delivery: models.DeliveryView, names: dict[str, str]
) -> None:
    if out.as_json:
        print(msgspec.json.encode({"message": message, "delivery": delivery}).decode())
        return
    at = datetime.now(UTC).strftime("%H:%M:%S")
    status = out.paint(delivery.status.ljust(9), delivery.status)
    code = f" {delivery.last_status_code}" if delivery.last_status_code else ""
    error = f" {delivery.last_error}" if delivery.last_error else ""
    listener = names.get(delivery.listener_id, delivery.listener_id)
    event_type = f" {message.event_type}" if message.event_type else ""
    print(
        f"{at} {status} {message.id}{event_type} -> {listener}"
        f" (attempt {delivery.attempts}){code}{error}",
        flush=True,
    )


def _time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: a time such as 2026-12-01T10:00") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- The command line --------------------------------------------------------------------

Verb = Callable[[Any, Output, argparse.Namespace], None]


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--server",
        default=os.environ.get("HERALD_URL", DEFAULT_URL),
        help="Herald's URL (HERALD_URL, default " + DEFAULT_URL + ")",
    )
    common.add_argument(
        "--api-key", default=os.environ.get("HERALD_API_KEY"), help="(HERALD_API_KEY)"
    )
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    common.add_argument(
        "-q", "--quiet", action="store_true", help="print only the id of what is created"
    )
    parser = argparse.ArgumentParser(
        prog="herald",
        description="Herald's command line. Server verbs: " + ", ".join(SERVER_VERBS) + ".",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(parent: Any, name: str, run: Verb, help: str) -> argparse.ArgumentParser:
        command: argparse.ArgumentParser = parent.add_parser(name, parents=[common], help=help)
        command.set_defaults(run=run)
        return command

    queues = verbs.add_parser("queues", help="list, create, delete queues").add_subparsers(
        dest="action", required=True
    )
    verb(queues, "ls", queues_ls, "the organization's queues")
    create = verb(queues, "create", queues_create, "a new queue")
    create.add_argument("name")
    create.add_argument("--event-type-field", help="JSON pointer to the event type, e.g. /type")
    create.add_argument("--retention-days", type=int)
    verb(queues, "rm", queues_rm, "delete a queue").add_argument("queue")

    listeners = verbs.add_parser("listeners", help="a queue's listeners").add_subparsers(
        dest="action", required=True
    )
    verb(listeners, "ls", listeners_ls, "a queue's listeners").add_argument("queue")
    for name, run in (("create", listeners_create), ("edit", listeners_edit)):
        command = verb(listeners, name, run, f"{name} a listener")
        command.add_argument("queue")
        if name == "create":
            command.add_argument("name")
            command.add_argument("--url", required=True, help="where webhooks are POSTed")
        else:
            command.add_argument("listener")
            command.add_argument("--name")
            command.add_argument("--url")
        command.add_argument("--liveness-url")
        command.add_argument("--event-types", help="comma-separated; empty: every message")
        command.add_argument("--header", action="append", help="'Name: value', repeatable")
        command.add_argument("--max-attempts", type=int)
        command.add_argument("--rate-limit", type=float, help="deliveries per second")
    for name, run in (
        ("pause", listeners_pause),
        ("resume", listeners_resume),
        ("rm", listeners_rm),
    ):
        command = verb(listeners, name, run, f"{name} a listener")
        command.add_argument("queue")
        command.add_argument("listener")

    command = verb(verbs, "send", send, "send a file or stdin as messages")
    command.add_argument("queue")
    command.add_argument("file", nargs="?", help="a file, or - (the default) for stdin")
    command.add_argument("--ndjson", action="store_true", help="one message per line")
    command.add_argument("--gzip", action="store_true", help="compress the request")
    command.add_argument("--event-type")
    command.add_argument("--content-type", default="application/json")

    verb(verbs, "tail", tail, "deliveries of a queue as they happen").add_argument("queue")

    for name, run, text in (
        ("attempts", attempts, "a delivery's attempts"),
        ("retry", retry, "send a finished delivery again"),
    ):
        command = verb(verbs, name, run, text)
        command.add_argument("queue")
        command.add_argument("listener")
        command.add_argument("delivery", help="the delivery's id (its message's id)")

    command = verb(verbs, "replay", replay, "send a listener's messages of a window again")
    command.add_argument("queue")
    command.add_argument("listener")
    command.add_argument("--since", type=_time, required=True, help="UTC unless a zone is given")
    command.add_argument("--until", type=_time)
    command.add_argument("--all", action="store_true", help="also what was delivered")

    command = verb(verbs, "secret", secret, "show or rotate a listener's signing secret")
    command.add_argument("action", choices=["show", "rotate"])
    command.add_argument("queue")
    command.add_argument("listener")

    command = verb(verbs, "listen", listen, "a local receiver that prints each webhook")
    command.add_argument("--port", type=int, default=9000)
    command.add_argument("--host", default="127.0.0.1")
    command.add_argument("--secret", help="whsec_...: check each webhook's signature")
    command.add_argument(
        "--queue", help="register a listener of this queue that delivers here, until stopped"
    )
    command.add_argument("--status", type=int, default=200, help="the status to answer")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SERVER_VERBS:
        return _server(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Output(args.json, args.quiet)
    try:
        if args.run is listen and args.queue is None:
            listen(None, out, args)
            return 0
        if not args.api_key:
            raise Usage("set HERALD_API_KEY (or --api-key)")
        with Herald(args.server, args.api_key) as herald:
            args.run(herald, out, args)
    except Usage as exc:
        parser.error(str(exc))
    except HeraldError as exc:
        print(f"error: {exc.status} {exc.title}: {exc.detail}", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error.get('field', '')}: {error.get('message', '')}", file=sys.stderr)
        return 1
    except httpx.TransportError as exc:
        print(f"error: cannot reach Herald at {args.server}: {exc}", file=sys.stderr)
        return 3
    except (ValueError, TypeError) as exc:  # a field the client checked before sending
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def _server(argv: list[str]) -> int:
    try:
        from service.cli import main as server_main  # type: ignore[import-untyped]
    except ImportError:
        print(f"error: `herald {argv[0]}` needs the Herald server installed", file=sys.stderr)
        return 2
    server_main(argv)
    return 0
