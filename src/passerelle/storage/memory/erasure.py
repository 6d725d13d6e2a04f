"""Export and erasure of one person's data in ``MemoryStore`` (the last two ``PrivacyStore``
methods), with the rules of ``storage.sql.erase``:

- An export holds exactly what the server keeps about the person, and nothing about anybody else.
- Erasure is one transaction that leaves no row naming the account or one of its devices; a group
  left without an admin gets one (the remaining member with the smallest account id), a group left
  without members goes, and undelivered group items whose body names the person go too.
"""

from __future__ import annotations

from passerelle.domain.conversations import ConversationKind
from passerelle.domain.ids import AccountId, DeviceId
from passerelle.service.groups.records import Role
from passerelle.service.privacy.records import (
    AccountExport,
    DeviceExport,
    ErasedAccount,
    MailboxMeta,
    SentRecord,
)
from passerelle.storage.memory.conversations import conversations_of
from passerelle.storage.memory.database import MemoryDatabase
from passerelle.storage.memory.mailbox import delete_items, drop_unreferenced_bodies
from passerelle.storage.memory.part import MemoryPart
from passerelle.storage.memory.privacy import privacy_settings, relations, reports_by


def _device_export(db: MemoryDatabase, device: DeviceId) -> DeviceExport:
    keys = db.one_time_keys.get(device, {})
    fallback = db.fallback_keys.get(device)
    return DeviceExport(
        device=db.devices[device],
        one_time_keys=tuple((k, keys[k].key) for k in sorted(keys)),
        fallback_key=None if fallback is None else (fallback.key_id, fallback.key),
        token_expiries=tuple(sorted(row.expires_at for row in db.tokens.values() if row.device == device)),
    )


def _export(db: MemoryDatabase, account: AccountId) -> AccountExport | None:
    record = db.accounts.get(account)
    if record is None:
        return None
    devices = db.device_ids(account)
    mailbox = [
        MailboxMeta(
            device=device,
            pos=int(pos),
            kind=row.item.kind,
            conv=row.item.conv,
            sender=row.item.sender,
            sender_device=row.item.sender_device,
            ts=row.item.ts,
            expires_at=row.item.expires_at,
            size=len(row.item.body),
        )
        for device in sorted(devices)
        for pos, row in db.mailbox.get(device, {}).items()
    ]
    mine = set(devices)
    sent = sorted(
        (
            SentRecord(
                device=d, client_id=client_id, message_id=r.message_id, ts=r.ts, expires_at=r.expires_at
            )
            for (d, client_id), r in db.messages.items()
            if d in mine
        ),
        key=lambda s: (s.ts, s.client_id),
    )
    code = db.codes.get((record.app, record.alias))
    bars = sorted((conv, at) for (conv, acc), at in db.group_bars.items() if acc == account)
    return AccountExport(
        account=record,
        settings=privacy_settings(db, account),
        devices=tuple(_device_export(db, d) for d in devices),
        contacts=tuple(relations(db.contacts, account)),
        blocks=tuple(relations(db.blocks, account)),
        conversations=tuple(
            (c, None if (s := db.member_states.get((c.id, account))) is None else s.state)
            for c in conversations_of(db, account)
        ),
        mailbox=tuple(mailbox),
        sent=tuple(sent),
        reports=tuple(reports_by(db, account)),
        pending_code_expires_at=None if code is None else code.expires_at,
        group_bars=tuple(bars),
    )


def _erase(db: MemoryDatabase, account: AccountId) -> ErasedAccount | None:
    record = db.accounts.get(account)
    if record is None:
        return None
    devices = db.device_ids(account)
    mine = set(devices)
    convs = sorted(conv for conv, row in db.conversations.items() if account in row.members)
    direct = [c for c in convs if db.conversations[c].kind is ConversationKind.DIRECT]
    shared = [c for c in convs if db.conversations[c].kind is not ConversationKind.DIRECT]
    direct_set = set(direct)

    for device in devices:
        db.drop_device(device)
    delete_items(
        db,
        lambda row: row.item.device in mine or row.item.sender == account or row.item.conv in direct_set,
    )
    for key in [k for k in db.messages if k[0] in mine]:
        del db.messages[key]
    for report in [r.id for r in db.reports.values() if account in (r.reporter, r.reported)]:
        del db.reports[report]
    db.codes.pop((record.app, record.alias), None)
    db.media_usage.pop(account, None)
    for conv in direct:
        db.drop_conversation(conv)
    db.drop_account(account)
    emptied = [conv for conv in shared if not db.conversations[conv].members]
    for conv in emptied:
        db.drop_conversation(conv)
    for conv in shared:
        row = db.conversations.get(conv)
        if row is not None and Role.ADMIN not in row.members.values():
            row.members[min(row.members)] = Role.ADMIN
    _forget_in_pending_items(db, account, devices)
    return ErasedAccount(account=account, devices=tuple(devices), conversations=(*direct, *emptied))


def _forget_in_pending_items(db: MemoryDatabase, account: AccountId, devices: list[DeviceId]) -> None:
    """Delete undelivered group items whose body names the person or one of their devices (a
    Megolm envelope's device id, a member notice)."""
    needles = [account.encode(), *(device.encode() for device in devices)]

    def names(body: bytes) -> bool:
        return any(needle in body for needle in needles)

    naming = {body_id for body_id, row in db.bodies.items() if names(row.body)}
    for body_id in naming:
        del db.bodies[body_id]
    delete_items(
        db,
        lambda row: (
            row.body_id in naming
            or (row.body_id is None and row.item.kind == "member" and names(row.item.body))
        ),
    )
    drop_unreferenced_bodies(db)


class MemoryErasure(MemoryPart):
    async def export_account(self, account: AccountId) -> AccountExport | None:
        db = await self._begin()
        return _export(db, account)

    async def erase_account(self, account: AccountId) -> ErasedAccount | None:
        db = await self._begin()
        return _erase(db, account)
