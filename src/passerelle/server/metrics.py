"""Prometheus metrics, in a registry of their own per app instance (nothing global at import).

The counters the message path bumps for every frame or message are plain integers, read by a
collector when Prometheus scrapes: a prometheus-client Counter takes a lock per increment, which
cost more than a microsecond per message on the hot path (measured with py-spy).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.frames_in = 0
        """WebSocket frames received."""
        self.accepted = 0
        """Messages durably stored."""
        self.duplicates = 0
        """Sends answered from idempotency."""
        self.delivered = 0
        """Mailbox items queued to devices."""
        r.register(_HotCounters(self))
        self.connections = Gauge(
            "passerelle_ws_connections", "Authenticated WebSocket connections", registry=r
        )
        self.sockets = Gauge(
            "passerelle_ws_open", "WebSocket connections open, before and after hello", registry=r
        )
        self.errors = Counter("passerelle_errors", "Errors answered to clients", ["code"], registry=r)
        self.connection_cap_unshared = Counter(
            "passerelle_connection_cap_unshared",
            "Times the per-account connection cap fell back to this node's count (Redis did not answer)",
            registry=r,
        )
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
        self.ack_commits = Counter(
            "passerelle_commit_acks_only",
            "Transactions that only deleted acknowledged mailbox items (no message to store)",
            registry=r,
        )
        self.janitor_deleted = Counter("passerelle_janitor_deleted", "Expired records deleted", registry=r)
        self.janitor_leader = Gauge(
            "passerelle_janitor_leader",
            "1 while this node holds the lease of the cluster's periodic jobs (retention), else 0",
            registry=r,
        )
        self.webhooks = WebhookMetrics(r)

    def on_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.commit_seconds.observe(seconds)

    def on_acks(self, devices: int) -> None:
        self.ack_commits.inc()


class WebhookMetrics:
    """The business webhook outbox's meters (the ``WebhookMeter`` port)."""

    def __init__(self, r: CollectorRegistry) -> None:
        self._queued = Counter("passerelle_webhooks_queued", "Webhook events enqueued", registry=r)
        self._delivered = Counter(
            "passerelle_webhooks_delivered", "Webhook events answered with a 2xx", registry=r
        )
        self._retried = Counter(
            "passerelle_webhooks_retried", "Webhook posts that failed and will be tried again", registry=r
        )
        self._dropped = Counter(
            "passerelle_webhooks_dropped",
            "Webhook events given up: expired (retried too long), full (outbox cap), no_webhook",
            ["reason"],
            registry=r,
        )
        self._latency = Histogram(
            "passerelle_webhook_delivery_seconds",
            "From enqueue to the 2xx answer",
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 21600, 86400),
            registry=r,
        )

    def queued(self) -> None:
        self._queued.inc()

    def delivered(self, latency_s: float) -> None:
        self._delivered.inc()
        self._latency.observe(latency_s)

    def retried(self) -> None:
        self._retried.inc()

    def dropped(self, reason: str) -> None:
        self._dropped.labels(reason).inc()


class _HotCounters(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def collect(self) -> Iterator[Metric]:
        m = self._m
        yield CounterMetricFamily(
            "passerelle_ws_frames_received", "WebSocket frames received", value=m.frames_in
        )
        yield CounterMetricFamily("passerelle_messages_accepted", "Messages durably stored", value=m.accepted)
        yield CounterMetricFamily(
            "passerelle_messages_duplicate", "Sends answered from idempotency", value=m.duplicates
        )
        yield CounterMetricFamily(
            "passerelle_items_delivered", "Mailbox items queued to devices", value=m.delivered
        )
