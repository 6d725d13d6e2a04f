"""The demo's server, in this process: the one module of the demo that reaches into
``passerelle.server`` (its runner, its JSON log format for the capture, and the self-run business
endpoint that ``passerelle demo business`` runs beside its bot); the rest of the demo is clients on
the SDK and the Cloud API. pyproject.toml's import contracts allow exactly these imports.

``captured_logs`` records every log line of the server (and of the in-process clients) while the
demo runs, formatted as the server writes them, for the proof to search.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from passerelle.cli.demo.people import SmsStandIn
from passerelle.config import Settings, load_settings
from passerelle.server.endpoint.selfrun import SelfRun, SelfRunOptions
from passerelle.server.logs import JsonFormatter
from passerelle.server.runner import running_server


def demo_settings(server_dir: Path, **overrides: object) -> Settings:
    """The bundled apps, SQLite in ``server_dir`` whatever the environment says, one process."""
    return load_settings(
        None, data_dir=server_dir, database_url="", redis_url="", janitor_interval_s=3600.0, **overrides
    )


@asynccontextmanager
async def self_run_endpoint(server_url: str, data_dir: Path, enrolment_token: str) -> AsyncIterator[str]:
    """A business's self-run endpoint (what ``passerelle business-endpoint run`` runs), enrolled
    with ``enrolment_token`` and serving its bot's Cloud API on 127.0.0.1 and a free port, until
    the block ends; yields its base URL."""
    sock = socket.create_server(("127.0.0.1", 0))
    options = SelfRunOptions(server_url=server_url, data_dir=data_dir, enrolment_token=enrolment_token)
    endpoint = await SelfRun.open(options)
    try:
        await endpoint.start()
        task = asyncio.create_task(endpoint.serve(sockets=[sock]), name="business endpoint")
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            endpoint.stop()
            await task
    finally:
        await endpoint.close()
        sock.close()


@asynccontextmanager
async def demo_server(settings: Settings, phone: SmsStandIn) -> AsyncIterator[str]:
    """The real server on 127.0.0.1 and a free port, until the block ends; yields its URL."""
    async with running_server(settings, code_sender=phone) as server:
        yield server.url


CAPTURED_LOGGERS = ("passerelle", "uvicorn")
BUSINESS_LOGGER = "passerelle.bot"
"""A ``passerelle.bot`` bot's log (the customer's words at debug level): the business's, not the
server's, so not in the server's log that the proof searches."""


class LogCapture(logging.Handler):
    """Keeps every formatted log line in memory (a list append: nothing blocks the event loop)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(BUSINESS_LOGGER):
            return  # the business's bot runs in this process too (``demo shop``): its log is the business's
        try:
            self.lines.append(self.format(record))
        except Exception:  # the logging module's contract: report, never raise into the caller
            self.handleError(record)


@contextmanager
def captured_logs() -> Iterator[LogCapture]:
    """Every record of the server's loggers, at every level, goes to the capture (and nowhere
    else: the demo's console shows the conversation, not JSON lines)."""
    capture = LogCapture()
    saved = []
    for name in CAPTURED_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate, list(logger.handlers)))
        logger.handlers[:] = [capture]
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    try:
        yield capture
    finally:
        for logger, level, propagate, handlers in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
