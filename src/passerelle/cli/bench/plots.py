"""``passerelle bench --plot DIR``: the run as pictures (PNG, matplotlib, the optional ``bench``
extra): ``latency.png``, each scenario's latency distribution (cumulative, log scale, its
percentiles marked) and ``throughput.png``, each scenario's units per second over its measured
interval (in bins of ``SERIES_BIN_S``). Failed scenarios are left out: they have no figures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from passerelle.cli.bench.errors import BenchError
from passerelle.cli.bench.figures import SERIES_BIN_S, ScenarioFigures

DPI = 80
CDF_POINTS = 2000
MAX_BINS = 100


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise BenchError("--plot needs matplotlib: pip install 'passerelle[bench]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def cdf_points(samples: Sequence[float], points: int = CDF_POINTS) -> tuple[list[float], list[float]]:
    """At most ``points`` (value, % of samples at or below it) pairs of the cumulative distribution."""
    values = sorted(samples)
    count = len(values)
    if count <= points:
        indexes = list(range(count))
    else:
        indexes = sorted({round(i * (count - 1) / (points - 1)) for i in range(points)})
    return [values[i] for i in indexes], [100.0 * (i + 1) / count for i in indexes]


def rebinned(series: Sequence[int], bins: int = MAX_BINS) -> tuple[list[float], list[float], float]:
    """``series`` (counts per ``SERIES_BIN_S``) in at most about ``bins`` wider bins: their start
    times, their rates per second, and their width in seconds."""
    factor = max(1, math.ceil(len(series) / bins))
    width = SERIES_BIN_S * factor
    counts = [sum(series[i : i + factor]) for i in range(0, len(series), factor)]
    return [i * width for i in range(len(counts))], [c / width for c in counts], round(width, 3)


def write_plots(scenarios: dict[str, ScenarioFigures], folder: Path, *, caption: str = "") -> list[Path]:
    """Write the PNGs into ``folder`` (created if needed); the paths written."""
    plt = _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    timed = {n: f for n, f in scenarios.items() if f.ok and f.latencies_ms}
    if timed:
        fig, ax = plt.subplots(figsize=(9, 5))
        for name, f in timed.items():
            values, ranks = cdf_points(f.latencies_ms)
            count = f.samples
            ax.plot(values, ranks, label=f"({name}) {f.title}: p99 {f.p99_ms:.1f} ms, {count:,} samples")
        ax.set_xscale("log")
        ax.set_xlabel("latency (ms, log scale)")
        ax.set_ylabel("% of samples at or below")
        ax.set_ylim(0, 100.5)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        ax.set_title("Latency distributions" + (f" — {caption}" if caption else ""), fontsize=10)
        fig.tight_layout()
        path = folder / "latency.png"
        fig.savefig(path, dpi=DPI)
        plt.close(fig)
        written.append(path)
    series = {n: f for n, f in scenarios.items() if f.ok and len(f.series) > 1}
    if series:
        fig, axes = plt.subplots(len(series), 1, figsize=(9, 1.8 * len(series) + 0.8), squeeze=False)
        for ax, (name, f) in zip(axes[:, 0], series.items(), strict=True):
            xs, ys, width = rebinned(f.series)
            ax.plot(xs, ys, drawstyle="steps-post", linewidth=1)
            units = "deliveries" if f.unit == "delivery" else f"{f.unit}s"
            ax.set_ylabel(f"{units}/s", fontsize=8)
            ax.set_title(
                f"({name}) {f.title}: mean {f.per_s or 0:,.0f} {units}/s ({width:g} s bins)", fontsize=9
            )
            ax.set_ylim(bottom=0)
            ax.grid(True, alpha=0.3)
            ax.tick_params(labelsize=8)
        axes[-1, 0].set_xlabel("seconds into the measured interval")
        fig.suptitle("Throughput over time" + (f" — {caption}" if caption else ""), fontsize=10)
        fig.tight_layout()
        path = folder / "throughput.png"
        fig.savefig(path, dpi=DPI)
        plt.close(fig)
        written.append(path)
    return written
