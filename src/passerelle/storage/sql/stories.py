"""Stories: shared SQL and transaction functions (see ``storage.sql.txn``), and ``SqlStoryStore``, the
StoryStore part of ``SqlStore``. Only metadata: who posted, when, until when, and who may see it."""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.domain.ids import AccountId, BlobId, Timestamp
from passerelle.service.stories.records import StoryId, StoryRecord
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.part import SqlPart
from passerelle.storage.sql.txn import Row, Txn, all_rows, count, many, one

_COLUMNS = "id, author, created_at, expires_at, audience_size"
INSERT_STORY = f"INSERT INTO stories ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
INSERT_AUDIENCE = "INSERT INTO story_audience (story, account) VALUES (?, ?) ON CONFLICT DO NOTHING"
SELECT_STORY = f"SELECT {_COLUMNS} FROM stories WHERE id = ?"
IN_AUDIENCE = "SELECT 1 FROM story_audience WHERE story = ? AND account = ?"
VISIBLE = (
    f"SELECT {_COLUMNS} FROM stories WHERE expires_at > ? AND (author = ? OR id IN "
    "(SELECT story FROM story_audience WHERE account = ?)) ORDER BY created_at, id"
)
EXPIRED = "SELECT id FROM stories WHERE expires_at <= ? ORDER BY expires_at LIMIT ?"
BY_AUTHOR = "SELECT id FROM stories WHERE author = ? ORDER BY created_at, id"
BLOBS_IN = "SELECT id FROM blobs WHERE conv {in_texts} ORDER BY id"
DELETE_AUDIENCES = "DELETE FROM story_audience WHERE story {in_texts}"
DELETE_STORIES = "DELETE FROM stories WHERE id {in_texts}"
FORGET_VIEWER = "DELETE FROM story_audience WHERE account = ?"
FORGET_SETTING = "DELETE FROM story_settings WHERE account = ?"
GET_SETTING = "SELECT cross_app FROM story_settings WHERE account = ?"
SET_SETTING = (
    "INSERT INTO story_settings (account, cross_app) VALUES (?, ?) "
    "ON CONFLICT (account) DO UPDATE SET cross_app = excluded.cross_app"
)


def _story(row: Row) -> StoryRecord:
    return StoryRecord(
        id=StoryId(str(row[0])),
        author=AccountId(str(row[1])),
        created_at=Timestamp(int(row[2])),
        expires_at=Timestamp(int(row[3])),
        audience_size=int(row[4]),
    )


def create_story_txn(d: Dialect, story: StoryRecord, audience: Sequence[AccountId]) -> Txn[None]:
    yield from count(
        INSERT_STORY, story.id, story.author, story.created_at, story.expires_at, story.audience_size
    )
    if audience:
        yield from many(INSERT_AUDIENCE, [(story.id, a) for a in dict.fromkeys(audience)])


def get_story_txn(d: Dialect, story: StoryId) -> Txn[StoryRecord | None]:
    row = yield from one(SELECT_STORY, story)
    return None if row is None else _story(row)


def in_audience_txn(d: Dialect, story: StoryId, account: AccountId) -> Txn[bool]:
    row = yield from one(IN_AUDIENCE, story, account)
    return row is not None


def visible_txn(d: Dialect, account: AccountId, now: Timestamp) -> Txn[list[StoryRecord]]:
    rows = yield from all_rows(VISIBLE, now, account, account)
    return [_story(r) for r in rows]


def expired_txn(d: Dialect, now: Timestamp, limit: int) -> Txn[list[StoryId]]:
    rows = yield from all_rows(EXPIRED, now, limit)
    return [StoryId(str(r[0])) for r in rows]


def by_author_txn(d: Dialect, author: AccountId) -> Txn[list[StoryId]]:
    rows = yield from all_rows(BY_AUTHOR, author)
    return [StoryId(str(r[0])) for r in rows]


def blobs_in_txn(d: Dialect, stories: Sequence[StoryId]) -> Txn[list[BlobId]]:
    if not stories:
        return []
    rows = yield from all_rows(BLOBS_IN, d.texts(list(stories)))
    return [BlobId(str(r[0])) for r in rows]


def delete_txn(d: Dialect, stories: Sequence[StoryId]) -> Txn[int]:
    if not stories:
        return 0
    yield from count(DELETE_AUDIENCES, d.texts(list(stories)))
    return (yield from count(DELETE_STORIES, d.texts(list(stories))))


def forget_person_txn(d: Dialect, account: AccountId) -> Txn[None]:
    yield from count(FORGET_VIEWER, account)
    yield from count(FORGET_SETTING, account)


def get_setting_txn(d: Dialect, account: AccountId) -> Txn[bool]:
    row = yield from one(GET_SETTING, account)
    return True if row is None else bool(row[0])


def set_setting_txn(d: Dialect, account: AccountId, allowed: bool) -> Txn[None]:
    yield from count(SET_SETTING, account, allowed)


class SqlStoryStore(SqlPart):
    async def create_story(self, story: StoryRecord, audience: Sequence[AccountId]) -> None:
        await self._engine.write(create_story_txn, story, list(audience))

    async def get_story(self, story: StoryId) -> StoryRecord | None:
        return await self._engine.read(get_story_txn, story)

    async def in_story_audience(self, story: StoryId, account: AccountId) -> bool:
        return await self._engine.read(in_audience_txn, story, account)

    async def visible_stories(self, account: AccountId, *, now: Timestamp) -> list[StoryRecord]:
        return await self._engine.read(visible_txn, account, now)

    async def expired_stories(self, *, now: Timestamp, limit: int) -> list[StoryId]:
        return await self._engine.read(expired_txn, now, limit)

    async def stories_by(self, author: AccountId) -> list[StoryId]:
        return await self._engine.read(by_author_txn, author)

    async def story_blobs(self, stories: Sequence[StoryId]) -> list[BlobId]:
        return await self._engine.read(blobs_in_txn, list(stories))

    async def delete_stories(self, stories: Sequence[StoryId]) -> int:
        return await self._engine.write(delete_txn, list(stories))

    async def forget_story_person(self, account: AccountId) -> None:
        await self._engine.write(forget_person_txn, account)

    async def story_cross_app(self, account: AccountId) -> bool:
        return await self._engine.read(get_setting_txn, account)

    async def set_story_cross_app(self, account: AccountId, allowed: bool) -> None:
        await self._engine.write(set_setting_txn, account, allowed)
