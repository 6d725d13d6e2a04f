"""Reaching the server before anything else: ``passerelle chat`` says at once which URL does not
answer, and every time it tries again.

An interactive session keeps trying until the server answers or the person presses Ctrl-C (and
says so); ``--send`` and ``--receive`` try for ``--timeout`` seconds, then exit with a clear line.
The waits between tries are the retry schedule itself, not a way to synchronise.
"""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
from rich.console import Console
from rich.text import Text

RETRY_DELAYS_S = (1.0, 2.0, 4.0, 8.0)
"""Between tries; the last one repeats."""
PROBE_TIMEOUT_S = 5.0


class ServerUnreachable(Exception):
    """The server did not answer in the time allowed; the message says where and what to check."""


def _reason(exc: httpx.HTTPError) -> str:
    """Why a request failed, in words: ``connection refused``, ``unknown host``, ``no answer in 5 s``."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in {PROBE_TIMEOUT_S:g} s"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused: nothing listens there"
        if isinstance(cause, socket.gaierror):
            return "unknown host"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        cause = cause.__cause__ or cause.__context__
    text = str(exc).strip()
    return text[:1].lower() + text[1:] if text else type(exc).__name__


def _seconds(delay: float) -> str:
    return f"{delay:.1f}".rstrip("0").rstrip(".")


async def _probe(http: httpx.AsyncClient, url: str) -> str | None:
    """None when the server answers ``/healthz``; otherwise why not."""
    try:
        response = await http.get(f"{url.rstrip('/')}/healthz")
    except httpx.HTTPError as exc:
        return _reason(exc)
    if response.status_code != 200:
        return f"it answered HTTP {response.status_code} to /healthz: is it a Passerelle server?"
    return None


async def reach(url: str, console: Console, *, within_s: float | None = None) -> None:
    """Return once the server at ``url`` answers. ``within_s`` None: keep trying (Ctrl-C stops);
    otherwise raise ServerUnreachable after that many seconds."""
    started = time.monotonic()
    tries = 0
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S) as http:
        while (why := await _probe(http, url)) is not None:
            delay = RETRY_DELAYS_S[min(tries, len(RETRY_DELAYS_S) - 1)]
            tries += 1
            left = None if within_s is None else within_s - (time.monotonic() - started)
            if left is not None and left <= 0:
                raise ServerUnreachable(
                    f"cannot reach the server at {url} ({why}) after {tries} tries in {within_s:g} s; is "
                    "`passerelle serve` running there? (--server or PASSERELLE_SERVER names another one)"
                )
            if left is not None:
                delay = min(delay, left)
            if tries == 1:
                until = "until it answers (Ctrl-C to stop)" if within_s is None else f"for {within_s:g} s"
                console.print(
                    Text(f"✗ cannot reach the server at {url} ({why}); trying again {until}", style="red")
                )
            console.print(Text(f"  … try {tries + 1} in {_seconds(delay)} s", style="dim"))
            await asyncio.sleep(delay)
    if tries:
        console.print(Text(f"✓ the server at {url} answers", style="green"))
