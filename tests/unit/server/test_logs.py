"""The two log formats: readable console lines by default, JSON lines on demand; the same fields."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from passerelle.server.logs import configure_logging, make_formatter


@pytest.fixture
def restore_logging() -> Iterator[None]:
    names = ("passerelle", "uvicorn", "uvicorn.error")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level) for n in names}
    access_disabled = logging.getLogger("uvicorn.access").disabled
    yield
    for name, (handlers, level) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).setLevel(level)
    logging.getLogger("uvicorn.access").disabled = access_disabled


def emit(fmt: str) -> str:
    stream = io.StringIO()
    configure_logging("info", fmt, stream=stream)
    log = logging.getLogger("passerelle.access")
    log.info("request", extra={"method": "GET", "route": "/v1/lookup", "status": 200, "ms": 1.5})
    logging.getLogger("passerelle.server").info("passerelle is ready", extra={"apps": ["chat", "photo"]})
    logging.getLogger("passerelle.server").debug("not shown at info")
    return stream.getvalue()


@pytest.mark.usefixtures("restore_logging")
def test_the_console_format_is_one_readable_line_per_event() -> None:
    lines = emit("console").splitlines()
    assert len(lines) == 2
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO    passerelle\.access: request  "
        r"method=GET route=/v1/lookup status=200 ms=1\.5",
        lines[0],
    )
    assert lines[1].endswith("passerelle.server: passerelle is ready  apps=chat,photo")


@pytest.mark.usefixtures("restore_logging")
def test_the_json_format_is_one_object_per_line_with_the_same_fields() -> None:
    entries = [json.loads(line) for line in emit("json").splitlines()]
    assert [e["msg"] for e in entries] == ["request", "passerelle is ready"]
    first = entries[0]
    assert {k: first[k] for k in ("level", "logger", "method", "route", "status", "ms")} == {
        "level": "info",
        "logger": "passerelle.access",
        "method": "GET",
        "route": "/v1/lookup",
        "status": 200,
        "ms": 1.5,
    }
    assert isinstance(first["ts"], float)
    assert entries[1]["apps"] == ["chat", "photo"]


def test_console_values_with_spaces_are_quoted_and_tracebacks_follow() -> None:
    formatter = make_formatter("console")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord("passerelle.x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    record.reason = "two words"
    text = formatter.format(record)
    assert 'ERROR   passerelle.x: failed  reason="two words"\nTraceback' in text
    assert text.rstrip().endswith("RuntimeError: boom")


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log_format must be one of console, json"):
        make_formatter("xml")
