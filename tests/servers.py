"""Starts the embedded servers once per pytest run (in the xdist controller) and migrates.

xdist workers inherit the HERALD_* variables set here, so every process of the run
shares one Postgres, one Valkey and one Tansu. Set the variables yourself to test
against servers you run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from service.embedded.stack import EmbeddedStack
from service.lib.secrets import new_encryption_key
from service.migrate import upgrade

_stack: EmbeddedStack | None = None


def start_once() -> None:
    global _stack
    if os.environ.get("PYTEST_XDIST_WORKER") or _stack is not None:
        return
    data_dir = Path(tempfile.mkdtemp(prefix="herald-test-"))
    _stack = EmbeddedStack(data_dir, durable=False).start()
    os.environ.update(_stack.env())
    os.environ.setdefault("HERALD_SECRET_KEY", new_encryption_key())
    os.environ["HERALD_TEST_DATA_DIR"] = str(data_dir)
    upgrade(_stack.database_url)


def stop() -> None:
    global _stack
    if _stack is not None:
        _stack.stop()
        shutil.rmtree(_stack.data_dir, ignore_errors=True)
        _stack = None
