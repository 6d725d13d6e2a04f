"""From the raw counts of a measured interval to the published figures. Pure: no I/O, no clock."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    """Messages received by their recipients during the interval."""
    latencies_ns: Sequence[int]
    server_cpu_ticks: int
    """Δ(utime + stime) of the server process, in clock ticks."""
    server_thread_ticks: Mapping[str, int]
    """The same per thread name."""
    clock_ticks_per_s: int
    server_rss_kb: int
    server_peak_rss_kb: int
    client_cpu_s: float
    errors: Mapping[str, int] = field(default_factory=dict)
    extra: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioFigures:
    msgs_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    cpu_us_per_msg: float | None
    """Server CPU per delivered message."""
    thread_cpu_us_per_msg: dict[str, float]
    """The same for the event loop thread and for the other threads together."""
    client_cpu_us_per_msg: float | None
    rss_mb: float
    peak_rss_mb: float
    delivered: int
    seconds: float
    errors: dict[str, int]
    extra: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "msgs_per_s": round(self.msgs_per_s, 1),
            "p50_ms": _round(self.p50_ms, 3),
            "p95_ms": _round(self.p95_ms, 3),
            "p99_ms": _round(self.p99_ms, 3),
            "cpu_us_per_msg": _round(self.cpu_us_per_msg, 2),
            "cpu_us_per_msg_by_thread": {
                k: round(v, 2) for k, v in sorted(self.thread_cpu_us_per_msg.items())
            },
            "client_cpu_us_per_msg": _round(self.client_cpu_us_per_msg, 2),
            "rss_mb": round(self.rss_mb, 1),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "delivered": self.delivered,
            "seconds": round(self.seconds, 3),
            "errors": dict(sorted(self.errors.items())),
        }
        out.update({key: round(value, 3) for key, value in sorted(self.extra.items())})
        return out


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def compute(interval: Interval) -> ScenarioFigures:
    latencies = sorted(interval.latencies_ns)
    p50 = p95 = p99 = None
    if latencies:
        p50, p95, p99 = (percentile(latencies, q) / NS_PER_MS for q in (50, 95, 99))
    delivered = interval.delivered
    hz = interval.clock_ticks_per_s
    server_cpu_s = interval.server_cpu_ticks / hz
    threads = {
        name: us
        for name, ticks in interval.server_thread_ticks.items()
        if ticks > 0 and (us := per_message_us(ticks / hz, delivered)) is not None
    }
    return ScenarioFigures(
        msgs_per_s=delivered / interval.seconds if interval.seconds > 0 else 0.0,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        cpu_us_per_msg=per_message_us(server_cpu_s, delivered),
        thread_cpu_us_per_msg=threads,
        client_cpu_us_per_msg=per_message_us(interval.client_cpu_s, delivered),
        rss_mb=interval.server_rss_kb / 1024,
        peak_rss_mb=interval.server_peak_rss_kb / 1024,
        delivered=delivered,
        seconds=interval.seconds,
        errors={code: count for code, count in interval.errors.items() if count},
        extra=dict(interval.extra),
    )
