"""The local store's rich-content tables (docs/protocol.md §11) and their transaction functions.

- ``annotations``: what later content did to a message — reactions (one per person), whether it
  was edited or deleted — keyed by (conversation, the message's sender, its content id). Sealed
  with the StoreKey; a row goes when its message expires (``expires_at`` is the message's).
- ``themes``: each conversation's theme (colour, quick reaction), as last set by a member.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import msgspec

from passerelle.crypto import StoreKey
from passerelle.sdk.schema import Theme

ANNOTATION_SCHEMA = """
CREATE TABLE IF NOT EXISTS annotations (
  conv TEXT NOT NULL, sender TEXT NOT NULL, target TEXT NOT NULL, expires_at INTEGER, sealed BLOB NOT NULL,
  PRIMARY KEY (conv, sender, target));
CREATE INDEX IF NOT EXISTS annotations_by_expiry ON annotations (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS themes (conv TEXT PRIMARY KEY, sealed BLOB NOT NULL);
"""


class Annotation(msgspec.Struct, frozen=True, kw_only=True):
    reactions: dict[str, str] = msgspec.field(default_factory=dict)
    """Account -> emoji."""
    edited: bool = False
    edit_ts: int = 0
    """The ``ts`` of the newest edit applied (an older one arriving late is ignored)."""
    deleted: bool = False


class ThemeState(msgspec.Struct, frozen=True, kw_only=True):
    theme: Theme
    sender: str
    ts: int


def _aad(kind: bytes, *parts: str) -> bytes:
    return b"passerelle-" + kind + b"\x00" + b"\x00".join(p.encode() for p in parts)


def get_txn(
    conn: sqlite3.Connection, key: StoreKey, conv: str, sender: str, target: str
) -> Annotation | None:
    row = conn.execute(
        "SELECT sealed FROM annotations WHERE conv = ? AND sender = ? AND target = ?", (conv, sender, target)
    ).fetchone()
    if row is None:
        return None
    return msgspec.json.decode(key.open(bytes(row[0]), _aad(b"note", conv, sender, target)), type=Annotation)


def put_txn(
    conn: sqlite3.Connection,
    key: StoreKey,
    conv: str,
    sender: str,
    target: str,
    note: Annotation,
    *,
    expires_at: int | None,
) -> None:
    sealed = key.seal(msgspec.json.encode(note), _aad(b"note", conv, sender, target))
    conn.execute(
        "INSERT INTO annotations (conv, sender, target, expires_at, sealed) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (conv, sender, target) DO UPDATE SET expires_at = excluded.expires_at, "
        "sealed = excluded.sealed",
        (conv, sender, target, expires_at, sealed),
    )


def load_txn(
    conn: sqlite3.Connection, key: StoreKey, conv: str, messages: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Annotation]:
    """The annotations of these (sender, content id) messages of ``conv`` that have any."""
    found: dict[tuple[str, str], Annotation] = {}
    for sender, target in messages:
        note = get_txn(conn, key, conv, sender, target)
        if note is not None:
            found[(sender, target)] = note
    return found


def purge_txn(conn: sqlite3.Connection, now: int) -> None:
    """Drop the annotations of expired messages and of messages no longer stored."""
    conn.execute("DELETE FROM annotations WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))
    conn.execute(
        "DELETE FROM annotations WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.conv = annotations.conv "
        "AND m.sender = annotations.sender AND m.client_id = annotations.target)"
    )


def get_theme_txn(conn: sqlite3.Connection, key: StoreKey, conv: str) -> ThemeState | None:
    row = conn.execute("SELECT sealed FROM themes WHERE conv = ?", (conv,)).fetchone()
    if row is None:
        return None
    return msgspec.json.decode(key.open(bytes(row[0]), _aad(b"theme", conv)), type=ThemeState)


def put_theme_txn(conn: sqlite3.Connection, key: StoreKey, conv: str, state: ThemeState) -> bool:
    """Keep ``state`` unless the stored theme is newer (ties: the larger sender wins, so every
    device settles on the same one). True when it was kept."""
    current = get_theme_txn(conn, key, conv)
    if current is not None and (current.ts, current.sender) >= (state.ts, state.sender):
        return False
    sealed = key.seal(msgspec.json.encode(state), _aad(b"theme", conv))
    conn.execute(
        "INSERT INTO themes (conv, sealed) VALUES (?, ?) ON CONFLICT (conv) DO UPDATE SET sealed = excluded.sealed",
        (conv, sealed),
    )
    return True
