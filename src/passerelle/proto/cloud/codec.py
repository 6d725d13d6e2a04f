"""Bytes in and out of the Cloud API's shapes. Decoding turns msgspec's complaint into a
``CloudBodyError`` naming the field (``$.text.body`` → ``text.body``)."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from passerelle.proto.cloud.errors import CloudBodyError

T = TypeVar("T")

_encoder = msgspec.json.Encoder(decimal_format="number")
"""Decimals (catalog prices in the ``order`` webhook) as JSON numbers, as the Cloud API writes them."""
_AT = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")


def decode(raw: bytes, kind: type[T]) -> T:
    """The body as ``kind``; ``CloudBodyError`` when it is not JSON or a member has the wrong type,
    length or count."""
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise _body_error(str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise CloudBodyError("", f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise CloudBodyError("", "the body is nested too deeply") from exc


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def _body_error(message: str) -> CloudBodyError:
    match = _AT.match(message)
    assert match is not None  # the pattern matches any text
    problem, path = match["problem"], (match["path"] or "").lstrip(".")
    missing = _MISSING.match(problem)
    if missing is not None:
        path = f"{path}.{missing['name']}" if path else missing["name"]
        problem = "is required"
    return CloudBodyError(path, problem[:1].lower() + problem[1:] if problem else "is not valid")
