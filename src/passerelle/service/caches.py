"""Small read-through caches for the send path: an account's devices and a conversation's record.

Entries live a few seconds and are dropped at once when this node learns of a change (device added
or removed, timer set) — locally, or through the broker's Invalidate event from another node.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from passerelle.domain.ids import AccountId, ConversationId, DeviceId
from passerelle.service.ports import Clock, Invalidate
from passerelle.service.records import ConversationRecord

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, clock: Clock, *, ttl_s: float, max_entries: int = 50_000) -> None:
        self._clock = clock
        self._ttl = ttl_s
        self._max = max_entries
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[0] < self._clock.monotonic():
            del self._data[key]
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        self._data[key] = (self._clock.monotonic() + self._ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    def drop(self, key: K) -> None:
        self._data.pop(key, None)

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        value = self.get(key)
        if value is None:
            value = await load()
            self.put(key, value)
        return value


class SendCaches:
    """What the send path caches (an account's devices, a conversation's record) and the epoch that
    its cached routes carry, with their invalidation: by the services on a local change, and by the
    hub on the broker's ``Invalidate`` from another node. Built before the services and the hub,
    which both hold it (so neither needs the other)."""

    def __init__(self, clock: Clock, *, also: Callable[[Invalidate], None] | None = None) -> None:
        self.devices: TtlCache[AccountId, tuple[DeviceId, ...]] = TtlCache(clock, ttl_s=30.0)
        self.conversations: TtlCache[ConversationId, ConversationRecord] = TtlCache(clock, ttl_s=30.0)
        self.epoch = 0
        """Bumped by every change to devices or conversations: cached routes recompute."""
        self._also = also

    def changed(self) -> None:
        self.epoch += 1

    def invalidate(self, event: Invalidate) -> None:
        self.epoch += 1
        if self._also is not None:
            self._also(event)
        for account in event.accounts:
            self.devices.drop(account)
        for conv in event.conversations:
            self.conversations.drop(conv)
