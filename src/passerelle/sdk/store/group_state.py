"""The local store's group tables and their transaction functions (run inside ``ClientDatabase.run``).

- ``megolm_outbound`` / ``megolm_inbound``: the Megolm sessions, as pickles encrypted with the
  pickle key (see passerelle.crypto.megolm); ``megolm_seen`` the (sender key, session, index)
  triples already decrypted (replay protection).
- ``megolm_pending``: group messages that arrived before their key; decrypted once it comes.
- ``group_info``: the group's name and avatar (content, so sealed with the StoreKey).
"""

from __future__ import annotations

import json
import sqlite3

from passerelle.crypto.megolm import GroupChanges, OutboundState, PickledInbound, PickledOutbound

GROUP_SCHEMA = """
CREATE TABLE IF NOT EXISTS megolm_outbound (
  conv TEXT PRIMARY KEY, session_id TEXT NOT NULL, created_at INTEGER NOT NULL, sent INTEGER NOT NULL,
  shared TEXT NOT NULL, pickle TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS megolm_inbound (
  sender_key TEXT NOT NULL, session_id TEXT NOT NULL, conv TEXT NOT NULL, sender TEXT NOT NULL,
  sender_device TEXT NOT NULL, pickle TEXT NOT NULL, PRIMARY KEY (sender_key, session_id));
CREATE TABLE IF NOT EXISTS megolm_seen (
  sender_key TEXT NOT NULL, session_id TEXT NOT NULL, idx INTEGER NOT NULL,
  PRIMARY KEY (sender_key, session_id, idx));
CREATE TABLE IF NOT EXISTS megolm_pending (
  id INTEGER PRIMARY KEY, sender_key TEXT NOT NULL, session_id TEXT NOT NULL, item BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS megolm_pending_session ON megolm_pending (sender_key, session_id);
CREATE TABLE IF NOT EXISTS group_info (conv TEXT PRIMARY KEY, sealed BLOB NOT NULL);
"""


def load_group_crypto_txn(
    conn: sqlite3.Connection,
) -> tuple[list[PickledOutbound], list[PickledInbound], list[tuple[str, str, int]]]:
    outbound = [
        PickledOutbound(
            state=OutboundState(
                conv=r[0], session_id=r[1], created_at=r[2], sent=r[3], shared=frozenset(json.loads(r[4]))
            ),
            pickle=r[5],
        )
        for r in conn.execute(
            "SELECT conv, session_id, created_at, sent, shared, pickle FROM megolm_outbound"
        )
    ]
    inbound = [
        PickledInbound(
            sender_key=r[0], session_id=r[1], conv=r[2], sender=r[3], sender_device=r[4], pickle=r[5]
        )
        for r in conn.execute(
            "SELECT sender_key, session_id, conv, sender, sender_device, pickle FROM megolm_inbound"
        )
    ]
    seen = [(r[0], r[1], r[2]) for r in conn.execute("SELECT sender_key, session_id, idx FROM megolm_seen")]
    return outbound, inbound, seen


def save_group_crypto_txn(conn: sqlite3.Connection, changes: GroupChanges) -> None:
    for o in changes.outbound:
        s = o.state
        conn.execute(
            "INSERT INTO megolm_outbound (conv, session_id, created_at, sent, shared, pickle) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (conv) DO UPDATE SET session_id = excluded.session_id, "
            "created_at = excluded.created_at, sent = excluded.sent, shared = excluded.shared, "
            "pickle = excluded.pickle",
            (s.conv, s.session_id, s.created_at, s.sent, json.dumps(sorted(s.shared)), o.pickle),
        )
    conn.executemany("DELETE FROM megolm_outbound WHERE conv = ?", [(c,) for c in changes.dropped_outbound])
    conn.executemany(
        "INSERT INTO megolm_inbound (sender_key, session_id, conv, sender, sender_device, pickle) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sender_key, session_id) DO UPDATE SET pickle = excluded.pickle",
        [(i.sender_key, i.session_id, i.conv, i.sender, i.sender_device, i.pickle) for i in changes.inbound],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO megolm_seen (sender_key, session_id, idx) VALUES (?, ?, ?)", changes.seen
    )


def add_pending_txn(conn: sqlite3.Connection, sender_key: str, session_id: str, item: bytes) -> None:
    conn.execute(
        "INSERT INTO megolm_pending (sender_key, session_id, item) VALUES (?, ?, ?)",
        (sender_key, session_id, item),
    )


def take_pending_txn(conn: sqlite3.Connection, sender_key: str, session_id: str) -> list[bytes]:
    """The items waiting for this session's key, oldest first; they leave the table."""
    rows = conn.execute(
        "SELECT id, item FROM megolm_pending WHERE sender_key = ? AND session_id = ? ORDER BY id",
        (sender_key, session_id),
    ).fetchall()
    conn.executemany("DELETE FROM megolm_pending WHERE id = ?", [(r[0],) for r in rows])
    return [bytes(r[1]) for r in rows]


def put_group_info_txn(conn: sqlite3.Connection, conv: str, sealed: bytes) -> None:
    conn.execute(
        "INSERT INTO group_info (conv, sealed) VALUES (?, ?) ON CONFLICT (conv) DO UPDATE SET sealed = excluded.sealed",
        (conv, sealed),
    )


def get_group_info_txn(conn: sqlite3.Connection, conv: str) -> bytes | None:
    row = conn.execute("SELECT sealed FROM group_info WHERE conv = ?", (conv,)).fetchone()
    return bytes(row[0]) if row else None
