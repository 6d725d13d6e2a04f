"""Dispatcher: hands SDK events to callbacks and to async iterators.

A callback may be a plain function or a coroutine function; it runs in the client's reader, so it
must not block (hand long work to a task of your own). A callback that raises is logged and does
not stop the others. Each iterator has its own unbounded queue and ends when the client closes
(raising the client's fatal error, if there was one).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from passerelle.sdk.events import Event

logger = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Callback = Callable[[E], Awaitable[None] | None]


class _End:
    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class Dispatcher:
    def __init__(self) -> None:
        self._callbacks: list[tuple[type[Any], Callable[[Any], Awaitable[None] | None]]] = []
        self._queues: list[tuple[type[Any], asyncio.Queue[Any]]] = []
        self._end: _End | None = None

    def subscribe(self, kind: type[E], callback: Callback[E]) -> Callable[[], None]:
        """Call ``callback`` with every event of type ``kind``; returns a function that unsubscribes."""
        entry = (kind, callback)
        self._callbacks.append(entry)

        def unsubscribe() -> None:
            if entry in self._callbacks:
                self._callbacks.remove(entry)

        return unsubscribe

    async def emit(self, event: Event) -> None:
        for kind, callback in list(self._callbacks):
            if isinstance(event, kind):
                try:
                    result = callback(event)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    logger.exception("an event callback raised")
        for kind, queue in self._queues:
            if isinstance(event, kind):
                queue.put_nowait(event)

    def stream(self, kind: type[E]) -> AsyncIterator[E]:
        """Events of type ``kind`` from this call on (not from the first iteration), until the
        client closes."""
        return self._subscribe_queue(kind)

    def stream_all(self) -> AsyncIterator[Event]:
        return self._subscribe_queue(object)

    def _subscribe_queue(self, kind: type[Any]) -> AsyncIterator[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        entry = (kind, queue)
        self._queues.append(entry)
        return self._drain(entry)

    async def _drain(self, entry: tuple[type[Any], asyncio.Queue[Any]]) -> AsyncIterator[Any]:
        queue = entry[1]
        try:
            while True:
                if self._end is not None and queue.empty():
                    break
                item = await queue.get()
                if isinstance(item, _End):
                    break
                yield item
        finally:
            self._queues.remove(entry)
        if self._end is not None and self._end.error is not None:
            raise self._end.error

    def close(self, error: BaseException | None = None) -> None:
        """End every stream (with ``error`` raised from them, if given)."""
        if self._end is not None:
            return
        self._end = _End(error)
        for _, queue in self._queues:
            queue.put_nowait(self._end)
