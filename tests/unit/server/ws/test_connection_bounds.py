"""A connection's outbound queue (ASGI: frames wait for the pump) is bounded in frames and in bytes."""

from __future__ import annotations

from passerelle.server.ws.connection import SLOW_CONSUMER, Connection, WriteBatcher


class Awaited:
    """A transport whose sends are awaited (as ASGI's are): frames queue for the pump."""

    direct = False

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def write_now(self, data: bytes) -> None:
        raise AssertionError("not a direct transport")

    def write_many(self, frames: list[bytes]) -> None:
        raise AssertionError("not a direct transport")

    def buffered(self) -> int:
        return 0

    def is_closed(self) -> bool:
        return False

    async def send_text(self, data: bytes) -> None:
        self.sent.append(data)

    async def close(self, code: int, reason: str = "") -> None:
        pass

    def close_now(self, code: int, reason: str = "") -> None:
        pass


def test_a_client_that_does_not_read_is_closed_past_the_byte_bound() -> None:
    conn = Connection(Awaited(), max_frames=1000, max_buffer=10_000, batcher=WriteBatcher())
    for _ in range(3):
        conn.push(b"x" * 4000)
    assert conn.close_code is None and conn.out_bytes == 12_000
    conn.push(b"x" * 10)  # past the bound: closed, not queued
    assert conn.close_code == SLOW_CONSUMER
    assert conn.out_bytes == 12_000 and len(conn.out) == 3


async def test_the_pump_counts_down_what_it_wrote() -> None:
    transport = Awaited()
    conn = Connection(transport, max_frames=10, max_buffer=1000, batcher=WriteBatcher())

    async def nothing(_: Connection) -> None:
        return None

    conn.push(b"a" * 100)
    conn.push(b"b" * 100)
    conn.close(1000)
    await conn.pump(nothing)
    assert transport.sent == [b"a" * 100, b"b" * 100]
    assert conn.out_bytes == 0
