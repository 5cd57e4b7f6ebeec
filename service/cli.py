"""The `herald` command's server verbs: dev, api, worker, migrate, orgs create, secrets
rotate. The everyday verbs are the client's (herald_client.cli); each hands over the other's."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from service.config import Settings


def _api(args: argparse.Namespace) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    settings = Settings()
    port = args.port or settings.port
    Granian(
        "service.asgi:create",
        factory=True,
        address=settings.host,
        port=port,
        interface=Interfaces.ASGI,
        workers=settings.api_workers,
        log_access=False,
    ).serve()


def _worker(_: argparse.Namespace) -> None:
    # The API package never imports the workers package: hand the process over instead.
    os.execv(sys.executable, [sys.executable, "-m", "workers"])


def _migrate(_: argparse.Namespace) -> None:
    from service.migrate import upgrade

    upgrade(Settings().database_url)
    print("migrated to head", flush=True)


def _orgs_create(args: argparse.Namespace) -> None:
    from service.orgs import create_organization

    org_id, key = asyncio.run(create_organization(Settings(), args.name))
    print(f"HERALD_ORG_ID={org_id}\nHERALD_API_KEY={key}", flush=True)


def _secrets_rotate(_: argparse.Namespace) -> None:
    from service.db.engine import create_pg_pool
    from service.lib.secrets import SecretBox
    from service.secret_keys import SecretKeyMismatch, rotate_secret_keys

    async def rotate() -> int:
        settings = Settings()
        pool = await create_pg_pool(settings, 2, name="herald-secrets")
        try:
            return await rotate_secret_keys(pool, SecretBox(settings.secret_key))
        finally:
            await pool.close()

    try:
        count = asyncio.run(rotate())
    except SecretKeyMismatch as exc:
        sys.exit(str(exc))
    print(f"resealed the secrets of {count} listener(s) with the first key", flush=True)


def _dev(args: argparse.Namespace) -> None:
    from service.devserver import run_dev

    sys.exit(run_dev(port=args.port, data_dir=Path(args.data_dir)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="herald", description="Herald webhook delivery service")
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="everything on embedded servers, one command")
    dev.add_argument("--port", type=int, default=8080, help="API port (default 8080)")
    dev.add_argument(
        "--data-dir", default=".herald", help="where dev state lives (default .herald)"
    )
    dev.set_defaults(run=_dev)

    api = commands.add_parser("api", help="serve the HTTP API (granian)")
    api.add_argument("--port", type=int, default=None)
    api.set_defaults(run=_api)

    commands.add_parser("worker", help="run a delivery worker (arq)").set_defaults(run=_worker)
    commands.add_parser("migrate", help="alembic upgrade head").set_defaults(run=_migrate)

    orgs = commands.add_parser("orgs", help="organizations").add_subparsers(
        dest="orgs", required=True
    )
    create = orgs.add_parser("create", help="create an organization and print its first API key")
    create.add_argument("name")
    create.set_defaults(run=_orgs_create)

    secrets = commands.add_parser("secrets", help="HERALD_SECRET_KEY").add_subparsers(
        dest="secrets", required=True
    )
    secrets.add_parser(
        "rotate", help="re-encrypt stored secrets with the first key of HERALD_SECRET_KEY"
    ).set_defaults(run=_secrets_rotate)
    return parser


SERVER_VERBS = ("dev", "api", "worker", "migrate", "orgs", "secrets")


def main(argv: list[str] | None = None) -> None:
    """The server's verbs; the others (queues, listeners, send, tail, listen...) belong to
    the client package's command line (clients/python), which this hands over to."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] not in SERVER_VERBS and not argv[0].startswith("-"):
        try:
            from herald_client.cli import main as client_main
        except ImportError:
            sys.exit(
                f"herald {argv[0]}: the everyday verbs come with the client package "
                "(pip install ./clients/python); this install has the server's only"
            )
        sys.exit(client_main(argv))
    args = build_parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
