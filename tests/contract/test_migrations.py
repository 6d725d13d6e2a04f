"""Migrations written once (``storage/migrations/``) build, on each engine, the very schema that the
per-engine files of versions 1 to 6 built (``fixtures/schema_0006.json``), and a database those
files built opens as up to date."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from passerelle.domain.ids import AccountId
from passerelle.storage import PostgresStore, SqliteStore
from passerelle.storage.sql.migrate import CREATE_VERSION_TABLE, load_migrations, render
from tests.contract.conftest import POSTGRES_URL
from tests.contract.schema_dump import load_fixture, postgres_schema, sqlite_rows, sqlite_schema

_OLD_NAMES = [(1, "init"), (2, "media"), (3, "privacy"), (4, "groups"), (5, "stories"), (6, "hardening")]


def test_versions_and_names_are_those_the_databases_already_record() -> None:
    for engine in ("sqlite", "postgres"):
        assert [(m.version, m.name) for m in load_migrations(engine)][:6] == _OLD_NAMES


def test_a_common_file_is_rendered_for_each_engine() -> None:
    sql = "CREATE TABLE t (a BIGINT, b BOOLEAN, c BYTEA, bigint_count TEXT) {strict_without_rowid};"
    assert render(sql, "sqlite") == (
        "CREATE TABLE t (a INTEGER, b INTEGER, c BLOB, bigint_count TEXT) STRICT, WITHOUT ROWID;"
    )
    assert render(sql, "postgres") == "CREATE TABLE t (a BIGINT, b BOOLEAN, c BYTEA, bigint_count TEXT) ;"
    assert render("CREATE TABLE t (id BIGINT PRIMARY KEY) {strict};", "sqlite") == (
        "CREATE TABLE t (id INTEGER PRIMARY KEY) STRICT;"
    )


def _migrate_sqlite_to_6(path: Path) -> list[list[object]]:
    with sqlite3.connect(path) as conn:
        conn.execute(CREATE_VERSION_TABLE)
        for migration in load_migrations("sqlite")[:6]:
            conn.executescript(migration.sql)
        return sqlite_rows(conn)


def test_sqlite_schema_is_the_one_the_per_engine_files_built(tmp_path: Path) -> None:
    old, _ = load_fixture()
    assert sqlite_schema(_migrate_sqlite_to_6(tmp_path / "new.db")) == sqlite_schema(old)


@pytest.mark.postgres
async def test_postgres_schema_is_the_one_the_per_engine_files_built() -> None:
    if not POSTGRES_URL:
        pytest.skip("PASSERELLE_TEST_POSTGRES_URL is not set")
    _, old = load_fixture()
    schema = f"passerelle_migrations_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.execute(CREATE_VERSION_TABLE)
        for migration in load_migrations("postgres")[:6]:
            async with conn.transaction():
                await conn.execute(migration.sql)
        assert await postgres_schema(conn, schema) == old
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


async def test_a_database_built_by_the_per_engine_files_opens_as_up_to_date(tmp_path: Path) -> None:
    """The version-6 schema exactly as the old files wrote it (their statements' own text), with
    their version rows and an account: opening it runs none of versions 1 to 6 again (only later
    ones) and finds the account."""
    path = tmp_path / "old.db"
    old, _ = load_fixture()

    def build() -> None:
        with sqlite3.connect(path) as conn:
            for _kind, _name, _table, sql in old:
                if sql is not None:
                    conn.execute(str(sql))
            conn.executemany("INSERT INTO schema_migrations VALUES (?, ?, 0)", _OLD_NAMES)
            conn.execute("INSERT INTO sequences VALUES (0, 1, 1)")
            conn.execute("INSERT INTO accounts VALUES ('a_old', 'chat', 'old', 'Old', NULL, NULL, 1, 0)")

    await asyncio.to_thread(build)
    store = SqliteStore(path)
    await store.open()
    try:
        account = await store.get_account(AccountId("a_old"))
        assert account is not None and account.alias == "old"
    finally:
        await store.close()

    def versions() -> list[tuple[int, str, int]]:
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT version, name, applied_at FROM schema_migrations").fetchall()

    # versions 1 to 6 were not run again (applied_at stays 0); later versions are new changes
    assert (await asyncio.to_thread(versions))[:6] == [(v, n, 0) for v, n in _OLD_NAMES]


@pytest.mark.postgres
async def test_a_postgres_database_at_version_6_opens_as_up_to_date() -> None:
    """Its version rows are the numbers and names that the per-engine files recorded."""
    if not POSTGRES_URL:
        pytest.skip("PASSERELLE_TEST_POSTGRES_URL is not set")
    schema = f"passerelle_migrations_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        store = PostgresStore(POSTGRES_URL, search_path=schema)
        await store.open()
        await store.close()
        rows = await admin.fetch(f'SELECT version, name FROM "{schema}".schema_migrations ORDER BY version')
        assert [(r[0], r[1]) for r in rows][:6] == _OLD_NAMES
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_an_engine_file_runs_after_the_common_one_and_a_version_may_be_one_engines_only(
    tmp_path: Path,
) -> None:
    folder = _folder(
        tmp_path,
        {
            "0001_init.sql": "CREATE TABLE t (a BIGINT) {strict};",
            "0001_init.postgres.sql": "ALTER TABLE t ADD COLUMN b BIGINT;",
            "0002_tune.postgres.sql": "ALTER TABLE t ALTER COLUMN a SET STORAGE PLAIN;",
            "README": "not a migration",
        },
    )
    pg = load_migrations("postgres", folder)
    lite = load_migrations("sqlite", folder)

    assert (
        [(m.version, m.name) for m in pg] == [(m.version, m.name) for m in lite] == [(1, "init"), (2, "tune")]
    )
    assert pg[0].sql == "CREATE TABLE t (a BIGINT) ;\nALTER TABLE t ADD COLUMN b BIGINT;"
    assert lite[0].sql == "CREATE TABLE t (a INTEGER) STRICT;"
    assert pg[1].sql == "ALTER TABLE t ALTER COLUMN a SET STORAGE PLAIN;"
    assert lite[1].sql == ""


@pytest.mark.parametrize(
    ("files", "complaint"),
    [
        ({"0001_init.sql": "", "0003_late.sql": ""}, "skip or repeat version 2"),
        ({"0001_init.sql": "", "0001_start.sqlite.sql": ""}, "has files named"),
        ({"0001_init.sql": "", "1_x.sql": ""}, "is not named"),
        ({"0001_init.mysql.sql": ""}, "is not named"),
        ({}, "no migrations"),
    ],
)
def test_misnamed_or_missing_migrations_are_refused(
    tmp_path: Path, files: dict[str, str], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        load_migrations("sqlite", _folder(tmp_path, files))
