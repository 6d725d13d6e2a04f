"""storage/backup.py on its own: what it refuses, and that a damaged backup is not restored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from passerelle.storage.backup import DATABASE, BackupError, backup, restore


def small_database(folder: Path) -> Path:
    """A database with the two tables a backup reads (schema_migrations, blobs) and one blob."""
    folder.mkdir()
    path = folder / DATABASE
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE schema_migrations (version INTEGER, name TEXT, applied_at INTEGER)")
    conn.execute("INSERT INTO schema_migrations VALUES (8, 'x', 0)")
    conn.execute("CREATE TABLE blobs (id TEXT PRIMARY KEY, received INTEGER)")
    conn.execute("INSERT INTO blobs VALUES ('b_aaaaaaaaaaaaaaaaaaaa', 5), ('b_bbbbbbbbbbbbbbbbbbbb', 3)")
    conn.commit()
    conn.close()
    blob = folder / "blobs" / "aa" / "b_aaaaaaaaaaaaaaaaaaaa"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"0123456789")  # longer than recorded: an upload under way
    return path


def test_a_backup_copies_what_the_database_recorded_and_lists_what_is_gone(tmp_path: Path) -> None:
    database = small_database(tmp_path / "data")
    manifest = backup(database, tmp_path / "data" / "blobs", tmp_path / "backup")
    assert manifest.schema_version == 8 and manifest.blobs == 1 and manifest.blob_bytes == 5
    assert manifest.blobs_gone == ["b_bbbbbbbbbbbbbbbbbbbb"]  # deleted before it was copied
    assert (tmp_path / "backup" / "blobs" / "aa" / "b_aaaaaaaaaaaaaaaaaaaa").read_bytes() == b"01234"

    restore(tmp_path / "backup", tmp_path / "restored", tmp_path / "restored" / "blobs")
    conn = sqlite3.connect(tmp_path / "restored" / DATABASE)
    assert conn.execute("SELECT count(*) FROM blobs").fetchone() == (2,)
    conn.close()
    assert (tmp_path / "restored" / "blobs" / "aa" / "b_aaaaaaaaaaaaaaaaaaaa").read_bytes() == b"01234"


def test_refusals(tmp_path: Path) -> None:
    database = small_database(tmp_path / "data")
    with pytest.raises(BackupError, match="no database"):
        backup(tmp_path / "nowhere.db", None, tmp_path / "b0")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(BackupError, match="not empty"):
        backup(database, None, tmp_path / "full")
    backup(database, None, tmp_path / "b1")
    # Over an existing database: refused, nothing written.
    with pytest.raises(BackupError, match="fresh data directory"):
        restore(tmp_path / "b1", tmp_path / "data", None)
    # An interrupted backup (no manifest) and a damaged one are not restored.
    (tmp_path / "b2").mkdir()
    with pytest.raises(BackupError, match="interrupted"):
        restore(tmp_path / "b2", tmp_path / "r2", None)
    with (tmp_path / "b1" / DATABASE).open("r+b") as f:
        f.seek(200)
        f.write(b"garbage")
    with pytest.raises(BackupError, match="damaged"):
        restore(tmp_path / "b1", tmp_path / "r1", None)
    assert not (tmp_path / "r1" / DATABASE).exists()
