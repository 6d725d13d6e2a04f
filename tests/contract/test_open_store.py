"""Choosing an adapter from a URL, and the migration runner's promises. The tests of migrations,
files and the writer thread are about the SQL engines only: the in-memory store has none."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import AccountId, AppName
from passerelle.storage import MemoryStore, PostgresStore, SqliteStore, open_store
from passerelle.storage.sql.dialect import postgres_dialect, sqlite_dialect
from passerelle.storage.sql.migrate import SchemaTooNew, load_migrations
from passerelle.storage.sql.txn import Txn, count
from passerelle.storage.sqlite.engine import SqliteEngine
from tests.contract.conftest import new_person


def test_urls_pick_the_adapter() -> None:
    assert isinstance(open_store("sqlite:///data/passerelle.db"), SqliteStore)
    assert isinstance(open_store("sqlite:////tmp/passerelle.db", sqlite_synchronous="NORMAL"), SqliteStore)
    assert isinstance(open_store("postgresql://user@db.example:5432/passerelle"), PostgresStore)
    assert isinstance(open_store("postgres://user@db.example/passerelle"), PostgresStore)
    assert isinstance(open_store("memory:"), MemoryStore)


async def test_each_memory_url_is_a_new_empty_database() -> None:
    first, second = open_store("memory:"), open_store("memory:")
    await first.open()
    await second.open()
    try:
        alice = await new_person(first)
        assert await first.get_account(alice.account.id) == alice.account
        assert await second.get_account(alice.account.id) is None
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize(
    "url",
    ["sqlite:///:memory:", "sqlite:///", "mysql://root@localhost/db", "passerelle.db", "", "memory://x"],
)
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"(?i)sqlite"):
        open_store(url)


def test_a_bad_synchronous_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="synchronous"):
        open_store("sqlite:///x.db", sqlite_synchronous="SOMETIMES")


def test_every_engine_has_numbered_migrations() -> None:
    for engine in ("sqlite", "postgres"):
        migrations = load_migrations(engine)
        assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
        assert migrations[0].name == "init"


def test_the_dialects_render_placeholders_and_fragments() -> None:
    sql = "SELECT a FROM t WHERE b = ? AND c {in_texts} AND d = '?' LIMIT ? {skip_locked}"

    assert postgres_dialect().render(sql) == (
        "SELECT a FROM t WHERE b = $1 AND c = ANY($2::text[]) AND d = '?' LIMIT $3 FOR UPDATE SKIP LOCKED"
    )
    assert sqlite_dialect().render(sql) == (
        "SELECT a FROM t WHERE b = ? AND c IN (SELECT value FROM json_each(?)) AND d = '?' LIMIT ? "
    )


async def test_reopening_applies_no_migration_twice_and_creates_the_folder(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "store.db"
    for _ in range(2):
        store = open_store(f"sqlite:///{path}")
        await store.open()
        await new_person(store)
        await store.close()

    def versions() -> list[tuple[int, str]]:
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()

    assert await asyncio.to_thread(versions) == [(m.version, m.name) for m in load_migrations("sqlite")]


async def test_a_database_from_a_newer_server_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    await store.open()
    await store.close()

    def from_the_future() -> None:
        with sqlite3.connect(path) as conn:
            conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)")

    await asyncio.to_thread(from_the_future)

    newer = SqliteStore(path)
    with pytest.raises(SchemaTooNew):
        await newer.open()
    await newer.close()
    assert not await newer.ping()


async def test_a_store_that_cannot_create_its_file_says_why_and_stays_closed(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    store = SqliteStore(tmp_path / "file" / "store.db")

    with pytest.raises(OSError, match="file"):
        await store.open()

    await store.close()
    with pytest.raises(Unavailable):
        await store.find_account(AppName("chat"), "x")


async def test_an_unreachable_postgresql_is_unavailable() -> None:
    store = open_store("postgresql://nobody@127.0.0.1:1/nothing")

    with pytest.raises(Unavailable):
        await store.open()

    assert not await store.ping()
    await store.close()


async def test_closing_a_sqlite_store_ends_its_writer_thread(tmp_path: Path) -> None:
    # Compare thread objects, not counts: a writer of an earlier test may still be finishing.
    before = set(threading.enumerate())
    store = SqliteStore(tmp_path / "store.db")
    await store.open()
    [writer] = [t for t in threading.enumerate() if t not in before and t.name == "passerelle-sqlite"]
    assert writer.is_alive()

    await store.close()

    assert not writer.is_alive()


async def test_migration_0006_counts_the_media_already_held_and_drops_the_salted_codes(
    tmp_path: Path,
) -> None:
    """A database of version 5 with blobs and a pending code (salted SHA-256), opened by this server."""
    path = tmp_path / "store.db"

    def version_5() -> None:
        with sqlite3.connect(path) as conn:
            conn.execute(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
            )
            for migration in load_migrations("sqlite")[:5]:
                conn.executescript(migration.sql)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, 0)", (migration.version, migration.name)
                )
            blobs = [("b_1", "a_alice", 700, 1), ("b_2", "a_alice", 300, 0), ("b_3", "a_bob", 5, 1)]
            conn.executemany(
                "INSERT INTO blobs VALUES (?, ?, 'd_x', ?, 0, ?, NULL, 0, 99999999999999)", blobs
            )
            conn.execute("INSERT INTO codes VALUES ('chat', '+33612345678', 'salt$abc', 99999999999999, 6)")

    await asyncio.to_thread(version_5)
    store = SqliteStore(path)
    await store.open()
    try:
        alice = await store.media_usage(AccountId("a_alice"))
        bob = await store.media_usage(AccountId("a_bob"))
        assert (alice.bytes, alice.blobs, bob.bytes, bob.blobs) == (1000, 2, 5, 1)
        assert await store.get_code(AppName("chat"), "+33612345678") is None
    finally:
        await store.close()


def _synchronous(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA synchronous").fetchone()[0])


def _remember(conn: sqlite3.Connection, value: int, fail: bool = False) -> int:
    conn.execute("INSERT INTO t (v) VALUES (?)", (value,))
    if fail:
        raise RuntimeError("rolled back")
    return _synchronous(conn)


async def test_sqlite_lazy_transactions_skip_the_disk_sync_and_every_other_commit_waits_for_it(
    tmp_path: Path,
) -> None:
    # Deleting acknowledged items may be undone by a power cut (they are delivered again); a stored
    # message may not. SQLite's synchronous levels: 1 NORMAL (no sync at commit in WAL mode), 2 FULL.
    engine = SqliteEngine(tmp_path / "lazy.db", dialect=sqlite_dialect())
    await engine.start([])
    await engine.submit(lambda conn: conn.execute("CREATE TABLE t (v INTEGER)"))
    assert await engine.transact(_remember, 1) == 2
    assert await engine.transact_lazy(_remember, 2) == 1
    assert await engine.submit(_synchronous) == 2  # and back to FULL for what follows
    with pytest.raises(RuntimeError):
        await engine.transact_lazy(_remember, 3, True)
    assert await engine.submit(_synchronous) == 2
    await engine.stop()

    reopened = SqliteEngine(tmp_path / "lazy.db", dialect=sqlite_dialect(), synchronous="NORMAL")
    await reopened.start([])
    assert await reopened.submit(lambda conn: conn.execute("SELECT v FROM t ORDER BY v").fetchall()) == [
        (1,),
        (2,),
    ]
    # A store that chose NORMAL keeps it: lazy is never stricter or looser than asked.
    assert await reopened.transact_lazy(_remember, 4) == 1
    assert await reopened.submit(_synchronous) == 1
    await reopened.stop()


def _insert(d: object, value: int, fail: bool = False) -> Txn[int]:
    changed = yield from count("INSERT INTO t (v) VALUES (?)", value)
    if fail:
        raise RuntimeError("after its insert")
    return changed


async def test_sqlite_writes_queued_together_commit_together_each_rolled_back_alone(tmp_path: Path) -> None:
    # The writes queued behind one another share a transaction, each in a savepoint: one that
    # raises leaves nothing behind and the others are committed, each told its own outcome.
    engine = SqliteEngine(tmp_path / "group.db", dialect=sqlite_dialect())
    await engine.start([])
    await engine.submit(lambda conn: conn.execute("CREATE TABLE t (v INTEGER UNIQUE)"))
    gate = threading.Event()
    blocked = engine.submit(lambda conn: gate.wait(10))  # the writer thread waits: the writes queue
    writes = [
        asyncio.ensure_future(engine.write(_insert, 1)),
        asyncio.ensure_future(engine.write(_insert, 2, True)),
        asyncio.ensure_future(engine.write(_insert, 1)),  # the unique value again
        asyncio.ensure_future(engine.write(_insert, 4)),
    ]
    await asyncio.sleep(0.05)  # the writes are queued
    read = engine.submit(lambda conn: conn.execute("SELECT v FROM t").fetchall())
    gate.set()
    await blocked
    outcomes = await asyncio.gather(*writes, return_exceptions=True)
    assert outcomes[0] == 1 and outcomes[3] == 1
    assert isinstance(outcomes[1], RuntimeError)
    assert isinstance(outcomes[2], sqlite3.IntegrityError)
    assert sorted(await read) == [(1,), (4,)]  # queued after them: sees them committed
    await engine.stop()
    reopened = SqliteEngine(tmp_path / "group.db", dialect=sqlite_dialect())
    await reopened.start([])
    assert sorted(await reopened.submit(lambda conn: conn.execute("SELECT v FROM t").fetchall())) == [
        (1,),
        (4,),
    ]
    await reopened.stop()


def _insert_then_lose_the_transaction(d: object, value: int) -> Txn[int]:
    yield from count("INSERT INTO t (v) VALUES (?)", value)
    yield from count("ROLLBACK")  # as SQLite does by itself on a full disk or an I/O error
    raise RuntimeError("the transaction is gone")


async def test_sqlite_a_write_group_whose_transaction_is_lost_fails_whole_and_the_engine_goes_on(
    tmp_path: Path,
) -> None:
    engine = SqliteEngine(tmp_path / "lost.db", dialect=sqlite_dialect())
    await engine.start([])
    await engine.submit(lambda conn: conn.execute("CREATE TABLE t (v INTEGER UNIQUE)"))
    gate = threading.Event()
    blocked = engine.submit(lambda conn: gate.wait(10))
    writes = [
        asyncio.ensure_future(engine.write(_insert, 1)),
        asyncio.ensure_future(engine.write(_insert_then_lose_the_transaction, 2)),
        asyncio.ensure_future(engine.write(_insert, 3)),
    ]
    await asyncio.sleep(0.05)
    gate.set()
    await blocked
    outcomes = await asyncio.gather(*writes, return_exceptions=True)
    # Nothing of the group was committed, so none of them is told it was: each gets the error.
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert await engine.submit(lambda conn: conn.execute("SELECT v FROM t").fetchall()) == []
    assert await engine.write(_insert, 4) == 1
    await engine.stop()
