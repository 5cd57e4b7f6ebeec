"""Herald's benchmarks, each against a baseline measured in the same run on the same machine.

    python -m bench.run [--quick | --smoke] [--runs N] [--only a,b] [--output DIR]

Writes DIR/latest.json ({"scenario": {"value", "baseline", "ratio", "target", "unit"}},
default bench/results) and DIR/latency.png (p50/p99 against offered load), and prints a
table. See bench/harness.py for how processes are placed on the two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.backlog import backlog
from bench.chart import plot_latency
from bench.console import console_pages
from bench.delivery import deliver_one, fanout_ten, isolation
from bench.harness import LOAD_CORE, Bench, combine, format_row
from bench.ingest import ingest_batch, ingest_single
from bench.kafka import kafka_listener
from bench.latency import latency, latency_curve
from bench.noisy import noisy_tenant
from bench.routing import routing
from bench.scale_out import scale_out

RESULTS_DIR = Path(__file__).parent / "results"
Rows = list[tuple[str, dict[str, Any]]]


def single(name: str, scenario: Callable[[Bench], Awaitable[dict[str, Any]]]) -> Any:
    async def rows(bench: Bench) -> Rows:
        return [(name, await scenario(bench))]

    return rows


SCENARIOS: dict[str, Callable[[Bench], Awaitable[Rows]]] = {
    "ingest-single": single("ingest-single", ingest_single),
    "ingest-batch": single("ingest-batch", ingest_batch),
    "routing": routing,
    "deliver-1": single("deliver-1", deliver_one),
    "fanout-10": single("fanout-10", fanout_ten),
    "isolation": single("isolation", isolation),
    "kafka": single("kafka", kafka_listener),
    "latency": single("latency", latency),
    "backlog": backlog,
    "noisy-tenant": noisy_tenant,
    "console": console_pages,
    "scale-out": scale_out,
}
MEMORY_TARGETS_MB = {"api": 200, "worker": 250}
# The two noisiest ratios get more runs in a full run of 3 or more: their single runs
# spread over +-20 % (the machine's speed drifts between Herald's run and its baseline's).
MIN_FULL_RUNS = {"deliver-1": 5, "kafka": 5}


async def main(scale: str, runs: int, only: list[str]) -> dict[str, Any]:
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {int(LOAD_CORE)})
    bench = await asyncio.to_thread(Bench, scale)
    results: dict[str, Any] = {}
    try:
        for name, scenario in SCENARIOS.items():
            if only and name not in only:
                continue
            samples: dict[str, list[dict[str, Any]]] = {}
            scenario_runs = runs
            if scale == "full" and runs >= 3:  # a real run, not a quick look at one
                scenario_runs = max(runs, MIN_FULL_RUNS.get(name, 0))
            for _ in range(scenario_runs):
                await bench.settle()
                for row, sample in await scenario(bench):
                    samples.setdefault(row, []).append(sample)
            for row, row_samples in samples.items():
                results[row] = combine(row_samples)
                print(format_row(row, results[row]), flush=True)
                if "note" in results[row] and results[row].get("baseline") is None:
                    print(f"  {results[row]['note']}", flush=True)
        if not only or "latency" in only:
            results["latency"]["curve"] = await latency_curve(bench)
        for role, target in MEMORY_TARGETS_MB.items():
            peak = bench.memory.peak_mb.get(role)
            if peak is not None:
                row = {"value": peak, "unit": "MB peak RSS", "target": target, "baseline": None}
                results[f"memory-{role}"] = combine([row])
                print(format_row(f"memory-{role}", results[f"memory-{role}"]), flush=True)
    finally:
        await bench.close()
    return results


def publish(results: dict[str, Any], output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    if "curve" in results.get("latency", {}):
        plot_latency(results["latency"]["curve"], output / "latency.png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="under 3 minutes, for development")
    size.add_argument("--smoke", action="store_true", help="tiny numbers: the harness works")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    scale = "smoke" if args.smoke else "quick" if args.quick else "full"
    only = [name for name in args.only.split(",") if name]
    publish(asyncio.run(main(scale, args.runs, only)), args.output)
