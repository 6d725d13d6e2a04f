"""Export and erasure of one person's data: shared SQL and transaction functions (see ``storage.sql.txn``).

Rules:
- An export holds exactly what the server keeps about the person: their account, settings, devices
  and public keys, their lists (contacts, blocks), their conversations with their own state in each,
  the metadata of their undelivered mailbox items, the memory of their client message ids and the
  reports they made. Nobody else's settings, lists, keys or reports.
- Erasure is one transaction that leaves no row naming the account or one of its devices: tables
  with a foreign key to ``accounts`` go by cascade; the mailbox, the message-id memory, reports,
  codes, media usage and direct conversations are deleted here. A table added later that names accounts without
  a cascading foreign key must add its statement to ``erase_account_txn``.
"""

from __future__ import annotations

from passerelle.domain.ids import AccountId, ConversationId, DeviceId, Timestamp
from passerelle.domain.safety import MemberState
from passerelle.service.privacy.records import (
    AccountExport,
    DeviceExport,
    ErasedAccount,
    MailboxMeta,
    SentRecord,
)
from passerelle.storage.sql.accounts import get_account_txn, list_devices_txn
from passerelle.storage.sql.conversations import list_conversations_txn
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.privacy import (
    get_privacy_txn,
    list_blocks_txn,
    list_contacts_txn,
    reports_by_txn,
)
from passerelle.storage.sql.txn import Txn, all_rows, count, one

DEVICE_OTKS = "SELECT key_id, key FROM one_time_keys WHERE device = ? ORDER BY key_id"
DEVICE_FALLBACK = "SELECT key_id, key FROM fallback_keys WHERE device = ?"
DEVICE_TOKENS = "SELECT expires_at FROM tokens WHERE device = ? ORDER BY expires_at"
MY_STATES = "SELECT conv, state FROM member_states WHERE account = ?"
MY_MAILBOX = (
    "SELECT device, pos, kind, conv, sender, sender_device, ts, expires_at, length(body) FROM mailbox "
    "WHERE device {in_texts} ORDER BY device, pos"
)
MY_SENT = (
    "SELECT sender_device, client_id, id, ts, expires_at FROM messages WHERE sender_device {in_texts} "
    "ORDER BY ts, client_id"
)
PENDING_CODE = "SELECT expires_at FROM codes WHERE app = ? AND phone = ?"
MY_GROUP_BARS = "SELECT conv, barred_at FROM group_bars WHERE account = ? ORDER BY conv"

MY_CONVERSATIONS = (
    "SELECT c.id, c.kind FROM members m JOIN conversations c ON c.id = m.conv WHERE m.account = ?"
)
# Devices first: on PostgreSQL the delete waits for an append holding a device's counter, so the
# mailbox delete that follows sees that append's items too (as remove_device does).
DELETE_DEVICES = "DELETE FROM devices WHERE account = ?"
DELETE_MAILBOX_OF = "DELETE FROM mailbox WHERE device {in_texts}"
DELETE_MAILBOX_FROM = "DELETE FROM mailbox WHERE sender = ?"
DELETE_MAILBOX_IN = "DELETE FROM mailbox WHERE conv {in_texts}"
DELETE_SENT = "DELETE FROM messages WHERE sender_device {in_texts}"
DELETE_REPORTS = "DELETE FROM reports WHERE reporter = ? OR reported = ?"
DELETE_CODE = "DELETE FROM codes WHERE app = ? AND phone = ?"
# The media erasers deleted the blobs (and so their usage) first; an upload begun meanwhile goes
# with the account all the same.
DELETE_MEDIA_USAGE = "DELETE FROM media_usage WHERE account = ?"
DELETE_CONVERSATIONS = "DELETE FROM conversations WHERE id {in_texts}"
DELETE_ACCOUNT = "DELETE FROM accounts WHERE id = ?"
# Group notices and bodies still waiting for other members may name the person (a member notice, a
# Megolm envelope's device id). An erasure is rare, so they are found by reading them, not indexed.
SHARED_BODIES = "SELECT id, body FROM bodies"
MEMBER_NOTICES = "SELECT device, pos, body FROM mailbox WHERE kind = 'member' AND body_id IS NULL"
DELETE_ITEMS_OF_BODY = "DELETE FROM mailbox WHERE body_id = ?"
DELETE_BODY = "DELETE FROM bodies WHERE id = ?"
DELETE_ITEM = "DELETE FROM mailbox WHERE device = ? AND pos = ?"
# A group keeps an admin while it has members (as when the last admin leaves): the remaining member
# with the smallest account id becomes one.
PROMOTE_IF_NO_ADMIN = (
    "UPDATE members SET role = 'admin' WHERE conv = ? AND account = (SELECT MIN(account) FROM members "
    "WHERE conv = ?) AND NOT EXISTS (SELECT 1 FROM members WHERE conv = ? AND role = 'admin')"
)
DELETE_UNREFERENCED_BODIES = (
    "DELETE FROM bodies WHERE NOT EXISTS (SELECT 1 FROM mailbox WHERE mailbox.body_id = bodies.id)"
)
DELETE_EMPTY_CONVERSATIONS = (
    "DELETE FROM conversations WHERE id {in_texts} "
    "AND NOT EXISTS (SELECT 1 FROM members m WHERE m.conv = conversations.id) RETURNING id"
)


def export_account_txn(d: Dialect, account: AccountId) -> Txn[AccountExport | None]:
    record = yield from get_account_txn(d, account)
    if record is None:
        return None
    settings = yield from get_privacy_txn(d, account)
    devices = yield from list_devices_txn(d, account)
    exported: list[DeviceExport] = []
    for device in devices:
        otks = yield from all_rows(DEVICE_OTKS, device.id)
        fallback = yield from one(DEVICE_FALLBACK, device.id)
        tokens = yield from all_rows(DEVICE_TOKENS, device.id)
        exported.append(
            DeviceExport(
                device=device,
                one_time_keys=tuple((r[0], r[1]) for r in otks),
                fallback_key=None if fallback is None else (fallback[0], fallback[1]),
                token_expiries=tuple(r[0] for r in tokens),
            )
        )
    contacts = yield from list_contacts_txn(d, account)
    blocks = yield from list_blocks_txn(d, account)
    conversations = yield from list_conversations_txn(d, account)
    state_rows = yield from all_rows(MY_STATES, account)
    states = {r[0]: MemberState(r[1]) for r in state_rows}
    ids = d.texts([dev.id for dev in devices])
    mailbox = yield from all_rows(MY_MAILBOX, ids)
    sent = yield from all_rows(MY_SENT, ids)
    reports = yield from reports_by_txn(d, account)
    code = yield from one(PENDING_CODE, record.app, record.alias)
    bars = yield from all_rows(MY_GROUP_BARS, account)
    return AccountExport(
        account=record,
        settings=settings,
        devices=tuple(exported),
        contacts=tuple(contacts),
        blocks=tuple(blocks),
        conversations=tuple((c, states.get(c.id)) for c in conversations),
        mailbox=tuple(
            MailboxMeta(
                device=r[0],
                pos=int(r[1]),
                kind=r[2],
                conv=r[3],
                sender=r[4],
                sender_device=r[5],
                ts=r[6],
                expires_at=r[7],
                size=int(r[8] or 0),
            )
            for r in mailbox
        ),
        sent=tuple(
            SentRecord(device=r[0], client_id=r[1], message_id=r[2], ts=r[3], expires_at=r[4]) for r in sent
        ),
        reports=tuple(reports),
        pending_code_expires_at=None if code is None else Timestamp(code[0]),
        group_bars=tuple((ConversationId(r[0]), Timestamp(int(r[1]))) for r in bars),
    )


def erase_account_txn(d: Dialect, account: AccountId) -> Txn[ErasedAccount | None]:
    record = yield from get_account_txn(d, account)
    if record is None:
        return None
    devices = yield from list_devices_txn(d, account)
    device_ids = [dev.id for dev in devices]
    rows = yield from all_rows(MY_CONVERSATIONS, account)
    direct = [ConversationId(r[0]) for r in rows if r[1] == "direct"]
    shared = [ConversationId(r[0]) for r in rows if r[1] != "direct"]

    yield from count(DELETE_DEVICES, account)  # cascades tokens, challenges and keys
    yield from count(DELETE_MAILBOX_OF, d.texts(device_ids))
    yield from count(DELETE_MAILBOX_FROM, account)
    yield from count(DELETE_MAILBOX_IN, d.texts(direct))
    yield from count(DELETE_SENT, d.texts(device_ids))
    yield from count(DELETE_REPORTS, account, account)
    yield from count(DELETE_CODE, record.app, record.alias)
    yield from count(DELETE_MEDIA_USAGE, account)
    # A direct conversation cannot outlive one of its two people (its members and states cascade).
    yield from count(DELETE_CONVERSATIONS, d.texts(direct))
    # Memberships, contacts and blocks both ways, states and settings cascade with the account.
    yield from count(DELETE_ACCOUNT, account)
    emptied = yield from all_rows(DELETE_EMPTY_CONVERSATIONS, d.texts(shared))
    for conv in shared:
        yield from count(PROMOTE_IF_NO_ADMIN, conv, conv, conv)
    yield from _forget_in_pending_items(account, device_ids)
    return ErasedAccount(
        account=account,
        devices=tuple(DeviceId(i) for i in device_ids),
        conversations=(*direct, *(ConversationId(r[0]) for r in emptied)),
    )


def _forget_in_pending_items(account: AccountId, devices: list[DeviceId]) -> Txn[None]:
    """Delete undelivered group items whose body names the person or one of their devices."""
    needles = [account.encode(), *(device.encode() for device in devices)]

    def names(body: object) -> bool:
        data = bytes(body)  # type: ignore[call-overload]
        return any(needle in data for needle in needles)

    for body_id, body in (yield from all_rows(SHARED_BODIES)):
        if names(body):
            yield from count(DELETE_ITEMS_OF_BODY, body_id)
            yield from count(DELETE_BODY, body_id)
    for device, pos, body in (yield from all_rows(MEMBER_NOTICES)):
        if names(body):
            yield from count(DELETE_ITEM, device, pos)
    yield from count(DELETE_UNREFERENCED_BODIES)
