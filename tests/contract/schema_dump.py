"""The schema a database holds, as plain JSON-able data, to compare two ways of building it.

SQLite: every row of ``sqlite_master`` (its statements' text, comments and layout normalised away).
PostgreSQL: the columns, constraints, indexes, sequences and column storage of one schema, from
``information_schema`` and ``pg_catalog`` (the schema's own name replaced by ``<schema>``).

``fixtures/schema_0006.json`` is the schema that the per-engine migration files of versions 1 to 6
(``storage/migrations/<engine>/``, before they were written once) produced on each engine. To write it
again (only ever for that version): ``python -m tests.contract.schema_dump <sqlite.db> <postgres URL>``
on databases migrated to version 6.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

import asyncpg

FIXTURE = Path(__file__).parent / "fixtures" / "schema_0006.json"

_COMMENT = re.compile(r"--[^\n]*")
_SPACE = re.compile(r"\s+")
_AROUND_PUNCTUATION = re.compile(r"\s*([(),;])\s*")


def normalise_sql(sql: str | None) -> str | None:
    """A statement's text without comments, with one space between words and none around
    punctuation: two texts that differ only in layout compare equal."""
    if sql is None:
        return None
    text = _SPACE.sub(" ", _COMMENT.sub("", sql)).strip()
    return _AROUND_PUNCTUATION.sub(r"\1", text)


def sqlite_rows(conn: sqlite3.Connection) -> list[list[Any]]:
    """``sqlite_master`` as written (type, name, table, statement), in creation order."""
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid").fetchall()
    return [list(row) for row in rows]


def sqlite_schema(rows: list[list[Any]]) -> list[list[Any]]:
    """What the schema is, whatever the order and layout it was written in."""
    return sorted(
        ([kind, name, table, normalise_sql(sql)] for kind, name, table, sql in rows),
        key=lambda r: (r[0], r[1]),
    )


_PG_QUERIES = {
    "columns": (
        "SELECT table_name::text, column_name::text, ordinal_position::int, data_type::text, "
        "is_nullable::text, column_default::text FROM information_schema.columns "
        "WHERE table_schema = $1 ORDER BY table_name, ordinal_position"
    ),
    "constraints": (
        "SELECT t.relname::text, c.conname::text, c.contype::text, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = $1 ORDER BY t.relname, c.conname"
    ),
    "indexes": (
        "SELECT tablename::text, indexname::text, indexdef FROM pg_indexes WHERE schemaname = $1 "
        "ORDER BY tablename, indexname"
    ),
    "sequences": (
        "SELECT sequence_name::text, data_type::text, start_value::text, increment::text "
        "FROM information_schema.sequences WHERE sequence_schema = $1 ORDER BY sequence_name"
    ),
    "storage": (
        "SELECT t.relname::text, a.attname::text, a.attstorage::text FROM pg_attribute a "
        "JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = $1 AND t.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY t.relname, a.attnum"
    ),
}


async def postgres_schema(conn: Any, schema: str) -> dict[str, list[list[Any]]]:
    """Resets the session's search_path first: names are then written qualified by the schema."""
    await conn.execute("RESET search_path")
    out: dict[str, list[list[Any]]] = {}
    for part, query in _PG_QUERIES.items():
        rows = await conn.fetch(query, schema)
        out[part] = [
            [v.replace(f"{schema}.", "<schema>.") if isinstance(v, str) else v for v in row] for row in rows
        ]
    return out


async def _write(sqlite_path: str, postgres_url: str, schema: str) -> None:
    with sqlite3.connect(sqlite_path) as conn:
        lite = sqlite_rows(conn)
    pg = await asyncpg.connect(postgres_url)
    try:
        postgres = await postgres_schema(pg, schema)
    finally:
        await pg.close()
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(_one_row_a_line({"sqlite": lite, **postgres}), encoding="utf-8")


def _one_row_a_line(parts: dict[str, list[list[Any]]]) -> str:
    blocks = [
        f"  {json.dumps(name)}: [\n" + ",\n".join(f"    {json.dumps(row)}" for row in rows) + "\n  ]"
        for name, rows in parts.items()
    ]
    return "{\n" + ",\n".join(blocks) + "\n}\n"


def load_fixture() -> tuple[list[list[Any]], dict[str, list[list[Any]]]]:
    """The version-6 schema: the SQLite rows and the PostgreSQL parts."""
    parts: dict[str, list[list[Any]]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return parts.pop("sqlite"), parts


if __name__ == "__main__":
    asyncio.run(_write(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "public"))
