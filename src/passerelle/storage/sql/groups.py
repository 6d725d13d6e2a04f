"""Groups: roles, invite links and fan-out lists, as shared transaction functions (``storage.sql.txn``),
and ``SqlGroupStore``, the GroupStore part of ``SqlStore``."""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.domain.conversations import ConversationKind
from passerelle.domain.ids import AccountId, AppName, ConversationId, DeviceId, Timestamp
from passerelle.service.groups.records import GroupDevices, InviteRecord, Role
from passerelle.service.records import ConversationRecord
from passerelle.storage.sql.conversations import INSERT_CONVERSATION, get_conversation_txn
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.part import SqlPart
from passerelle.storage.sql.txn import Txn, all_rows, count, many, one

INSERT_ROLE = "INSERT INTO members (conv, account, role) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
SELECT_ROLES = (
    "SELECT m.account, m.role FROM members m JOIN conversations c ON c.id = m.conv "
    "WHERE m.conv = ? AND c.kind = 'group' ORDER BY m.account"
)
DELETE_MEMBER = "DELETE FROM members WHERE conv = ? AND account = ?"
# An admin's removal bars the person from every invite link of the group; an admin's add lifts it.
BAR = (
    "INSERT INTO group_bars (conv, account, barred_at) VALUES (?, ?, ?) "
    "ON CONFLICT (conv, account) DO UPDATE SET barred_at = excluded.barred_at"
)
UNBAR = "DELETE FROM group_bars WHERE conv = ? AND account = ?"
IS_BARRED = "SELECT 1 FROM group_bars WHERE conv = ? AND account = ?"
IS_MEMBER = "SELECT 1 FROM members WHERE conv = ? AND account = ?"
# A join by invite link: added unless barred, in one statement.
JOIN = (
    "INSERT INTO members (conv, account, role) SELECT ?, ?, ? WHERE NOT EXISTS "
    "(SELECT 1 FROM group_bars WHERE conv = ? AND account = ?) ON CONFLICT DO NOTHING"
)
SET_ROLE = "UPDATE members SET role = ? WHERE conv = ? AND account = ?"
GROUP_DEVICES = (
    "SELECT m.account, a.app, d.id FROM members m JOIN accounts a ON a.id = m.account "
    "LEFT JOIN devices d ON d.account = m.account WHERE m.conv = ? ORDER BY m.account, d.id"
)
GROUPS_OF = (
    "SELECT m.conv FROM members m JOIN conversations c ON c.id = m.conv "
    "WHERE m.account = ? AND c.kind = 'group' ORDER BY m.conv"
)
INSERT_INVITE = (
    "INSERT INTO group_invites (id, token_hash, conv, created_by, created_at) VALUES (?, ?, ?, ?, ?)"
)
_INVITE_COLUMNS = "id, token_hash, conv, created_by, created_at"
FIND_INVITE = f"SELECT {_INVITE_COLUMNS} FROM group_invites WHERE token_hash = ?"
LIST_INVITES = f"SELECT {_INVITE_COLUMNS} FROM group_invites WHERE conv = ? ORDER BY created_at, id"
DELETE_INVITE = "DELETE FROM group_invites WHERE conv = ? AND id = ?"


def _invite(row: Sequence[object]) -> InviteRecord:
    return InviteRecord(
        id=str(row[0]),
        token_hash=str(row[1]),
        conv=ConversationId(str(row[2])),
        created_by=AccountId(str(row[3])),
        created_at=Timestamp(int(row[4])),  # type: ignore[call-overload]
    )


def create_group_txn(
    d: Dialect, conv: ConversationId, creator: AccountId, members: Sequence[AccountId], now: Timestamp
) -> Txn[ConversationRecord]:
    yield from count(INSERT_CONVERSATION, conv, ConversationKind.GROUP.value, now)
    rows = [(conv, creator, Role.ADMIN.value)] + [
        (conv, m, Role.MEMBER.value) for m in dict.fromkeys(members) if m != creator
    ]
    yield from many(INSERT_ROLE, rows)
    record = yield from get_conversation_txn(d, conv)
    assert record is not None, "the group was inserted in this transaction"
    return record


def group_roles_txn(d: Dialect, conv: ConversationId) -> Txn[dict[AccountId, Role]]:
    rows = yield from all_rows(SELECT_ROLES, conv)
    return {AccountId(r[0]): Role(r[1]) for r in rows}


def add_members_txn(d: Dialect, conv: ConversationId, accounts: Sequence[AccountId]) -> Txn[list[AccountId]]:
    added: list[AccountId] = []
    for account in dict.fromkeys(accounts):
        yield from count(UNBAR, conv, account)
        if (yield from count(INSERT_ROLE, conv, account, Role.MEMBER.value)):
            added.append(account)
    return added


def remove_member_txn(
    d: Dialect, conv: ConversationId, account: AccountId, barred_at: Timestamp | None
) -> Txn[bool]:
    removed = (yield from count(DELETE_MEMBER, conv, account)) > 0
    if removed and barred_at is not None:
        yield from count(BAR, conv, account, barred_at)
    return removed


def is_barred_txn(d: Dialect, conv: ConversationId, account: AccountId) -> Txn[bool]:
    return (yield from one(IS_BARRED, conv, account)) is not None


def join_group_txn(d: Dialect, conv: ConversationId, account: AccountId) -> Txn[bool]:
    yield from count(JOIN, conv, account, Role.MEMBER.value, conv, account)
    row = yield from one(IS_MEMBER, conv, account)
    return row is not None


def set_role_txn(d: Dialect, conv: ConversationId, account: AccountId, role: Role) -> Txn[bool]:
    return (yield from count(SET_ROLE, role.value, conv, account)) > 0


def group_devices_txn(d: Dialect, conv: ConversationId) -> Txn[GroupDevices]:
    rows = yield from all_rows(GROUP_DEVICES, conv)
    apps: dict[AccountId, AppName] = {}
    devices: dict[AccountId, list[DeviceId]] = {}
    for account, app, device in rows:
        apps[account] = AppName(app)
        found = devices.setdefault(account, [])
        if device is not None:
            found.append(DeviceId(device))
    return GroupDevices(apps=apps, devices={a: tuple(ds) for a, ds in devices.items()})


def groups_of_txn(d: Dialect, account: AccountId) -> Txn[list[ConversationId]]:
    rows = yield from all_rows(GROUPS_OF, account)
    return [ConversationId(r[0]) for r in rows]


def create_invite_txn(d: Dialect, invite: InviteRecord) -> Txn[None]:
    args = (invite.id, invite.token_hash, invite.conv, invite.created_by, invite.created_at)
    yield from count(INSERT_INVITE, *args)


def find_invite_txn(d: Dialect, token_hash: str) -> Txn[InviteRecord | None]:
    row = yield from one(FIND_INVITE, token_hash)
    return None if row is None else _invite(row)


def list_invites_txn(d: Dialect, conv: ConversationId) -> Txn[list[InviteRecord]]:
    rows = yield from all_rows(LIST_INVITES, conv)
    return [_invite(r) for r in rows]


def delete_invite_txn(d: Dialect, conv: ConversationId, invite_id: str) -> Txn[bool]:
    return (yield from count(DELETE_INVITE, conv, invite_id)) > 0


class SqlGroupStore(SqlPart):
    """The GroupStore methods (``service.ports.GroupStore``), each one transaction on ``_engine``."""

    async def create_group(
        self, conv: ConversationId, creator: AccountId, members: Sequence[AccountId], *, now: Timestamp
    ) -> ConversationRecord:
        return await self._engine.write(create_group_txn, conv, creator, members, now)

    async def group_roles(self, conv: ConversationId) -> dict[AccountId, Role]:
        return await self._engine.read(group_roles_txn, conv)

    async def add_members(self, conv: ConversationId, accounts: Sequence[AccountId]) -> list[AccountId]:
        return await self._engine.write(add_members_txn, conv, accounts)

    async def remove_member(
        self, conv: ConversationId, account: AccountId, *, barred_at: Timestamp | None = None
    ) -> bool:
        return await self._engine.write(remove_member_txn, conv, account, barred_at)

    async def is_barred(self, conv: ConversationId, account: AccountId) -> bool:
        return await self._engine.read(is_barred_txn, conv, account)

    async def join_group(self, conv: ConversationId, account: AccountId) -> bool:
        return await self._engine.write(join_group_txn, conv, account)

    async def set_role(self, conv: ConversationId, account: AccountId, role: Role) -> bool:
        return await self._engine.write(set_role_txn, conv, account, role)

    async def group_devices(self, conv: ConversationId) -> GroupDevices:
        return await self._engine.read(group_devices_txn, conv)

    async def groups_of(self, account: AccountId) -> list[ConversationId]:
        return await self._engine.read(groups_of_txn, account)

    async def create_invite(self, invite: InviteRecord) -> None:
        await self._engine.write(create_invite_txn, invite)

    async def find_invite(self, token_hash: str) -> InviteRecord | None:
        return await self._engine.read(find_invite_txn, token_hash)

    async def list_invites(self, conv: ConversationId) -> list[InviteRecord]:
        return await self._engine.read(list_invites_txn, conv)

    async def delete_invite(self, conv: ConversationId, invite_id: str) -> bool:
        return await self._engine.write(delete_invite_txn, conv, invite_id)
