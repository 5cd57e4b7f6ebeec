"""The benchmark harness itself works: every scenario runs end to end on tiny numbers and
publishes its figures and the latency chart. (Speed is never asserted here.)"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

SCENARIO_ROWS = {
    "ingest-single", "ingest-batch", "ingest-filtered", "ingest-validated", "deliver-1", "fanout-10", "isolation", "kafka", "latency",
    "backlog-ingest", "backlog-deliver", "noisy-tenant", "noisy-tenant-ingest", "console-pages", "scale-out", "memory-api", "memory-worker",
}  # fmt: skip


async def test_every_scenario_runs_and_publishes_its_figures(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}  # its own servers
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.run", "--smoke", "--runs", "1", "--output", str(tmp_path),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    assert process.returncode == 0, out.decode()[-3000:]

    results = json.loads((tmp_path / "latest.json").read_text())
    assert set(results) == SCENARIO_ROWS
    for name, row in results.items():
        assert row["value"] > 0, name
        assert {"unit", "target", "runs"} <= set(row), name
        if row.get("baseline") is not None:
            assert row["ratio"] == row["value"] / row["baseline"], name
    curve = results["latency"]["curve"]
    assert curve and all(0 < point["p50"] <= point["p99"] for point in curve)
    assert (tmp_path / "latency.png").read_bytes().startswith(b"\x89PNG")
    printed = out.decode()
    assert all(name in printed for name in SCENARIO_ROWS)


async def test_cpu_split_reports_each_process_for_webhooks_and_kafka() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    for kind, unit in (("webhook", "deliveries/s"), ("kafka", "records/s")):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.cpu_split", kind, "3000",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(process.communicate(), timeout=300)
        printed = out.decode()
        assert process.returncode == 0, printed[-3000:]
        herald = next(line for line in printed.splitlines() if line.startswith("herald"))
        assert unit in herald and " worker " in herald and " postgres " in herald, herald
        if kind == "webhook":
            assert "raw http" in printed and "raw reqwest" in printed, printed[-2000:]
