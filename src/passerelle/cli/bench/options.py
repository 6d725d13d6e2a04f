"""What one bench run measures. Defaults are issue 13's load shape (20 pairs, 200-byte bodies,
closed loop, 8 messages in flight per pair, refilled when the receiver gets one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SCENARIOS = ("a", "a2", "b", "c", "d", "e", "f", "g", "h")
SCENARIO_TITLES = {
    "a": "closed loop",
    "a2": "closed loop, many pairs",
    "b": "open loop",
    "c": "offline store, drain",
    "d": "group fan-out",
    "e": "idle connections",
    "f": "logins",
    "g": "business campaign",
    "h": "business webhooks",
}
ALIASES = {"business-campaign": "g", "business-webhook": "h", "business": "g,h"}
"""Longer names for some scenarios on the command line."""
REFILLS = ("received", "sent")


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchOptions:
    scenarios: tuple[str, ...] = SCENARIOS
    pairs: int = 20
    """Sender/receiver pairs in (a), (b) and (c): each pair is two accounts with one device each."""
    many_pairs: int = 500
    """Pairs in (a′) (scenario ``a2``): the same load shape as (a), with many more pairs."""
    duration_s: float = 10.0
    """Measured interval of scenarios (a), (a′) and (b)."""
    warmup_s: float = 2.0
    window: int = 8
    """Messages in flight per sender in (a), (a′), and while filling mailboxes in (c)."""
    refill: str = "received"
    """When a sender of (a) sends its next message: when its receiver got one ("received", the issue's
    shape) or when the server answered ``sent`` ("sent")."""
    body_bytes: int = 200
    """Bytes of a message's encrypted body (the ciphertext inside its envelope)."""
    rate: float = 5000.0
    """Total messages per second of the open loop (b), spread evenly over the senders."""
    offline_messages: int = 50_000
    """Messages stored for offline recipients in (c) before they connect."""
    ack_batch: int = 1
    """A receiver acks once at least this many items are unacked (1: after every deliver frame)."""
    drain_timeout_s: float = 60.0
    """Bound on waiting for in-flight messages after a measured interval, and on the drain of (c)."""
    start_timeout_s: float = 30.0
    members: int = 1000
    """Members of the group of (d), besides its sender: accounts of three apps, one device each."""
    group_sends: int = 500
    """Messages the sender of (d) sends to the group, one after the other: one latency sample each."""
    idle_connections: int = 20_000
    """Authenticated connections held open in (e) (fewer when the file descriptor limit is lower)."""
    logins: int = 2000
    """Logins in (f): challenge, signature, token, WebSocket up."""
    login_concurrency: int = 16
    """Logins under way at once in (f)."""
    login_via: str = "ws"
    """How (f) logs in: "ws" (``login``, ``challenge`` and a signed ``hello`` on the WebSocket) or
    "http" (``POST /v1/auth/challenge`` and ``/v1/auth/token``, then ``hello`` with the token)."""
    campaign_people: int = 10_000
    """People the template campaign of (g) goes to, each opted in during its set-up."""
    biz_numbers: int = 3
    """The business's numbers in (g), the campaign's sends spread over them (each has its throughput)."""
    biz_concurrency: int = 64
    """Requests the bot of (g) keeps in flight."""
    webhook_rate: float = 500.0
    """Inbound messages per second in (h), all people together."""
    webhook_people: int = 20
    """People writing to the business in (h) (SDK clients)."""
    gateway: str = "picows"
    """Which WebSocket layer the clients use: "picows" (the fast gateway's port) or "asgi" (uvicorn)."""
    host: str = "127.0.0.1"
    """Where the server under test listens (and the clients connect)."""
    port: int | None = None
    """Its HTTP port (the picows gateway takes the next one); None: free ports."""
    plot_dir: Path | None = None
    """Where to write the PNG figures; None: none."""

    def __post_init__(self) -> None:
        if self.gateway not in {"picows", "asgi"}:
            raise ValueError("gateway is picows or asgi")
        if self.login_via not in {"ws", "http"}:
            raise ValueError("login-via is ws or http")
        if self.refill not in REFILLS:
            raise ValueError("refill is received or sent")
        unknown = set(self.scenarios) - set(SCENARIOS)
        if unknown or not self.scenarios:
            raise ValueError(f"scenarios are some of {', '.join(SCENARIOS)}")
        checks = {
            "pairs": self.pairs >= 1,
            "many pairs": self.many_pairs >= 1,
            "duration": self.duration_s > 0,
            "warm-up": self.warmup_s >= 0,
            "window": self.window >= 1,
            "rate": self.rate > 0,
            "messages": self.offline_messages >= self.pairs,
            "ack batch": self.ack_batch >= 1,
            "body bytes": 32 <= self.body_bytes <= 60_000,
            "members": 1 <= self.members <= 1023,
            "group sends": self.group_sends >= 1,
            "idle connections": self.idle_connections >= 1,
            "logins": self.logins >= 1,
            "login concurrency": self.login_concurrency >= 1,
            "campaign people": 1 <= self.campaign_people <= 100_000,
            "biz numbers": 1 <= self.biz_numbers <= 50,
            "biz concurrency": 1 <= self.biz_concurrency <= 1000,
            "webhook rate": 0 < self.webhook_rate <= 10_000,
            "webhook people": 1 <= self.webhook_people <= 500,
            "port": self.port is None or 1 <= self.port <= 65534,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"out of range: {', '.join(bad)}")


def parse_scenarios(value: str) -> tuple[str, ...]:
    """``a``, ``b,c`` or ``all`` → the scenarios in their canonical order."""
    value = value.strip().lower()
    if value == "all":
        return SCENARIOS
    for alias, names in ALIASES.items():
        value = ",".join(names if part.strip() == alias else part for part in value.split(","))
    wanted = {part.strip() for part in value.replace(",", " ").split()}
    if not wanted or not wanted <= set(SCENARIOS):
        raise ValueError(
            f"--scenario is some of {', '.join(SCENARIOS)}, {', '.join(ALIASES)} (a list like a,d) "
            f"or all, not {value!r}"
        )
    return tuple(s for s in SCENARIOS if s in wanted)
