"""The two kinds of REST shape (see ``passerelle.proto.rest``) and the bounded strings of bodies."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec

T = TypeVar("T")

Short = Annotated[str, msgspec.Meta(max_length=128)]
"""Ids, keys, signatures, aliases: lengths here only bound the work, the rules live in the domain."""
Text = Annotated[str, msgspec.Meta(max_length=512)]
"""Names, reasons, passwords."""


class Body(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """A request body: unknown members are refused, members at their default are not sent."""


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """A response body: every member is sent (``UNSET`` ones excepted); unknown members are ignored."""


def encode(obj: Any) -> bytes:
    return msgspec.json.encode(obj)


def decode(data: bytes | str, kind: type[T]) -> T:
    """Decode JSON into ``kind``; raises msgspec.ValidationError / DecodeError (both MsgspecError)."""
    try:
        return msgspec.json.decode(data, type=kind)
    except RecursionError as exc:  # absurdly deep JSON
        raise msgspec.DecodeError("JSON nested too deeply") from exc
