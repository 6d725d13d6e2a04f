"""The in-process broker: one node, events go straight to this node's handler."""

from __future__ import annotations

from passerelle.service.ports import BrokerEvent, BrokerHandler


class LocalBroker:
    def __init__(self) -> None:
        self._handler: BrokerHandler | None = None

    @property
    def is_local(self) -> bool:
        return True

    async def start(self, handler: BrokerHandler) -> None:
        self._handler = handler

    async def publish(self, event: BrokerEvent) -> None:
        if self._handler is not None:
            await self._handler(event)

    async def close(self) -> None:
        self._handler = None
