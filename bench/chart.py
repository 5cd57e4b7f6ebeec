"""docs' latency chart: p50 and p99 ingest-to-receiver latency against offered load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

TARGET_P50_MS = 25


def plot_latency(curve: list[dict[str, Any]], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(7, 4), dpi=110)
    for ingest in dict.fromkeys(point.get("ingest", "single") for point in curve):
        points = [p for p in curve if p.get("ingest", "single") == ingest]
        rates = [p["offered_rate"] for p in points]
        style = "-" if ingest != "single" else ":"
        for stat in ("p50", "p99"):
            label = f"{stat}, {ingest if ingest != 'single' else 'single-message POSTs'}"
            axes.plot(rates, [p[stat] for p in points], style, marker="o", label=label)
    axes.axhline(TARGET_P50_MS, color="grey", linestyle="--", linewidth=1, label="p50 target")
    axes.set_xlabel("offered load (messages/s, one listener)")
    axes.set_ylabel("ingest to receiver (ms)")
    axes.set_yscale("log")
    axes.set_title("Herald delivery latency against offered load")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
