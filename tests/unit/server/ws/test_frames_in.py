"""QueuedFrames' fast paths: an ack is taken on the spot only when nothing is queued before it, any
other message only when the read loop is idle too; what the handlers leave still reaches the read
loop, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from passerelle.server.ws.frames_in import IDLE, Deferred, QueuedFrames

ACK = b'{"t":"ack","upto":5}'
SEND = b'{"t":"send","id":"c1","conv":"g_1","body":{}}'


class Taker:
    """Takes every ack (unless told not to) and leaves every other message to the read loop, or
    what ``take`` says."""

    def __init__(
        self, taken: list[bytes], take: Callable[[bytes], bytes | Deferred | None] | None = None
    ) -> None:
        self.taken = taken
        self.acks = True
        self._take = take

    def take_ack(self, data: bytes) -> bool:
        if self.acks:
            self.taken.append(data)
        return self.acks

    def take(self, data: bytes) -> bytes | Deferred | None:
        return data if self._take is None else self._take(data)

    def resume(self) -> None:
        self.taken.append(b"resume")


async def test_an_ack_with_nothing_queued_before_it_is_taken_on_the_spot() -> None:
    frames = QueuedFrames()
    taken: list[bytes] = []
    frames.taker = Taker(taken)
    frames.feed(ACK)
    frames.feed_eof()
    assert taken == [ACK]
    assert await frames.next() is None


async def test_an_ack_behind_a_queued_frame_waits_its_turn_and_refused_ones_go_to_the_read_loop() -> None:
    frames = QueuedFrames()
    taken: list[bytes] = []
    taker = Taker(taken)
    frames.taker = taker
    frames.feed(SEND)
    frames.feed(ACK)  # behind the send: keeps its place
    assert [await frames.next(), await frames.next()] == [SEND, ACK]
    taker.acks = False  # e.g. malformed: the read loop answers it
    frames.feed(b'{"t":"ack","upto":"x"}')
    frames.taker = None
    frames.feed(ACK)
    frames.feed_eof()
    assert [await frames.next(), await frames.next(), await frames.next()] == [
        b'{"t":"ack","upto":"x"}',
        ACK,
        None,
    ]
    assert taken == []


class Flow:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause_reading(self) -> None:
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.calls.append("resume")


async def test_reading_stops_past_the_bound_and_restarts_once_the_loop_caught_up() -> None:
    flow = Flow()
    frames = QueuedFrames(max_bytes=100, flow=flow)
    for _ in range(3):
        frames.feed(b"x" * 40)
    assert flow.calls == ["pause"] and frames.paused and frames.queued_bytes == 120
    frames.feed(b"y" * 40)  # what one read from the socket still held: queued, no second pause
    assert flow.calls == ["pause"]
    assert await frames.next() == b"x" * 40
    assert await frames.next() == b"x" * 40
    assert flow.calls == ["pause"]  # 80 bytes left: above half the bound
    await frames.next()
    assert flow.calls == ["pause", "resume"] and not frames.paused
    assert await frames.next() == b"y" * 40
    assert frames.queued_bytes == 0


class Left(Deferred):
    """What a handler left for the read loop."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


async def test_a_message_is_taken_on_the_spot_only_while_the_read_loop_waits_and_what_is_left_keeps_its_place() -> (
    None
):
    frames = QueuedFrames(max_bytes=1000)
    seen: list[bytes] = []

    def on_frame(data: bytes) -> bytes | Deferred | None:
        seen.append(data)
        return Left(data) if data.endswith(b"later") else None

    frames.taker = Taker([], on_frame)
    frames.feed(b"a")  # the read loop is not waiting yet (it is busy): queued, not offered
    assert seen == [] and await frames.next() == b"a"

    reader = asyncio.ensure_future(frames.next())
    await asyncio.sleep(0)  # the read loop now waits
    frames.feed(b"b")  # taken on the spot: the read loop is not woken
    assert seen == [b"b"] and not reader.done()
    frames.feed(b"c later")  # begun on the spot, finished by the read loop
    frames.feed(b"d")  # behind it: queued for the read loop, not offered
    assert seen == [b"b", b"c later"]
    left = await reader
    assert isinstance(left, Left) and left.data == b"c later"
    assert frames.queued_bytes == 1  # only "d" counts against the bound
    assert await frames.next() == b"d"
    assert frames.queued_bytes == 0
    frames.feed_eof()
    assert await frames.next() is None


async def test_a_detached_connection_starts_a_drain_only_for_what_waits_and_each_drain_ends_when_idle() -> (
    None
):
    frames = QueuedFrames()
    taken: list[bytes] = []
    left = Deferred()
    frames.taker = Taker(taken, take=lambda data: None if data == b"cached" else left)
    frames.feed(b"early")  # before the read loop ends (e.g. right behind hello): drained at once
    frames.detach()
    assert taken == [b"resume"]
    frames.feed(b"cached")  # a drain runs: the message keeps its place behind the queued one
    assert [frames.take_nowait(), frames.take_nowait(), frames.take_nowait()] == [b"early", b"cached", IDLE]
    taken.clear()
    frames.feed(ACK)
    frames.feed(b"cached")  # idle, nothing queued: both taken on the spot, no task
    assert taken == [ACK]
    frames.feed(SEND)  # left for later: one drain for it
    frames.feed(SEND)
    assert taken == [ACK, b"resume"]
    assert [frames.take_nowait(), frames.take_nowait(), frames.take_nowait()] == [left, SEND, IDLE]
    frames.feed_eof()  # the end starts a drain too, which reads it
    assert taken == [ACK, b"resume", b"resume"]
    assert frames.take_nowait() is None
