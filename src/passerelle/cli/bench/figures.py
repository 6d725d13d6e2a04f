"""From the raw counts of a measured interval to the published figures. Pure: no I/O, no clock."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from passerelle.cli.bench.accounting import NO_MESSAGES, Counts

NS_PER_MS = 1_000_000


def percentile(sorted_values: Sequence[int], q: float) -> int:
    """The nearest-rank percentile: the smallest value with at least ``q`` percent of the values at
    or below it. ``sorted_values`` is sorted ascending and not empty; ``q`` is in (0, 100]."""
    if not sorted_values:
        raise ValueError("no values")
    if not 0 < q <= 100:
        raise ValueError("q is in (0, 100]")
    rank = math.ceil(q / 100 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]


def per_message_us(cpu_s: float, messages: int) -> float | None:
    """CPU microseconds per message, or None when nothing was delivered."""
    if messages <= 0:
        return None
    return cpu_s * 1e6 / messages


@dataclass(frozen=True, slots=True, kw_only=True)
class Interval:
    """What was counted over one measured interval of a scenario."""

    seconds: float
    delivered: int
    """Units of work done during the interval: messages received by their recipients (deliveries
    to each member in (d), connections in (e), logins in (f))."""
    latencies_ns: Sequence[int]
    server_cpu_ticks: int
    """Δ(utime + stime) of the server process, in clock ticks."""
    server_thread_ticks: Mapping[str, int]
    """The same per thread name."""
    clock_ticks_per_s: int
    server_rss_kb: int
    server_peak_rss_kb: int
    client_cpu_s: float
    counts: Counts = NO_MESSAGES
    aborted: str | None = None
    """Why the scenario stopped before measuring (the load exceeds what the server admits)."""
    series: Sequence[int] = ()
    """Units done per ``SERIES_BIN_S`` from the start of the interval (throughput over time)."""
    phases: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)


SERIES_BIN_S = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioFigures:
    name: str
    title: str
    unit: str
    """What one unit of work is: "message", "delivery", "connection" or "login"."""
    ok: bool
    failure: str | None
    counts: Counts
    per_s: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    samples: int
    """How many latency samples the percentiles come from."""
    cpu_us_per_unit: float | None
    """Server CPU per unit of work."""
    thread_cpu_us_per_unit: dict[str, float]
    """The same for the event loop thread and for the other threads together."""
    client_cpu_us_per_unit: float | None
    rss_mb: float
    peak_rss_mb: float
    units: int
    seconds: float
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    latencies_ms: Sequence[float] = ()
    """Every latency sample (for plots; not in the JSON)."""
    series: Sequence[int] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "ok": self.ok,
            "failure": self.failure,
            "unit": self.unit,
            "units": self.units,
            "seconds": round(self.seconds, 3),
            "per_s": _round(self.per_s, 1),
            "latency_ms": {
                "p50": _round(self.p50_ms, 3),
                "p95": _round(self.p95_ms, 3),
                "p99": _round(self.p99_ms, 3),
                "samples": self.samples,
            },
            "cpu_us_per_unit": _round(self.cpu_us_per_unit, 2),
            "cpu_us_per_unit_by_thread": {
                k: round(v, 2) for k, v in sorted(self.thread_cpu_us_per_unit.items())
            },
            "client_cpu_us_per_unit": _round(self.client_cpu_us_per_unit, 2),
            "rss_mb": round(self.rss_mb, 1),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "counts": self.counts.to_json(),
            "phases": {name: _rounded(phase) for name, phase in self.phases.items()},
            "extra": _rounded(self.extra),
        }


def _rounded(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in sorted(values.items()):
        if isinstance(value, float):
            value = round(value, 3)
        elif isinstance(value, Mapping):
            value = _rounded(value)
        out[key] = value
    return out


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def cpu_split(
    ticks: int, threads: Mapping[str, int], hz: int, units: int
) -> tuple[float | None, dict[str, float]]:
    """Server CPU µs per unit, in all and per thread."""
    by_thread = {
        name: us for name, t in threads.items() if t > 0 and (us := per_message_us(t / hz, units)) is not None
    }
    return per_message_us(ticks / hz, units), by_thread


def compute(interval: Interval, *, name: str = "", title: str = "", unit: str = "message") -> ScenarioFigures:
    """The figures of an interval. A failed run (its counts are not clean, or it was stopped) keeps
    its counts and loses its figures: a figure measured over lost or rejected messages means nothing."""
    latencies = sorted(interval.latencies_ns)
    p50 = p95 = p99 = None
    if latencies:
        p50, p95, p99 = (percentile(latencies, q) / NS_PER_MS for q in (50, 95, 99))
    delivered = interval.delivered
    hz = interval.clock_ticks_per_s
    cpu, threads = cpu_split(interval.server_cpu_ticks, interval.server_thread_ticks, hz, delivered)
    counts = interval.counts
    failure = interval.aborted or counts.failure()
    ok = failure is None
    figures = ScenarioFigures(
        name=name,
        title=title,
        unit=unit,
        ok=ok,
        failure=failure,
        counts=counts,
        per_s=delivered / interval.seconds if interval.seconds > 0 else 0.0,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        samples=len(latencies),
        cpu_us_per_unit=cpu,
        thread_cpu_us_per_unit=threads,
        client_cpu_us_per_unit=per_message_us(interval.client_cpu_s, delivered),
        rss_mb=interval.server_rss_kb / 1024,
        peak_rss_mb=interval.server_peak_rss_kb / 1024,
        units=delivered,
        seconds=interval.seconds,
        phases={k: dict(v) for k, v in interval.phases.items()},
        extra=dict(interval.extra),
        latencies_ms=[v / NS_PER_MS for v in latencies],
        series=list(interval.series),
    )
    if ok:
        return figures
    return dataclasses.replace(
        figures,
        per_s=None,
        p50_ms=None,
        p95_ms=None,
        p99_ms=None,
        cpu_us_per_unit=None,
        thread_cpu_us_per_unit={},
        client_cpu_us_per_unit=None,
        phases={},
    )
