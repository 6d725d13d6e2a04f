"""Transaction functions: store logic written once, run by either engine.

A transaction function (name ending in ``_txn``) takes the ``Dialect`` first and is a generator: it
yields a ``Query`` for each statement and receives its result, then returns the method's value.
It does no I/O itself, so the SQLite engine drives it synchronously on its writer thread and the
PostgreSQL engine drives it with ``await`` on a pooled connection, each inside one transaction.

    def get_thing_txn(d: Dialect, thing: str) -> Txn[Thing | None]:
        row = yield from one(SELECT_THING, thing)
        return None if row is None else thing_from_row(row)

Results by mode: ``ONE`` a row or None, ``ALL`` a list of rows, ``COUNT`` the number of rows the
statement changed, ``MANY`` (one statement, many argument rows) None. A row is a sequence of column
values in the order of the SELECT or RETURNING list.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias, TypeVar

T = TypeVar("T")

Row: TypeAlias = Sequence[Any]
"""A driver row (sqlite3 tuple or asyncpg Record); mapped to a record before it leaves the storage."""

ONE: Final = 1
ALL: Final = 2
COUNT: Final = 3
MANY: Final = 4


@dataclass(frozen=True, slots=True)
class Query:
    mode: int
    sql: str
    """Shared SQL text; the engine renders it with its dialect."""
    args: Sequence[Any]


Txn: TypeAlias = Generator[Query, Any, T]


def one(sql: str, *args: object) -> Generator[Query, Any, Row | None]:
    row: Row | None = yield Query(ONE, sql, args)
    return row


def all_rows(sql: str, *args: object) -> Generator[Query, Any, list[Row]]:
    rows: list[Row] = yield Query(ALL, sql, args)
    return rows


def count(sql: str, *args: object) -> Generator[Query, Any, int]:
    n: int = yield Query(COUNT, sql, args)
    return n


def many(sql: str, rows: Sequence[Sequence[object]]) -> Generator[Query, Any, None]:
    if rows:
        yield Query(MANY, sql, rows)
