"""Numbered, forward-only schema migrations.

Each engine has its own folder of SQL files, ``storage/migrations/<dialect>/NNNN_name.sql``, numbered
from 0001 without gaps. The ``schema_migrations`` table records every version applied; an engine
applies each pending file and its record in one transaction, in order. A database that has a version
this code does not know was written by a newer server: opening it is refused rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

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


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer version of Passerelle."""


def load_migrations(dialect_name: str) -> list[Migration]:
    """Every migration of an engine, in order. Raises ValueError on a misnamed file or a gap."""
    folder = resources.files("passerelle.storage").joinpath("migrations", dialect_name)
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE.match(entry.name)
        if match is None:
            raise ValueError(f"migration file {entry.name!r} is not named NNNN_name.sql")
        found.append(Migration(version=int(match[1]), name=match[2], sql=entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise ValueError(f"{dialect_name} migrations skip or repeat version {expected}")
    if not found:
        raise ValueError(f"no {dialect_name} migrations are packaged")
    return found


def pending(migrations: list[Migration], applied: int) -> list[Migration]:
    """The migrations after version ``applied``. Raises SchemaTooNew when the database is ahead."""
    latest = migrations[-1].version if migrations else 0
    if applied > latest:
        raise SchemaTooNew(
            f"the database schema is at version {applied}, newer than this server knows ({latest}); "
            "upgrade Passerelle"
        )
    return [m for m in migrations if m.version > applied]
