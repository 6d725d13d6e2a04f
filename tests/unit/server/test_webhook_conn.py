"""``server.webhook_conn.Poster``, the webhook outbox's HTTP/1.1 client, against a bot written as a
bare asyncio server: what reaches the bot byte for byte, what the outbox gets back, and that a
connection is used again only when that is safe."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from passerelle.server.webhook_conn import MAX_DRAIN_BYTES, Poster

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]
"""Given the request's body, write an answer; False to close the connection after it."""


@dataclass
class Bot:
    answer: Answer
    connections: int = 0
    requests: list[tuple[bytes, dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                first, *lines = head.decode("latin-1").split("\r\n")[:-2]
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
                body = await reader.readexactly(int(headers["content-length"]))
                self.requests.append((first.encode(), headers, body))
                if not await self.answer(body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def bot(answer: Answer) -> AsyncIterator[Bot]:
    b = Bot(answer)
    server = await asyncio.start_server(b.serve, "127.0.0.1", 0)
    b.port = server.sockets[0].getsockname()[1]
    try:
        yield b
    finally:
        server.close()


def ok(text: bytes = b"ok", *, keep: bool = True) -> Answer:
    async def answer(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(text), text))
        await writer.drain()
        return keep

    return answer


SIGNED = {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "ab" * 32}


async def test_the_exact_bytes_and_headers_reach_the_bot_on_one_kept_connection() -> None:
    poster = Poster(max_connections=4)
    async with bot(ok(b"fine")) as b:
        url = f"http://127.0.0.1:{b.port}/hook/a b?x=1"
        bodies = [b'{"n":1,"t":"\xc3\xa9"}', b'{"n":2}']
        answers = [await poster.post(url, body, SIGNED, timeout_s=5.0) for body in bodies]
    await poster.aclose()
    assert answers == [(200, b"fine"), (200, b"fine")]
    assert [body for _, _, body in b.requests] == bodies
    first, headers, _ = b.requests[0]
    assert first == b"POST /hook/a%20b?x=1 HTTP/1.1"
    assert headers["host"] == f"127.0.0.1:{b.port}"
    assert headers["x-hub-signature-256"] == SIGNED["X-Hub-Signature-256"]
    assert headers["content-type"] == "application/json"
    assert b.connections == 1  # kept alive


async def test_a_connection_the_bot_closed_is_not_used_again() -> None:
    poster = Poster(max_connections=4)
    async with bot(ok(keep=False)) as b:
        url = f"http://127.0.0.1:{b.port}/"
        for n in range(3):
            assert await poster.post(url, b"%d" % n, SIGNED, timeout_s=5.0) == (200, b"ok")
            await asyncio.sleep(0.05)
    await poster.aclose()
    assert [body for _, _, body in b.requests] == [b"0", b"1", b"2"]  # each once
    assert b.connections == 3


async def test_a_redirect_is_an_answer_not_followed() -> None:
    async def moved(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 301 Moved\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n")
        return True

    poster = Poster(max_connections=1)
    async with bot(moved) as b:
        assert await poster.post(f"http://127.0.0.1:{b.port}/", b"{}", SIGNED, timeout_s=5.0) == (301, b"")
    await poster.aclose()
    assert len(b.requests) == 1


async def test_a_chunked_answer_is_read_and_a_long_one_only_in_part() -> None:
    async def chunked(body: bytes, writer: asyncio.StreamWriter) -> bool:
        if body == b"long":
            size = MAX_DRAIN_BYTES * 2
            writer.write(b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size)
        else:
            writer.write(b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        await writer.drain()
        return True

    poster = Poster(max_connections=2)
    async with bot(chunked) as b:
        url = f"http://127.0.0.1:{b.port}/"
        assert await poster.post(url, b"short", SIGNED, timeout_s=5.0) == (202, b"abc")
        status, head = await poster.post(url, b"long", SIGNED, timeout_s=5.0, keep=10)
        assert (status, head) == (500, b"x" * 10)
        assert await poster.post(url, b"after", SIGNED, timeout_s=5.0) == (202, b"abc")
    await poster.aclose()
    assert b.connections == 2  # the long answer's connection was not used again


async def test_a_bot_that_does_not_answer_times_out_and_a_closed_port_is_an_os_error() -> None:
    async def silent(body: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(30)
        return False

    poster = Poster(max_connections=1)
    async with bot(silent) as b:
        with pytest.raises(TimeoutError):
            await poster.post(f"http://127.0.0.1:{b.port}/", b"{}", SIGNED, timeout_s=0.3)
        port = b.port
    with pytest.raises(ConnectionRefusedError):
        await poster.post(f"http://127.0.0.1:{port}/", b"{}", SIGNED, timeout_s=2.0)
    # the slot taken by the request that timed out was given back
    async with bot(ok()) as b2:
        assert await poster.post(f"http://127.0.0.1:{b2.port}/", b"{}", SIGNED, timeout_s=2.0) == (200, b"ok")
    await poster.aclose()


async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    poster = Poster(max_connections=1)
    async with bot(ok()) as b:
        with pytest.raises(OSError, match="line break"):
            await poster.post(
                f"http://127.0.0.1:{b.port}/", b"{}", {"X-Evil": "a\r\nHost: other"}, timeout_s=2.0
            )
    await poster.aclose()
    assert b.requests == []


async def test_an_informational_answer_is_passed_over_and_a_bad_port_is_an_os_error() -> None:
    async def hints(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)  # read apart from the answer that follows
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        return True

    poster = Poster(max_connections=1)
    async with bot(hints) as b:
        url = f"http://127.0.0.1:{b.port}/"
        # each answer is its own request's, on the one kept connection
        assert [await poster.post(url, b"%d" % n, SIGNED, timeout_s=5.0) for n in range(3)] == [
            (200, b"0"),
            (200, b"1"),
            (200, b"2"),
        ]
    with pytest.raises(OSError, match="port"):
        await poster.post("http://127.0.0.1:99999/", b"{}", SIGNED, timeout_s=2.0)
    await poster.aclose()
    assert b.connections == 1
