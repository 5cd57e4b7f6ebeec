"""docs' latency chart: p50 and p99 ingest-to-receiver latency against offered load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

TARGET_P50_MS = 25


def plot_latency(curve: list[dict[str, Any]], path: Path) -> None:
    rates = [point["offered_rate"] for point in curve]
    figure, axes = plt.subplots(figsize=(7, 4), dpi=110)
    axes.plot(rates, [p["p50"] for p in curve], marker="o", label="p50")
    axes.plot(rates, [p["p99"] for p in curve], marker="o", label="p99")
    axes.axhline(TARGET_P50_MS, color="grey", linestyle="--", linewidth=1, label="p50 target")
    axes.set_xlabel("offered load (messages/s, one listener)")
    axes.set_ylabel("ingest to receiver (ms)")
    axes.set_yscale("log")
    axes.set_title("Herald delivery latency against offered load")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
