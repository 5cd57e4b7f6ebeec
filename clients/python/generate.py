"""Regenerates the client's derived code: `models.py` from Herald's OpenAPI document
(datamodel-code-generator), and the sync client `_sync/client.py` from the async one
(unasync). Run `make client` after changing the API or `_async/client.py`; a test fails
when the committed files differ from what this produces.

    python clients/python/generate.py [--openapi FILE] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import unasync

PACKAGE = Path(__file__).parent / "src" / "herald_client"
MODELS_OPTIONS = [
    "--input-file-type=openapi",
    "--output-model-type=msgspec.Struct",
    "--target-python-version=3.11",
    "--use-annotated",
    "--disable-timestamp",
    "--output-datetime-class=datetime",
    "--collapse-root-models",
    "--enum-field-as-literal=all",
    "--use-title-as-name",
    "--formatters=ruff-format",
]
SYNC_NAMES = {
    "AsyncHerald": "Herald",
    "AsyncClient": "Client",
    "AsyncBaseTransport": "BaseTransport",
    "AsyncIterator": "Iterator",
    "AsyncIterable": "Iterable",
    "aclose": "close",
    "aiter_bytes": "iter_bytes",
    "aiter_lines": "iter_lines",
    "aread": "read",
    "asyncio": "time",
}

SYNC_DOCSTRING = '''"""`Herald`: the sync client, generated from `_async/client.py` by generate.py
(unasync). Do not edit: change the async client and run `make client`."""'''


def openapi_document() -> dict[str, object]:
    """Herald's OpenAPI document, built from the application without serving it."""
    from cryptography.fernet import Fernet

    from service.app import create_app
    from service.config import Settings

    settings = Settings(
        database_url="postgresql+asyncpg://herald@127.0.0.1/unused",
        secret_key=Fernet.generate_key().decode(),
    )
    document: dict[str, object] = create_app(settings).openapi_schema.to_schema()
    return document


def generate(document: dict[str, object], out: Path) -> None:
    """Writes models.py and _sync/client.py for `document` under `out` (a package dir)."""
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "openapi.json"
        # Sorted, so that models come out the same whatever order a server lists things in.
        source.write_text(json.dumps(document, default=str, sort_keys=True))
        subprocess.run(
            [
                str(Path(sys.executable).with_name("datamodel-codegen")),
                f"--input={source}",
                f"--output={out / 'models.py'}",
                *MODELS_OPTIONS,
            ],
            check=True,
            capture_output=True,
        )
        async_dir, sync_dir = Path(scratch) / "_async", Path(scratch) / "_sync"
        async_dir.mkdir()
        shutil.copy(PACKAGE / "_async" / "client.py", async_dir / "client.py")
        rule = unasync.Rule(f"{async_dir}/", f"{sync_dir}/", additional_replacements=SYNC_NAMES)
        unasync.unasync_files([str(async_dir / "client.py")], rules=[rule])
        text = (sync_dir / "client.py").read_text()
        (out / "_sync").mkdir(exist_ok=True)
        target = out / "_sync" / "client.py"
        target.write_text(SYNC_DOCSTRING + text[text.index('"""', 3) + 3 :])
        for generated in (target, out / "models.py"):
            tidy(generated)


def tidy(path: Path) -> None:
    """Imports sorted and code formatted the same wherever the file is written (no
    configuration file is read)."""
    ruff = str(Path(sys.executable).with_name("ruff"))
    options = ["--isolated", "--line-length=100", "--target-version=py311"]
    first_party = "--config=lint.isort.known-first-party=['herald_client']"
    subprocess.run(
        [ruff, "check", "-q", *options, first_party, "--fix", "--select=I", str(path)], check=True
    )
    skip_commas = "--config=format.skip-magic-trailing-comma=true"
    subprocess.run([ruff, "format", "-q", *options, skip_commas, str(path)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openapi", type=Path, help="a saved /schema/openapi.json")
    parser.add_argument("--out", type=Path, default=PACKAGE)
    args = parser.parse_args()
    document = json.loads(args.openapi.read_text()) if args.openapi else openapi_document()
    generate(document, args.out)


if __name__ == "__main__":
    main()
