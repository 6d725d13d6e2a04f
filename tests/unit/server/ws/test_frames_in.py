"""QueuedFrames' ack fast path: an ack is taken on the spot only when nothing is queued before it,
and anything the handler refuses still reaches the read loop, in order."""

from __future__ import annotations

from collections.abc import Callable

from passerelle.server.ws.frames_in import QueuedFrames

ACK = b'{"t":"ack","upto":5}'
SEND = b'{"t":"send","id":"c1","conv":"g_1","body":{}}'


def taker(taken: list[bytes]) -> Callable[[bytes], bool]:
    def take(data: bytes) -> bool:
        taken.append(data)
        return True

    return take


async def test_an_ack_with_nothing_queued_before_it_is_taken_on_the_spot() -> None:
    frames = QueuedFrames()
    taken: list[bytes] = []
    frames.on_ack = taker(taken)
    frames.feed(ACK)
    frames.feed_eof()
    assert taken == [ACK]
    assert await frames.next() is None


async def test_an_ack_behind_a_queued_frame_waits_its_turn_and_refused_ones_go_to_the_read_loop() -> None:
    frames = QueuedFrames()
    taken: list[bytes] = []
    frames.on_ack = taker(taken)
    frames.feed(SEND)
    frames.feed(ACK)  # behind the send: keeps its place
    assert [await frames.next(), await frames.next()] == [SEND, ACK]
    frames.on_ack = lambda data: False  # e.g. malformed: the read loop answers it
    frames.feed(b'{"t":"ack","upto":"x"}')
    frames.on_ack = None
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
