"""Lines typed on standard input, read without blocking the event loop.

The event loop watches the file descriptor (``add_reader``) only while someone waits for a line, so
a password prompt (``getpass`` reads the terminal itself) can run between two reads without racing
it. Nothing is set non-blocking: a terminal shares its open file with standard output, and making
one non-blocking would make writes to the other fail. Bytes are read with ``os.read`` once the
descriptor is readable (which then returns at once), never through ``sys.stdin``'s buffer.
"""

from __future__ import annotations

import asyncio
import os

CHUNK = 65536


class StdinLines:
    def __init__(self, fd: int = 0) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._eof = False

    async def readline(self) -> str | None:
        """The next line without its end, or None at the end of the input."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                raw = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return raw.decode("utf-8", "replace").rstrip("\r")
            if self._eof:
                if not self._buffer:
                    return None
                raw = bytes(self._buffer)
                self._buffer.clear()
                return raw.decode("utf-8", "replace")
            chunk = await self._read()
            if chunk:
                self._buffer += chunk
            else:
                self._eof = True

    async def _read(self) -> bytes:
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not readable.done():
                readable.set_result(None)

        try:
            loop.add_reader(self._fd, wake)
        except (PermissionError, NotImplementedError):
            # A regular file (epoll refuses them; reading one never waits) or a loop without
            # add_reader (Windows): a thread does the read.
            return await asyncio.to_thread(os.read, self._fd, CHUNK)
        try:
            await readable
        finally:
            loop.remove_reader(self._fd)
        return os.read(self._fd, CHUNK)
