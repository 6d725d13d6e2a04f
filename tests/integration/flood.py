"""An attacker's WebSocket client for flood tests: it writes frames as fast as the socket takes them and
reads nothing, over a bare asyncio stream (no library between it and the server's backpressure).
And what the tests measure: the server's memory (this process's: the server runs in it) and the
size of its database files."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MIB = 1024 * 1024


def client_frame(payload: bytes, opcode: int = 1) -> bytes:
    """One masked, final frame (the mask is zeros: legal, and the payload goes as it is)."""
    size = len(payload)
    if size < 126:
        head = bytes((0x80 | opcode, 0x80 | size))
    elif size < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + struct.pack("!H", size)
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + struct.pack("!Q", size)
    return head + b"\0\0\0\0" + payload


@dataclass
class Flooder:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    written: int = 0

    @classmethod
    async def connect(cls, ws_url: str, token: str) -> Flooder:
        url = urlsplit(ws_url)
        assert url.hostname is not None and url.port is not None
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert b" 101 " in head.split(b"\r\n", 1)[0], head
        flooder = cls(reader, writer)
        writer.write(client_frame(json.dumps({"t": "hello", "token": token}).encode()))
        _, welcome = await flooder.read_frame()
        assert json.loads(welcome)["t"] == "welcome", welcome
        return flooder

    async def flood(self, chunks: list[bytes], seconds: float, each: Callable[[], None]) -> bool:
        """Write the chunks round and round for ``seconds``; True if the server closed the socket.
        Blocks in ``drain`` whenever the server stops reading (that is the backpressure)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                try:
                    while True:
                        for chunk in chunks:
                            self.writer.write(chunk)
                            self.written += len(chunk)
                            each()
                            await self.writer.drain()
                except ConnectionError:
                    return True
        return False

    async def read_frame(self) -> tuple[int, bytes]:
        """The next frame from the server: (opcode, payload)."""
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return first & 0x0F, await self.reader.readexactly(size)

    async def errors_until_closed(self, within: float) -> tuple[list[dict[str, Any]], int | None]:
        """Read what the server sent until it closes (or ``within`` runs out): its error frames and
        its close code (None if it did not close)."""
        errors: list[dict[str, Any]] = []
        with contextlib.suppress(TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            async with asyncio.timeout(within):
                while True:
                    opcode, payload = await self.read_frame()
                    if opcode == 8:
                        return errors, struct.unpack("!H", payload[:2])[0] if payload else 1005
                    if opcode == 1:
                        frame = json.loads(payload)
                        if frame["t"] == "error":
                            errors.append(frame)
        return errors, None

    def close(self) -> None:
        self.writer.close()


class Memory:
    """This process's peak resident memory over a stretch (the kernel's high-water mark, reset at
    the start where Linux allows it; else the largest of the samples taken with ``sample``)."""

    def __init__(self) -> None:
        self.start = self.rss()
        self._peak = self.start
        self._reset = False
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")
            self._reset = True

    @staticmethod
    def _field(name: str) -> int:
        status = Path("/proc/self/status").read_text()
        found = re.search(rf"^{name}:\s+(\d+) kB", status, re.MULTILINE)
        assert found is not None, status
        return int(found.group(1)) * 1024

    def rss(self) -> int:
        return self._field("VmRSS")

    def sample(self) -> None:
        self._peak = max(self._peak, self.rss())

    def peak(self) -> int:
        self.sample()
        return max(self._peak, self._field("VmHWM")) if self._reset else self._peak


def files_size(files: list[Path]) -> int:
    return sum(path.stat().st_size for path in files if path.exists())


def faults_in(log_file: Path) -> list[dict[str, Any]]:
    """The server's log lines that tell of a fault: errors (tracebacks) and 5xx answers."""
    faults: list[dict[str, Any]] = []
    for line in log_file.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("level") in ("error", "critical") or int(record.get("status", 0)) >= 500:
            faults.append(record)
    return faults
