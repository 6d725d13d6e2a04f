"""The device's stories (docs/protocol.md §12): the stories it received or posted, sealed at rest
with the store key like messages, and who viewed mine. Transaction functions for ``db.run``."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import msgspec

from passerelle.crypto.keystore import StoreKey
from passerelle.sdk import schema

STORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS stories (
  story TEXT PRIMARY KEY, author TEXT NOT NULL, author_device TEXT NOT NULL, ts INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, outgoing INTEGER NOT NULL, viewed INTEGER NOT NULL DEFAULT 0,
  body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS stories_by_expiry ON stories (expires_at);
CREATE TABLE IF NOT EXISTS story_viewers (
  story TEXT NOT NULL REFERENCES stories (story) ON DELETE CASCADE, viewer TEXT NOT NULL,
  ts INTEGER NOT NULL, PRIMARY KEY (story, viewer));
"""


class StoryContent(schema.Shape, frozen=True):
    """``p.story`` (§12): a story's content, sent over Olm to each device of its audience.
    ``text`` is a text story's text or a media story's caption."""

    id: str
    ts: int
    expires_at: int
    kind: str
    text: str = ""
    background: str | None = None
    attachment: schema.Attachment | None = None


class StorySeen(schema.Shape, frozen=True):
    """``p.story_seen`` (§12): the sender viewed ``story`` at ``ts`` (an encrypted receipt)."""

    story: str
    ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredStory:
    author: str
    author_device: str
    outgoing: bool
    viewed: bool
    content: StoryContent


_COLUMNS = "story, author, author_device, outgoing, viewed, body"


def _aad(story: str, author: str) -> bytes:
    return b"passerelle-story\x00" + story.encode() + b"\x00" + author.encode()


def _row(key: StoreKey, row: Any) -> StoredStory:
    story, author = str(row[0]), str(row[1])
    body = key.open(bytes(row[5]), _aad(story, author))
    return StoredStory(
        author=author,
        author_device=str(row[2]),
        outgoing=bool(row[3]),
        viewed=bool(row[4]),
        content=msgspec.json.decode(body, type=StoryContent),
    )


def insert_story_txn(
    conn: sqlite3.Connection,
    key: StoreKey,
    content: StoryContent,
    *,
    author: str,
    author_device: str,
    outgoing: bool,
) -> bool:
    """Keep a story (once: a copy that arrives again is ignored). True when it is new."""
    sealed = key.seal(msgspec.json.encode(content), _aad(content.id, author))
    cursor = conn.execute(
        "INSERT INTO stories (story, author, author_device, ts, expires_at, outgoing, body) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (story) DO NOTHING",
        (content.id, author, author_device, content.ts, content.expires_at, int(outgoing), sealed),
    )
    return cursor.rowcount == 1


def story_txn(conn: sqlite3.Connection, key: StoreKey, story: str) -> StoredStory | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM stories WHERE story = ?", (story,)).fetchone()
    return _row(key, row) if row else None


def stories_txn(conn: sqlite3.Connection, key: StoreKey, *, now: int) -> list[StoredStory]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM stories WHERE expires_at > ? ORDER BY ts, story", (now,)
    ).fetchall()
    return [_row(key, r) for r in rows]


def mark_viewed_txn(conn: sqlite3.Connection, story: str) -> bool:
    """True when the story was not viewed here yet."""
    return (
        conn.execute("UPDATE stories SET viewed = 1 WHERE story = ? AND viewed = 0", (story,)).rowcount == 1
    )


def add_viewer_txn(conn: sqlite3.Connection, story: str, viewer: str, ts: int) -> bool:
    """Record that ``viewer`` saw my story (the first receipt counts). True when it is new."""
    found = conn.execute("SELECT outgoing FROM stories WHERE story = ?", (story,)).fetchone()
    if found is None or not found[0]:
        return False
    cursor = conn.execute(
        "INSERT INTO story_viewers (story, viewer, ts) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (story, viewer, ts),
    )
    return cursor.rowcount == 1


def viewers_txn(conn: sqlite3.Connection, story: str) -> list[tuple[str, int]]:
    rows = conn.execute(
        "SELECT viewer, ts FROM story_viewers WHERE story = ? ORDER BY ts, viewer", (story,)
    ).fetchall()
    return [(str(r[0]), int(r[1])) for r in rows]


def delete_story_txn(conn: sqlite3.Connection, story: str) -> None:
    conn.execute("DELETE FROM stories WHERE story = ?", (story,))


def purge_expired_txn(conn: sqlite3.Connection, now: int) -> int:
    return conn.execute("DELETE FROM stories WHERE expires_at <= ?", (now,)).rowcount
