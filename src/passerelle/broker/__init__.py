"""Live routing between nodes: pokes that say "this device has news", never message bodies."""

from __future__ import annotations

from passerelle.service.ports import Broker


def open_broker(url: str) -> Broker:
    """The in-process broker for an empty URL, the Redis broker for redis:// and rediss:// URLs."""
    if not url or url == "local":
        from passerelle.broker.local import LocalBroker

        return LocalBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from passerelle.broker.redis import RedisBroker

        return RedisBroker(url)
    raise ValueError(f"unsupported broker URL {url!r}: use redis://host:port/db or leave it empty")
