"""Groups of ``MemoryStore`` (``GroupStore``): members with roles, bars, invite links and the
fan-out list. A group is a conversation of kind ``group``."""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.domain.conversations import ConversationKind
from passerelle.domain.ids import AccountId, ConversationId, Timestamp
from passerelle.service.groups.records import GroupDevices, InviteRecord, Role
from passerelle.service.records import ConversationRecord
from passerelle.storage.memory.conversations import insert_conversation
from passerelle.storage.memory.database import IntegrityError
from passerelle.storage.memory.part import MemoryPart


class MemoryGroupStore(MemoryPart):
    async def create_group(
        self, conv: ConversationId, creator: AccountId, members: Sequence[AccountId], *, now: Timestamp
    ) -> ConversationRecord:
        db = await self._begin()
        roles = {creator: Role.ADMIN} | {m: Role.MEMBER for m in members if m != creator}
        return insert_conversation(db, conv, ConversationKind.GROUP, now, roles)

    async def group_roles(self, conv: ConversationId) -> dict[AccountId, Role]:
        db = await self._begin()
        row = db.conversations.get(conv)
        if row is None or row.kind is not ConversationKind.GROUP:
            return {}
        return {account: row.members[account] for account in sorted(row.members)}

    async def add_members(self, conv: ConversationId, accounts: Sequence[AccountId]) -> list[AccountId]:
        """An admin's add: it lifts the person's bar, member already or not."""
        db = await self._begin()
        wanted = list(dict.fromkeys(accounts))
        if not wanted:
            return []
        row = db.need_conversation(conv)
        db.need_account(*wanted)
        added: list[AccountId] = []
        for account in wanted:
            db.group_bars.pop((conv, account), None)
            if account not in row.members:
                row.members[account] = Role.MEMBER
                added.append(account)
        return added

    async def remove_member(
        self, conv: ConversationId, account: AccountId, *, barred_at: Timestamp | None = None
    ) -> bool:
        db = await self._begin()
        row = db.conversations.get(conv)
        if row is None or row.members.pop(account, None) is None:
            return False
        if barred_at is not None:
            db.group_bars[(conv, account)] = barred_at
        return True

    async def is_barred(self, conv: ConversationId, account: AccountId) -> bool:
        db = await self._begin()
        return (conv, account) in db.group_bars

    async def join_group(self, conv: ConversationId, account: AccountId) -> bool:
        db = await self._begin()
        if (conv, account) in db.group_bars:
            row = db.conversations.get(conv)
            return row is not None and account in row.members
        row = db.need_conversation(conv)
        if account not in row.members:
            db.need_account(account)
            row.members[account] = Role.MEMBER
        return True

    async def set_role(self, conv: ConversationId, account: AccountId, role: Role) -> bool:
        db = await self._begin()
        row = db.conversations.get(conv)
        if row is None or account not in row.members:
            return False
        row.members[account] = role
        return True

    async def group_devices(self, conv: ConversationId) -> GroupDevices:
        """Every member of the conversation (of any kind) with its app and devices."""
        db = await self._begin()
        row = db.conversations.get(conv)
        members = sorted(row.members) if row is not None else []
        return GroupDevices(
            apps={a: db.accounts[a].app for a in members},
            devices={a: tuple(sorted(db.devices_of.get(a, ()))) for a in members},
        )

    async def groups_of(self, account: AccountId) -> list[ConversationId]:
        db = await self._begin()
        return sorted(
            conv
            for conv, row in db.conversations.items()
            if row.kind is ConversationKind.GROUP and account in row.members
        )

    async def create_invite(self, invite: InviteRecord) -> None:
        db = await self._begin()
        db.need_conversation(invite.conv)
        db.need_account(invite.created_by)
        if invite.id in db.group_invites:
            raise IntegrityError(f"invite {invite.id!r} exists already")
        if any(i.token_hash == invite.token_hash for i in db.group_invites.values()):
            raise IntegrityError("an invite with that token hash exists already")
        db.group_invites[invite.id] = invite

    async def find_invite(self, token_hash: str) -> InviteRecord | None:
        db = await self._begin()
        return next((i for i in db.group_invites.values() if i.token_hash == token_hash), None)

    async def list_invites(self, conv: ConversationId) -> list[InviteRecord]:
        db = await self._begin()
        found = [i for i in db.group_invites.values() if i.conv == conv]
        return sorted(found, key=lambda i: (i.created_at, i.id))

    async def delete_invite(self, conv: ConversationId, invite_id: str) -> bool:
        db = await self._begin()
        invite = db.group_invites.get(invite_id)
        if invite is None or invite.conv != conv:
            return False
        del db.group_invites[invite_id]
        return True
