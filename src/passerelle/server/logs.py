"""Structured logs on stderr: each event is a message and named fields, in one of two formats.

- ``console`` (the default): one readable line per event, ``2026-05-14 14:03:07 INFO
  passerelle.server: passerelle is ready  apps=chat,photo,social``.
- ``json``: one JSON object per line, ``{"ts", "level", "logger", "msg", ...fields}``, for a collector.

What is never logged: message content (the server never has it), keys, tokens, codes (except by the
development console code sender, which exists to print them), passwords, query strings (a lookup's
query holds a phone number). The access log records the route template, not the URL.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
FORMATS = ("console", "json")


def _fields(record: logging.LogRecord) -> Iterator[tuple[str, Any]]:
    """The named fields a call passed with ``extra=``."""
    for key, value in record.__dict__.items():
        if key not in _STANDARD and not key.startswith("_"):
            yield key, value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


_NEEDS_QUOTES = re.compile(r'[\s"=]')
"""A console value with whitespace (``str.isspace``'s), a quote or ``=`` is written as a JSON string."""


def _console_value(value: Any) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(_console_value(v) for v in value)
    text = str(value)
    if not text or _NEEDS_QUOTES.search(text) is not None:
        return json.dumps(text, ensure_ascii=False)
    return text


class ConsoleFormatter(logging.Formatter):
    """``2026-05-14 14:03:07 INFO    passerelle.access: request  method=GET route=/v1/apps status=200``
    (local time; a traceback, when there is one, follows on the next lines)."""

    _second = -1
    _when = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # one strftime a second, not one a line
            self._second, self._when = second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        when = self._when
        line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
        fields = " ".join(f"{k}={_console_value(v)}" for k, v in _fields(record))
        if fields:
            line = f"{line}  {fields}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def make_formatter(fmt: str) -> logging.Formatter:
    """The formatter for a ``log_format`` setting: ``console`` or ``json`` (ValueError otherwise)."""
    if fmt == "json":
        return JsonFormatter()
    if fmt == "console":
        return ConsoleFormatter()
    raise ValueError(f"log_format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def configure_logging(level: str = "info", fmt: str = "console", stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(make_formatter(fmt))
    root = logging.getLogger("passerelle")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    # Nothing here formats the caller's file and line, thread or process (the logging HOWTO's
    # "Optimization"): not looking them up is ~15 % of a line's cost (the access log's, above all).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = [handler]
        logging.getLogger(name).propagate = False
    logging.getLogger("uvicorn.access").disabled = True


class AccessLog:
    """Pure ASGI middleware: one line per HTTP request with the route template, status and duration."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.log = logging.getLogger("passerelle.access")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "(unmatched)"
            self.log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "route": path,
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
