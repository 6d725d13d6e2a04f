"""Groups (docs/protocol.md §10.2). Names and avatars are never here: they travel encrypted inside
the group."""

from __future__ import annotations

from passerelle.proto.rest.base import Answer, Body

# --- requests ---------------------------------------------------------------------------------------


class CreateGroup(Body):
    """``POST /v1/groups``: the other members (the caller is the first admin)."""

    members: list[str]


class AddMembers(Body):
    """``POST /v1/groups/{conv}/members``."""

    accounts: list[str]


class JoinGroup(Body):
    """``POST /v1/groups/join``: the secret of an invite link."""

    token: str


# --- answers ----------------------------------------------------------------------------------------


class GroupInfo(Answer, frozen=True, kw_only=True):
    """Every answer that shows a group."""

    conv: str
    kind: str = "group"
    members: list[str]
    admins: list[str]
    timer: int = 0


class InviteLink(Answer, frozen=True, omit_defaults=True):
    """An invite link; only ``token`` has a default, left out of listings."""

    invite_id: str
    created_by: str
    created_at: int
    token: str | None = None
    """Only in the answer that created it: the secret to pass on (never shown again)."""


class InviteLinks(Answer, frozen=True):
    """``GET /v1/groups/{conv}/invites``."""

    invites: list[InviteLink]
