"""ParallelSends (server/ws/parallel_sends.py): a business endpoint's sends to different people are
prepared side by side, those to the same person one after the other in the order they came, a send
naming a conversation goes alone after everything in flight, and at most ``max_in_flight`` are under
way (the read loop waits for a slot)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from passerelle.server.ws.parallel_sends import ParallelSends


class Works:
    """Each piece of work records its start, then waits until released."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    def work(self, name: str) -> Callable[[], Awaitable[None]]:
        gate = self.gates.setdefault(name, asyncio.Event())

        async def run() -> None:
            self.started.append(name)
            await gate.wait()
            self.finished.append(name)

        return run

    def release(self, name: str) -> None:
        self.gates[name].set()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_different_people_side_by_side_the_same_person_in_order() -> None:
    works, sends = Works(), ParallelSends(max_in_flight=8)
    await sends.submit("alice", works.work("a1"))
    await sends.submit("bob", works.work("b1"))
    await sends.submit("alice", works.work("a2"))
    await settle()
    assert works.started == ["a1", "b1"]  # a2 waits for a1, bob's goes beside it
    works.release("a2")  # released early: still not started before a1 is done
    await settle()
    assert "a2" not in works.started
    works.release("a1")
    await settle()
    assert works.started == ["a1", "b1", "a2"] and works.finished == ["a1", "a2"]
    works.release("b1")
    await sends.drain()
    assert works.finished == ["a1", "a2", "b1"]


async def test_a_send_to_a_conversation_goes_alone_and_slots_are_bounded() -> None:
    works, sends = Works(), ParallelSends(max_in_flight=2)
    await sends.submit("alice", works.work("a"))
    await sends.submit("bob", works.work("b"))
    third = asyncio.create_task(sends.submit("carol", works.work("c")))
    await settle()
    assert not third.done() and works.started == ["a", "b"]  # no slot: the reader waits
    works.release("a")
    await settle()
    assert third.done() and works.started == ["a", "b", "c"]
    group = asyncio.create_task(sends.submit(None, works.work("g")))
    await settle()
    assert "g" not in works.started  # waits for b and c
    works.release("g")
    works.release("b")
    works.release("c")
    await group
    assert works.finished[-1] == "g"


async def test_a_failed_send_does_not_hold_back_the_next_to_the_same_person() -> None:
    sends = ParallelSends()
    done: list[str] = []

    async def fails() -> None:
        raise RuntimeError("refused")

    async def goes() -> None:
        done.append("next")

    await sends.submit("alice", fails)
    await sends.submit("alice", goes)
    await sends.drain()
    assert done == ["next"]
