"""Waiting on what an SDK client dispatches, with a timeout (never a sleep)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from passerelle.sdk import Client, Event, Message

T = TypeVar("T", bound=Event)


class Watcher:
    """Everything a client dispatches from the moment it is made, to wait on with a timeout (never a
    sleep). Events that a wait passes over are kept, in order, for later waits."""

    def __init__(self, client: Client) -> None:
        self.backlog: list[Event] = []
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        for subscribe in (
            client.on_message,
            client.on_receipt,
            client.on_typing,
            client.on_timer,
            client.on_device,
        ):
            subscribe(self.queue.put_nowait)  # type: ignore[arg-type]

    async def next(
        self, kind: type[T], where: Callable[[T], bool] = lambda e: True, *, within: float = 10
    ) -> T:
        for index, event in enumerate(self.backlog):
            if isinstance(event, kind) and where(event):
                del self.backlog[index]
                return event
        async with asyncio.timeout(within):
            while True:
                event = await self.queue.get()
                if isinstance(event, kind) and where(event):
                    return event
                self.backlog.append(event)

    async def any(self) -> Event:
        if self.backlog:
            return self.backlog.pop(0)
        async with asyncio.timeout(10):
            return await self.queue.get()

    async def text(self, text: str) -> Message:
        return await self.next(Message, lambda m: m.text == text)
