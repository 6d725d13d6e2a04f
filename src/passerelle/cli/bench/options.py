"""What one bench run measures. Defaults are the published figures' configuration."""

from __future__ import annotations

from dataclasses import dataclass

SCENARIOS = ("a", "b", "c", "d")
SCENARIO_TITLES = {
    "a": "saturated",
    "b": "open loop",
    "c": "offline drain",
    "d": "group fan-out",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchOptions:
    scenarios: tuple[str, ...] = SCENARIOS
    pairs: int = 20
    """Sender/receiver pairs: each pair is two accounts with one device each."""
    duration_s: float = 10.0
    """Measured interval of scenarios (a) and (b)."""
    warmup_s: float = 2.0
    window: int = 64
    """Sends in flight per sender (waiting for ``sent``) in (a) and while filling mailboxes in (c)."""
    rate: float = 5000.0
    """Total messages per second of the open loop (b), spread evenly over the senders."""
    offline_messages: int = 50_000
    """Messages stored for offline recipients in (c) before they connect."""
    ack_batch: int = 1
    """A receiver acks once at least this many items are unacked (1: after every deliver frame)."""
    envelope_bytes: int = 300
    drain_timeout_s: float = 60.0
    """Bound on waiting for in-flight messages after a measured interval, and on the drain of (c)."""
    start_timeout_s: float = 30.0
    members: int = 1000
    """Members of the group of (d), besides its sender: accounts of three apps, one device each."""
    group_sends: int = 50
    """Messages the sender of (d) sends to the group, one after the other."""
    gateway: str = "picows"
    """Which WebSocket layer the clients use: "picows" (the fast gateway's port) or "asgi" (uvicorn)."""

    def __post_init__(self) -> None:
        if self.gateway not in {"picows", "asgi"}:
            raise ValueError("gateway is picows or asgi")
        unknown = set(self.scenarios) - set(SCENARIOS)
        if unknown or not self.scenarios:
            raise ValueError(f"scenarios are some of {', '.join(SCENARIOS)}")
        checks = {
            "pairs": self.pairs >= 1,
            "duration": self.duration_s > 0,
            "warm-up": self.warmup_s >= 0,
            "window": self.window >= 1,
            "rate": self.rate > 0,
            "messages": self.offline_messages >= self.pairs,
            "ack batch": self.ack_batch >= 1,
            "envelope size": 200 <= self.envelope_bytes <= 60_000,
            "members": 1 <= self.members <= 1023,
            "group sends": self.group_sends >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"out of range: {', '.join(bad)}")


def parse_scenarios(value: str) -> tuple[str, ...]:
    """``a``, ``b,c`` or ``all`` → the scenarios in their canonical order."""
    value = value.strip().lower()
    if value == "all":
        return SCENARIOS
    wanted = {part.strip() for part in value.replace(",", " ").split()}
    if not wanted or not wanted <= set(SCENARIOS):
        raise ValueError(f"--scenario is one of a, b, c, d or all (or a list like a,d), not {value!r}")
    return tuple(s for s in SCENARIOS if s in wanted)
