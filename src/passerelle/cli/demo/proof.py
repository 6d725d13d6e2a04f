"""The demo's proof: the server never had the plaintext.

``captured_logs`` records every log line of the server (and of the in-process clients) while the
demo runs; ``find_plaintext`` then searches those lines and every byte of the server's data
directory for each text that was sent, as UTF-8, as JSON escapes it (``\\u00e7``) and as UTF-16.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from passerelle.server.logs import JsonFormatter

CAPTURED_LOGGERS = ("passerelle", "uvicorn")


class LogCapture(logging.Handler):
    """Keeps every formatted log line in memory (a list append: nothing blocks the event loop)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
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


def encodings(text: str) -> set[bytes]:
    """The ways ``text`` could sit in a file: UTF-8, JSON-escaped (ASCII and not), UTF-16."""
    return {
        text.encode("utf-8"),
        json.dumps(text)[1:-1].encode("ascii"),
        json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8"),
        text.encode("utf-16-le"),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    text: str
    where: str


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def find_plaintext(texts: Iterable[str], files: Iterable[Path], log_lines: Iterable[str]) -> list[Finding]:
    """Every (text, place) where a plaintext appears. Blocking file reads: run it in a thread."""
    texts = list(texts)
    found: list[Finding] = []
    for path in files:
        data = path.read_bytes()
        found += [Finding(text=t, where=str(path)) for t in texts if any(f in data for f in encodings(t))]
    log = "\n".join(log_lines).encode("utf-8")
    found += [
        Finding(text=t, where="the server's logs") for t in texts if any(f in log for f in encodings(t))
    ]
    return found
