"""Terminals for end-to-end tests: ``passerelle serve`` and ``passerelle chat`` as child processes,
driven through their standard input and read line by line, as a person would use them (no tmux)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

WAIT_S = 30.0
LISTENING = re.compile(r"passerelle is listening.*?(http://[^\s\",]+)")
"""The line ``passerelle serve`` logs once bound (console or JSON), with the URL it listens on."""

ALICE = ("--app", "photo", "--handle", "alice")
"""``passerelle chat`` arguments: Alice, on the photo app with her handle (a password app)."""
ALICE_LAPTOP = (*ALICE, "--new-device", "--device-name", "laptop")
"""Alice adding a second device, named "laptop", to her account."""


class Proc:
    """A child process; its output lines (stdout and stderr together) are collected as they come."""

    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.process = process
        self.lines: list[str] = []
        self._used: set[int] = set()
        self._changed = asyncio.Event()
        assert process.stdout is not None
        self._reader = asyncio.create_task(self._read(process.stdout), name=f"read {name}")

    @classmethod
    async def start(cls, name: str, *args: str, env: dict[str, str]) -> Proc:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "passerelle",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        return cls(name, process)

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
            self._changed.set()
        self._changed.set()

    def output(self) -> str:
        return "\n".join(self.lines)

    async def line(self, wanted: str | re.Pattern[str]) -> str:
        """The first line not returned before that contains ``wanted`` (or matches it), in any order."""
        try:
            async with asyncio.timeout(WAIT_S):
                while True:
                    for index, line in enumerate(self.lines):
                        hit = wanted.search(line) if isinstance(wanted, re.Pattern) else wanted in line
                        if hit and index not in self._used:
                            self._used.add(index)
                            return line
                    if self._reader.done():
                        raise AssertionError(
                            f"{self.name} ended without printing {wanted!r}:\n{self.output()}"
                        )
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"{self.name} did not print {wanted!r}:\n{self.output()}") from None

    async def type(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode("utf-8") + b"\n")
        await self.process.stdin.drain()

    async def end_input(self) -> None:
        assert self.process.stdin is not None
        if not self.process.stdin.is_closing():
            self.process.stdin.close()
            await self.process.stdin.wait_closed()

    async def exit_status(self) -> int:
        await self.end_input()
        async with asyncio.timeout(WAIT_S):
            status = await self.process.wait()
            await self._reader
        return status

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
        await self.exit_status()


class Terminals:
    """The test's terminals: a server and clients, all stopped at the end whatever happens."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_")}
        self.env |= {"PYTHONIOENCODING": "utf-8", "HOME": str(tmp_path)}
        self.started: list[Proc] = []
        self.server: Proc | None = None
        self.url = ""

    async def serve(self, *args: str, port: int | None = None) -> None:
        """Start ``passerelle serve``; on ``port``, else on a port it picks (``--port 0``) and says."""
        data = str(self.tmp_path / "server")
        listen = str(port) if port is not None else "0"
        self.server = await self.run("server", "serve", "--data-dir", data, "--port", listen, *args)
        listening = await self.server.line(LISTENING)
        match = LISTENING.search(listening)
        assert match is not None
        self.url = match.group(1)

    async def run(self, name: str, *args: str, password: str | None = None) -> Proc:
        env = self.env | ({"PASSERELLE_PASSWORD": password} if password else {})
        proc = await Proc.start(name, *args, env=env)
        self.started.append(proc)
        return proc

    async def chat(self, name: str, *args: str, password: str | None = None) -> Proc:
        store = str(self.tmp_path / name)
        return await self.run(name, "chat", "--server", self.url, "--store", store, *args, password=password)

    async def code_for(self, phone: str) -> str:
        assert self.server is not None
        line = await self.server.line(f"code for chat:{phone}:")
        return line.rsplit(" ", 1)[1]

    async def stop_all(self) -> None:
        for proc in reversed(self.started):
            await proc.stop()
