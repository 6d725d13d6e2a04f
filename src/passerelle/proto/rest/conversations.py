"""Conversations and disappearing timers (docs/protocol.md §4.9), health (§4.10)."""

from __future__ import annotations

import msgspec

from passerelle.proto.rest.base import Answer, Body


class OpenDirect(Body):
    """``POST /v1/conversations``: the direct conversation with an account."""

    with_: str = msgspec.field(name="with")


class SetTimer(Body):
    """``PUT /v1/conversations/{conv}/timer`` (seconds, 0 for none)."""

    timer: int


class ConversationInfo(Answer, frozen=True):
    conv: str
    kind: str
    members: list[str]
    timer: int = 0


class Conversations(Answer, frozen=True):
    """``GET /v1/conversations``."""

    conversations: list[ConversationInfo]


class Health(Answer, frozen=True):
    """``GET /healthz`` ("ok") and ``GET /readyz`` ("ready" or "unavailable")."""

    status: str
