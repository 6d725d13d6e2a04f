"""The values of groups that cross the store ports (docs/protocol.md section 10)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from passerelle.domain.ids import AccountId, AppName, ConversationId, DeviceId, Timestamp

MAX_GROUP_MEMBERS = 1024


class Role(enum.StrEnum):
    MEMBER = "member"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True, kw_only=True)
class InviteRecord:
    id: str
    """Names the link for the group's admins (to list and revoke it); not a secret."""
    token_hash: str
    """SHA-256 of the secret token, hex; the token itself is never stored."""
    conv: ConversationId
    created_by: AccountId
    created_at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupDevices:
    """A group's fan-out: every member, its app (for retention) and its devices."""

    apps: dict[AccountId, AppName]
    devices: dict[AccountId, tuple[DeviceId, ...]]
