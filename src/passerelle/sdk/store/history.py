"""Transaction functions for conversations and message history.

Rules
1. A message is identified by (sender device, client id), the id its content carries: a message
   re-sent after a broken session, or delivered to several of my devices, is stored once.
2. Every server message id (the first send and each resend) maps to the message it carried, so a
   receipt naming any of them finds it.
3. Message bodies are sealed with the StoreKey (AES-256-GCM) with the message's identity as
   associated data; ids, states and timestamps stay in clear for indexing.
4. History never returns a message past its ``expires_at``; ``purge_expired_txn`` deletes them
   (``secure_delete`` is on, so their sealed bodies are overwritten too).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from typing import Any

import msgspec

from passerelle.crypto import StoreKey
from passerelle.domain.ids import AccountId, ClientMessageId, ConversationId, DeviceId, MessageId
from passerelle.sdk.events import DELETED_TEXT, Conversation, Message, MessageState
from passerelle.sdk.schema import TextContent
from passerelle.sdk.store import rich_state
from passerelle.sdk.store.rich_state import Annotation

_RANK = {
    MessageState.PENDING: 0,
    MessageState.SENT: 1,
    MessageState.RECEIVED: 1,
    MessageState.DELIVERED: 2,
    MessageState.READ: 3,
}
Row = tuple[Any, ...]
"""A row as sqlite3 returns it."""
_COLUMNS = "id, conv, sender, sender_device, client_id, mid, ts, expires_at, outgoing, state, resends, body"


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredMessage:
    row: int
    conv: ConversationId
    sender: AccountId
    sender_device: DeviceId
    client_id: ClientMessageId
    mid: MessageId | None
    ts: int
    expires_at: int | None
    outgoing: bool
    state: MessageState
    resends: int
    content: TextContent
    note: Annotation | None = None
    """Reactions, edit and delete marks (sdk.store.rich_state), when history or a change loaded them."""

    def to_message(self) -> Message:
        note, content = self.note, self.content
        return Message(
            conv=self.conv,
            id=self.mid,
            client_id=self.client_id,
            sender=self.sender,
            sender_device=self.sender_device,
            text=DELETED_TEXT if note is not None and note.deleted else content.body,
            ts=self.ts,
            expires_at=self.expires_at,
            outgoing=self.outgoing,
            state=self.state,
            attachment=None if note is not None and note.deleted else content.attachment,
            cloud=None if note is not None and note.deleted else content.cloud,
            reply_to=content.in_reply_to,
            mentions=tuple(content.mentions or ()),
            reactions=tuple(sorted((AccountId(a), e) for a, e in note.reactions.items())) if note else (),
            edited=note is not None and note.edited,
            deleted=note is not None and note.deleted,
        )


def _aad(sender_device: str, client_id: str) -> bytes:
    return b"passerelle-msg\x00" + sender_device.encode() + b"\x00" + client_id.encode()


def _row(key: StoreKey, r: Row) -> StoredMessage:
    sender_device, client_id = str(r[3]), str(r[4])
    plain = key.open(bytes(r[11]), _aad(sender_device, client_id))
    return StoredMessage(
        row=int(r[0]),
        conv=ConversationId(str(r[1])),
        sender=AccountId(str(r[2])),
        sender_device=DeviceId(sender_device),
        client_id=ClientMessageId(client_id),
        mid=None if r[5] is None else MessageId(int(r[5])),
        ts=int(r[6]),
        expires_at=None if r[7] is None else int(r[7]),
        outgoing=bool(r[8]),
        state=MessageState(str(r[9])),
        resends=int(r[10]),
        content=msgspec.json.decode(plain, type=TextContent),
    )


# --- conversations ------------------------------------------------------------------------------


def upsert_conversation_txn(
    conn: sqlite3.Connection, conv: str, *, kind: str, members: list[str], timer: int | None = None
) -> None:
    """Create the conversation or update its members (and its timer when given)."""
    conn.execute(
        "INSERT INTO conversations (conv, kind, members, timer) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (conv) DO UPDATE SET kind = excluded.kind, members = excluded.members",
        (conv, kind, json.dumps(sorted(members)), timer or 0),
    )
    if timer is not None:
        set_timer_txn(conn, conv, timer)


def set_timer_txn(conn: sqlite3.Connection, conv: str, timer: int) -> None:
    conn.execute("UPDATE conversations SET timer = ? WHERE conv = ?", (timer, conv))


def _conversation(r: Row) -> Conversation:
    return Conversation(
        conv=ConversationId(str(r[0])),
        kind=str(r[1]),
        members=tuple(AccountId(m) for m in json.loads(str(r[2]))),
        timer=int(r[3]),
        last_ts=None if r[4] is None else int(r[4]),
    )


def conversation_txn(conn: sqlite3.Connection, conv: str) -> Conversation | None:
    row = conn.execute(
        "SELECT conv, kind, members, timer, last_ts FROM conversations WHERE conv = ?", (conv,)
    ).fetchone()
    return _conversation(row) if row else None


def conversations_txn(conn: sqlite3.Connection) -> list[Conversation]:
    rows = conn.execute(
        "SELECT conv, kind, members, timer, last_ts FROM conversations ORDER BY COALESCE(last_ts, 0) DESC, conv"
    ).fetchall()
    return [_conversation(r) for r in rows]


# --- messages -----------------------------------------------------------------------------------


def insert_message_txn(
    conn: sqlite3.Connection,
    key: StoreKey,
    *,
    conv: str,
    sender: str,
    sender_device: str,
    content: TextContent,
    mid: int | None,
    ts: int,
    expires_at: int | None,
    outgoing: bool,
    state: MessageState,
) -> StoredMessage | None:
    """Store a message; None when (sender device, content id) is already stored (then only ``mid``
    is mapped to the existing message)."""
    sealed = key.seal(msgspec.json.encode(content), _aad(sender_device, content.id))
    cur = conn.execute(
        "INSERT OR IGNORE INTO messages (conv, sender, sender_device, client_id, mid, ts, expires_at, outgoing, "
        "state, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (conv, sender, sender_device, content.id, mid, ts, expires_at, int(outgoing), state.value, sealed),
    )
    if cur.rowcount == 0:
        existing = message_by_client_id_txn(conn, key, sender_device, content.id)
        if existing is not None and mid is not None:
            map_mid_txn(conn, mid, existing.row)
        return None
    row = int(cur.lastrowid or 0)
    if mid is not None:
        map_mid_txn(conn, mid, row)
    conn.execute("UPDATE conversations SET last_ts = MAX(COALESCE(last_ts, 0), ?) WHERE conv = ?", (ts, conv))
    return StoredMessage(
        row=row,
        conv=ConversationId(conv),
        sender=AccountId(sender),
        sender_device=DeviceId(sender_device),
        client_id=ClientMessageId(content.id),
        mid=None if mid is None else MessageId(mid),
        ts=ts,
        expires_at=expires_at,
        outgoing=outgoing,
        state=state,
        resends=0,
        content=content,
    )


def map_mid_txn(conn: sqlite3.Connection, mid: int, row: int) -> None:
    conn.execute("INSERT OR REPLACE INTO message_ids (mid, message) VALUES (?, ?)", (mid, row))


def message_by_client_id_txn(
    conn: sqlite3.Connection, key: StoreKey, sender_device: str, client_id: str
) -> StoredMessage | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM messages WHERE sender_device = ? AND client_id = ?",
        (sender_device, client_id),
    ).fetchone()
    return _row(key, row) if row else None


def message_by_mid_txn(conn: sqlite3.Connection, key: StoreKey, mid: int) -> StoredMessage | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM messages WHERE id = (SELECT message FROM message_ids WHERE mid = ?)", (mid,)
    ).fetchone()
    return _row(key, row) if row else None


def incoming_after_txn(
    conn: sqlite3.Connection, key: StoreKey, mid: int, *, limit: int
) -> list[StoredMessage]:
    """Incoming messages with a server id above ``mid``, by server id (a business endpoint's replay
    of what it may not have handed on before a crash)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM messages WHERE outgoing = 0 AND mid > ? ORDER BY mid LIMIT ?", (mid, limit)
    ).fetchall()
    return [_row(key, r) for r in rows]


def mark_sent_txn(
    conn: sqlite3.Connection, key: StoreKey, row: int, *, mid: int, ts: int, expires_at: int | None
) -> StoredMessage:
    """The server stored the message (or a resend of it) under ``mid``."""
    map_mid_txn(conn, mid, row)
    conn.execute(
        "UPDATE messages SET mid = COALESCE(mid, ?), ts = CASE WHEN state = 'pending' THEN ? ELSE ts END, "
        "expires_at = CASE WHEN state = 'pending' THEN ? ELSE expires_at END, "
        "state = CASE WHEN state = 'pending' THEN 'sent' ELSE state END WHERE id = ?",
        (mid, ts, expires_at, row),
    )
    found = conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE id = ?", (row,)).fetchone()
    return _row(key, found)


def delete_message_txn(conn: sqlite3.Connection, row: int) -> None:
    conn.execute("DELETE FROM messages WHERE id = ?", (row,))


def count_resend_txn(conn: sqlite3.Connection, row: int) -> int:
    """Count one more resend of the message; returns the new count (it names the resend's client id)."""
    conn.execute("UPDATE messages SET resends = resends + 1 WHERE id = ?", (row,))
    return int(conn.execute("SELECT resends FROM messages WHERE id = ?", (row,)).fetchone()[0])


def advance_state_txn(
    conn: sqlite3.Connection, key: StoreKey, mids: list[int], state: MessageState, *, outgoing: bool
) -> list[StoredMessage]:
    """Move messages named by server ids forward to ``state`` (never backwards); returns the changed."""
    changed: list[StoredMessage] = []
    for mid in mids:
        msg = message_by_mid_txn(conn, key, mid)
        if msg is None or msg.outgoing != outgoing or _RANK[msg.state] >= _RANK[state]:
            continue
        conn.execute("UPDATE messages SET state = ? WHERE id = ?", (state.value, msg.row))
        changed.append(replace(msg, state=state))
    return changed


def history_txn(
    conn: sqlite3.Connection, key: StoreKey, conv: str, *, limit: int, now: int
) -> list[StoredMessage]:
    """The last ``limit`` messages of a conversation that have not expired, oldest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM messages WHERE conv = ? AND (expires_at IS NULL OR expires_at > ?) "
        "ORDER BY ts DESC, id DESC LIMIT ?",
        (conv, now, limit),
    ).fetchall()
    found = [_row(key, r) for r in reversed(rows)]
    notes = rich_state.load_txn(conn, key, conv, [(m.sender, m.client_id) for m in found])
    return [replace(m, note=notes.get((m.sender, m.client_id))) for m in found]


def purge_expired_txn(conn: sqlite3.Connection, now: int) -> int:
    """Delete every message past its ``expires_at`` (and what annotated it); returns how many."""
    cur = conn.execute("DELETE FROM messages WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))
    rich_state.purge_txn(conn, now)
    return cur.rowcount


def find_txn(
    conn: sqlite3.Connection, key: StoreKey, conv: str, sender: str, client_id: str, *, now: int
) -> StoredMessage | None:
    """The unexpired message ``client_id`` that ``sender`` (any of their devices) sent into ``conv``,
    with its annotation."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM messages WHERE conv = ? AND sender = ? AND client_id = ? "
        "AND (expires_at IS NULL OR expires_at > ?)",
        (conv, sender, client_id, now),
    ).fetchone()
    if row is None:
        return None
    found = _row(key, row)
    return replace(found, note=rich_state.get_txn(conn, key, conv, sender, client_id))


def reseal_txn(
    conn: sqlite3.Connection, key: StoreKey, msg: StoredMessage, content: TextContent
) -> StoredMessage:
    """Replace a message's content (an edit, or the empty tombstone of a delete); its id stays."""
    sealed = key.seal(msgspec.json.encode(content), _aad(msg.sender_device, msg.client_id))
    conn.execute("UPDATE messages SET body = ? WHERE id = ?", (sealed, msg.row))
    return replace(msg, content=content)
