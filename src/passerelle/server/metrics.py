"""Prometheus metrics, in a registry of their own per app instance (nothing global at import)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connections = Gauge(
            "passerelle_ws_connections", "Authenticated WebSocket connections", registry=r
        )
        self.accepted = Counter("passerelle_messages_accepted", "Messages durably stored", registry=r)
        self.duplicates = Counter(
            "passerelle_messages_duplicate", "Sends answered from idempotency", registry=r
        )
        self.delivered = Counter("passerelle_items_delivered", "Mailbox items queued to devices", registry=r)
        self.frames_in = Counter("passerelle_ws_frames_received", "WebSocket frames received", registry=r)
        self.errors = Counter("passerelle_errors", "Errors answered to clients", ["code"], registry=r)
        self.batch_size = Histogram(
            "passerelle_commit_batch_size",
            "Messages per group commit",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=r,
        )
        self.commit_seconds = Histogram(
            "passerelle_commit_seconds",
            "Time to store one batch",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=r,
        )
        self.janitor_deleted = Counter("passerelle_janitor_deleted", "Expired records deleted", registry=r)

    def on_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.commit_seconds.observe(seconds)
