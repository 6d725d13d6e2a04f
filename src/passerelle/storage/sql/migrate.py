"""Numbered, forward-only schema migrations, written once for both engines.

Files (package data under ``storage/migrations/``), numbered from 0001 without gaps:
- ``NNNN_name.sql``: the change, for both engines. It is written in PostgreSQL's types and rendered
  for SQLite by ``render``: ``BIGINT`` and ``BOOLEAN`` become ``INTEGER``, ``BYTEA`` becomes ``BLOB``,
  and a table ends with ``{strict_without_rowid}`` (keyed by text) or ``{strict}`` (keyed by an
  integer, the rowid), which is SQLite's ``STRICT, WITHOUT ROWID`` or ``STRICT`` and nothing on
  PostgreSQL. That is all that differs in tables both engines share.
- ``NNNN_name.sqlite.sql``, ``NNNN_name.postgres.sql`` (optional): what only one engine does, in its
  own SQL as written, run after the common file in the same transaction. Only where the engines
  really differ (the mailbox, how positions are handed out, column storage).
A version may have only engine files; the other engine then records it without running anything,
so both engines always count the same versions.

The ``schema_migrations`` table records every version applied (number and name); an engine applies
each pending version and its record in one transaction, in order. A database that has a version
this code does not know was written by a newer server: opening it is refused rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final

ENGINES: Final = ("sqlite", "postgres")
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)(?:\.(sqlite|postgres))?\.sql$")
_SQLITE_TYPES = re.compile(r"\b(BIGINT|BOOLEAN|BYTEA)\b")
_SQLITE_TYPE: Final = {"BIGINT": "INTEGER", "BOOLEAN": "INTEGER", "BYTEA": "BLOB"}
_TABLE_OPTIONS: Final = {
    "sqlite": {"{strict_without_rowid}": "STRICT, WITHOUT ROWID", "{strict}": "STRICT"},
    "postgres": {"{strict_without_rowid}": "", "{strict}": ""},
}

CREATE_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
)
SELECT_VERSION = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
RECORD_VERSION = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    version: int
    name: str
    sql: str
    """The engine's script: the common file rendered for it, then its own file."""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer version of Passerelle."""


def render(sql: str, engine: str) -> str:
    """A common migration's text for ``engine`` (see the module's rules)."""
    if engine == "sqlite":
        sql = _SQLITE_TYPES.sub(lambda m: _SQLITE_TYPE[m[1]], sql)
    for marker, options in _TABLE_OPTIONS[engine].items():
        sql = sql.replace(marker, options)
    return sql


def load_migrations(engine: str, folder: Traversable | None = None) -> list[Migration]:
    """Every migration of an engine, in order, from ``folder`` (default: the packaged ones).
    Raises ValueError on a misnamed file, a gap, or files of one version that disagree on its name."""
    if engine not in ENGINES:
        raise ValueError(f"no migrations for engine {engine!r}")
    if folder is None:
        folder = resources.files("passerelle.storage").joinpath("migrations")
    names: dict[int, str] = {}
    common: dict[int, str] = {}
    own: dict[int, str] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE.match(entry.name)
        if match is None:
            raise ValueError(f"migration file {entry.name!r} is not named NNNN_name[.engine].sql")
        version, name, only = int(match[1]), match[2], match[3]
        if names.setdefault(version, name) != name:
            raise ValueError(f"migration {version:04d} has files named {names[version]!r} and {name!r}")
        if only is None:
            common[version] = render(entry.read_text(encoding="utf-8"), engine)
        elif only == engine:
            own[version] = entry.read_text(encoding="utf-8")
    for expected, version in enumerate(sorted(names), start=1):
        if version != expected:
            raise ValueError(f"migrations skip or repeat version {expected}")
    if not names:
        raise ValueError("no migrations are packaged")
    return [
        Migration(
            version=version,
            name=names[version],
            sql="\n".join(part for part in (common.get(version), own.get(version)) if part is not None),
        )
        for version in sorted(names)
    ]


def pending(migrations: list[Migration], applied: int) -> list[Migration]:
    """The migrations after version ``applied``. Raises SchemaTooNew when the database is ahead."""
    latest = migrations[-1].version if migrations else 0
    if applied > latest:
        raise SchemaTooNew(
            f"the database schema is at version {applied}, newer than this server knows ({latest}); "
            "upgrade Passerelle"
        )
    return [m for m in migrations if m.version > applied]
