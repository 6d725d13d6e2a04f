"""Groups: members, roles, invites."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from passerelle.domain.ids import (
    AccountId,
    ConversationId,
    Timestamp,
)
from passerelle.service.groups.records import GroupDevices, InviteRecord, Role
from passerelle.service.records import (
    ConversationRecord,
)


class GroupStore(Protocol):
    """Groups: members with roles, invite links and the fan-out list (docs/protocol.md section 10)."""

    async def create_group(
        self, conv: ConversationId, creator: AccountId, members: Sequence[AccountId], *, now: Timestamp
    ) -> ConversationRecord:
        """A new group conversation; ``creator`` is its admin, the others plain members."""
        ...

    async def group_roles(self, conv: ConversationId) -> dict[AccountId, Role]:
        """Members and their roles; empty when ``conv`` is not a group."""
        ...

    async def add_members(self, conv: ConversationId, accounts: Sequence[AccountId]) -> list[AccountId]:
        """Add the accounts that are not members yet (an admin's act: it lifts their bar, see
        ``remove_member``); returns those."""
        ...

    async def remove_member(
        self, conv: ConversationId, account: AccountId, *, barred_at: Timestamp | None = None
    ) -> bool:
        """Remove a member; with ``barred_at`` (an admin's removal) the person is also barred from
        joining by invite link until ``add_members`` adds them again. False when not a member."""
        ...

    async def is_barred(self, conv: ConversationId, account: AccountId) -> bool:
        """True when an admin removed the account and nobody added it back since."""
        ...

    async def join_group(self, conv: ConversationId, account: AccountId) -> bool:
        """Add the account as a plain member (a join by invite link) unless it is barred, in one
        statement; True when it is a member afterwards."""
        ...

    async def set_role(self, conv: ConversationId, account: AccountId, role: Role) -> bool: ...

    async def group_devices(self, conv: ConversationId) -> GroupDevices:
        """Every member with its app and its devices, in one read (the fan-out of a group send)."""
        ...

    async def groups_of(self, account: AccountId) -> list[ConversationId]: ...

    async def create_invite(self, invite: InviteRecord) -> None: ...

    async def find_invite(self, token_hash: str) -> InviteRecord | None: ...

    async def list_invites(self, conv: ConversationId) -> list[InviteRecord]: ...

    async def delete_invite(self, conv: ConversationId, invite_id: str) -> bool: ...
