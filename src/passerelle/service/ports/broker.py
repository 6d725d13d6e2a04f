"""Live routing between nodes: pokes, ephemeral frames, cache invalidations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.ids import (
    AccountId,
    ConversationId,
    DeviceId,
)


@dataclass(frozen=True, slots=True)
class DeviceNews:
    """A poke: these devices have new mailbox items. It carries no body: the database is the truth."""

    devices: tuple[DeviceId, ...]
    all_devices: bool = False
    """Resynchronise every connection of the node (after the broker lost events)."""


@dataclass(frozen=True, slots=True)
class Ephemeral:
    """A frame for online devices only (typing, keys running low), dropped when nobody listens.
    ``close`` asks the node holding the device to close its connection after sending (device removed)."""

    devices: tuple[DeviceId, ...]
    frame: bytes
    close: bool = False


@dataclass(frozen=True, slots=True)
class Invalidate:
    """Cached facts about an account's devices or a conversation changed; nodes drop their copy."""

    accounts: tuple[AccountId, ...] = ()
    conversations: tuple[ConversationId, ...] = ()


@dataclass(frozen=True, slots=True)
class Connected:
    """These devices said ``hello`` on node ``node``, at these wall-clock times (ms): a node holding
    an older connection of one of them closes it, so a device has one connection in the cluster."""

    node: str
    devices: tuple[DeviceId, ...]
    at: tuple[int, ...]


BrokerEvent = DeviceNews | Ephemeral | Invalidate | Connected


BrokerHandler = Callable[[BrokerEvent], Awaitable[None]]


class Broker(Protocol):
    """Carries pokes between nodes. At most once: a node that missed some resyncs from the store."""

    @property
    def is_local(self) -> bool:
        """True when this process is the only node (the in-process broker)."""
        ...

    async def start(self, handler: BrokerHandler) -> None: ...

    async def publish(self, event: BrokerEvent) -> None: ...

    async def close(self) -> None: ...
