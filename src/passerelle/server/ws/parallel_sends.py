"""A business endpoint's sends, admitted side by side (docs/business.md section 5).

A connection's frames are read one after the other, and each ``send`` is prepared (checked, its
route read, a business send admitted) before the next frame is read: for a person that is the
order they typed in. A business endpoint is one device writing to thousands of people — a template
campaign — and each send's preparation waits on a few store reads; one at a time, the endpoint
could never send faster than one preparation's latency allows, however idle the server.

So for a business endpoint's connection, ``ParallelSends`` prepares up to ``max_in_flight`` sends to
**different** people at once, and keeps the protocol's promise of order per conversation: a send
to someone waits until the previous send to the same someone was handed to the pipeline (or
refused). A send that names a conversation (``conv``) rather than a person (``to``) first waits for
every send in flight, then goes alone, as before. The read loop waits for a free slot: the
connection's TCP backpressure is as it was.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("passerelle.ws")

MAX_IN_FLIGHT = 64


class ParallelSends:
    def __init__(self, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tails: dict[str, asyncio.Future[None]] = {}
        """Per person: done once the latest send to them was handed on."""
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, key: str | None, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` (prepare and enqueue one send) beside the others when ``key`` (the person
        it goes to) is given, after the previous send to ``key``; inline, alone, when it is None."""
        if key is None:
            await self.drain()
            await work()
            return
        await self._slots.acquire()
        before = self._tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = mine
        task = asyncio.create_task(self._run(key, before, mine, work), name="ws-parallel-send")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self,
        key: str,
        before: asyncio.Future[None] | None,
        mine: asyncio.Future[None],
        work: Callable[[], Awaitable[None]],
    ) -> None:
        try:
            if before is not None:
                await before
            await work()
        except Exception:  # a refusal is answered by ``work``; anything else is a bug, logged
            log.exception("a business endpoint's send failed")
        finally:
            mine.set_result(None)
            if self._tails.get(key) is mine:
                del self._tails[key]
            self._slots.release()

    async def drain(self) -> None:
        """Wait until no send is in flight."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
