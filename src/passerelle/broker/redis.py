"""The Redis broker: pokes on one pub/sub channel shared by every node.

Pub/sub delivers at most once; that is enough because a poke carries no data: a node that missed one
(or lost its Redis connection) resynchronises its connections from the database, which is the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from passerelle.broker.codec import decode_event, encode_event
from passerelle.domain.errors import Unavailable
from passerelle.service.ports import BrokerEvent, BrokerHandler, DeviceNews

log = logging.getLogger("passerelle.broker")
CHANNEL = "passerelle:pokes"


class RedisBroker:
    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        self._url = url
        self._channel = channel
        self._redis: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._handler: BrokerHandler | None = None
        self._subscribed = asyncio.Event()

    @property
    def is_local(self) -> bool:
        return False

    async def start(self, handler: BrokerHandler) -> None:
        self._handler = handler
        # Keepalive and periodic health checks, so a connection that died without a reset (a network
        # partition) is noticed and replaced instead of leaving the node deaf to pokes.
        self._redis = aioredis.from_url(self._url, socket_keepalive=True, health_check_interval=15)
        try:
            await self._redis.ping()
        except RedisError as exc:
            raise Unavailable("the Redis broker does not answer") from exc
        self._task = asyncio.create_task(self._listen(), name="redis-broker")
        try:
            async with asyncio.timeout(10):
                await self._subscribed.wait()
        except TimeoutError as exc:
            raise Unavailable("the Redis broker did not confirm the subscription") from exc

    async def _listen(self) -> None:
        assert self._redis is not None
        backoff = 0.1
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        kind = message.get("type")
                        if kind == "message":
                            await self._receive(message["data"])
                        elif kind == "subscribe":
                            await self._subscribed_again()
                            backoff = 0.1
            except RedisError:
                log.warning("lost the Redis broker; resubscribing in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _subscribed_again(self) -> None:
        """Redis confirmed a subscription: the first one, or one after a lost connection (ours, or
        the client library's own reconnection). Pokes published while we were away are gone, so
        every connection of this node resyncs from the store. The resync starts after Redis
        registered the subscription, so any commit it misses is poked to us afterwards."""
        if self._subscribed.is_set():
            await self._deliver(DeviceNews((), all_devices=True))
        self._subscribed.set()

    async def _receive(self, data: bytes) -> None:
        try:
            event = decode_event(data)
        except ValueError:
            log.warning("dropped a malformed broker event (%d bytes)", len(data))
            return
        await self._deliver(event)

    async def _deliver(self, event: BrokerEvent) -> None:
        """Hand one event to the handler; a failure costs that event, not the listener."""
        assert self._handler is not None
        try:
            await self._handler(event)
        except Exception:
            log.exception("the broker handler failed on a %s event", type(event).__name__)

    async def publish(self, event: BrokerEvent) -> None:
        assert self._redis is not None
        try:
            await self._redis.publish(self._channel, encode_event(event))
        except RedisError as exc:
            raise Unavailable("the Redis broker does not answer") from exc

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._redis is not None:
            await self._redis.aclose()
