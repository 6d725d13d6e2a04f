"""Backups of the embedded deployment: the SQLite database and the blob directory, online.

A backup is a folder: ``passerelle.db`` (a consistent copy of the database, one file, no WAL),
``blobs/xx/<id>`` (the media ciphertext the database knows of) and ``backup.json`` (what it holds;
written last, so a folder without it is an interrupted backup, which ``restore`` refuses).

Rules
1. **Online and consistent.** The database is copied with SQLite's backup API in one step: one read
   transaction, a snapshot of one instant. The server's database is in WAL mode, where a reader
   never blocks the writer: the server goes on committing while the copy is made (only the WAL's
   checkpoint waits for the copy to end).
2. **Database first, then blobs.** A blob's bytes reach its file (fsynced) before the database
   records them (``LocalBlobStore``), so every byte the snapshot knows of is on disk when the
   snapshot is taken. Copying the blobs afterwards, each up to the size the snapshot recorded,
   gives every blob the snapshot references. The other order would not: a blob uploaded between
   the two copies would be referenced by the database and missing from the backup. The only blobs
   this order can miss are those deleted after the snapshot (expired, deleted by their uploader,
   an erased account): the live server no longer has them either; they are listed in
   ``backup.json`` (``blobs_gone``) and their rows go when they expire.
3. **What is not in it.** ``code.key`` (the key that makes one-time codes verifiable) is left out
   on purpose (docs/operations.md): a restored server makes a new one and the codes pending at
   backup time (10 minutes' worth) no longer verify. PostgreSQL deployments use PostgreSQL's own
   tools, and blobs in object storage the bucket's versioning or replication (docs/operations.md).
4. **Restore into a fresh data directory only**: never over a database (stop the server, move the
   old directory aside). The copy is checked (``PRAGMA integrity_check``) before anything is
   written; files are created 0600 in folders of 0700.

Blocking file and database work: this runs in the ``passerelle backup`` / ``restore`` commands,
never in the server's event loop.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from passerelle.domain.ids import BlobId
from passerelle.storage.blobs.files import LocalBlobStore
from passerelle.storage.private_files import create_dirs, open_private, private_dir

DATABASE = "passerelle.db"
MANIFEST = "backup.json"
FORMAT = 1
_CHUNK = 1 << 20


class BackupError(Exception):
    """The backup or restore cannot be made; the message says why, in one sentence."""


@dataclass
class Manifest:
    format: int
    created_at_ms: int
    schema_version: int
    database_bytes: int
    database_sha256: str
    blobs: int
    blob_bytes: int
    blobs_gone: list[str] = field(default_factory=list)
    """Blobs the database snapshot knew of whose files were deleted before they were copied."""


def backup(database: Path, blob_root: Path | None, dest: Path) -> Manifest:
    """Copy the live database at ``database`` (and, unless ``blob_root`` is None, the blobs it
    references from that folder) into the new folder ``dest``."""
    if not database.is_file():
        raise BackupError(f"no database at {database}")
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty: give a new folder for the backup")
    private_dir(dest)
    partial = dest / f"{DATABASE}.partial"
    _snapshot(database, partial)
    with _connect(partial) as copy:
        _check(copy, partial)
        schema = int(copy.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])
        known = [(str(r[0]), int(r[1])) for r in copy.execute("SELECT id, received FROM blobs ORDER BY id")]
    gone: list[str] = []
    copied = copied_bytes = 0
    if blob_root is not None:
        source, target = LocalBlobStore(blob_root), LocalBlobStore(dest / "blobs")
        for blob, received in known:
            if _copy_prefix(source.path_of(BlobId(blob)), target.path_of(BlobId(blob)), received):
                copied += 1
                copied_bytes += received
            else:
                gone.append(blob)
    partial.rename(dest / DATABASE)
    manifest = Manifest(
        format=FORMAT,
        created_at_ms=int(time.time() * 1000),
        schema_version=schema,
        database_bytes=(dest / DATABASE).stat().st_size,
        database_sha256=_sha256(dest / DATABASE),
        blobs=copied,
        blob_bytes=copied_bytes,
        blobs_gone=gone,
    )
    _write_private(dest / MANIFEST, json.dumps(asdict(manifest), indent=2).encode() + b"\n")
    _fsync_dir(dest)
    return manifest


def restore(source: Path, data_dir: Path, blob_root: Path | None) -> Manifest:
    """Put the backup in ``source`` into the fresh data directory ``data_dir`` (its blobs into
    ``blob_root``, unless None)."""
    manifest = read_manifest(source)
    if (data_dir / DATABASE).exists():
        raise BackupError(
            f"{data_dir / DATABASE} exists: restore into a fresh data directory "
            "(stop the server and move the old one aside first)"
        )
    if _sha256(source / DATABASE) != manifest.database_sha256:
        raise BackupError(f"{source / DATABASE} does not match its backup.json: the backup is damaged")
    with _connect(source / DATABASE) as copy:
        _check(copy, source / DATABASE)
    private_dir(data_dir)
    partial = data_dir / f"{DATABASE}.restoring"
    _copy_prefix(source / DATABASE, partial, manifest.database_bytes)
    if blob_root is not None and (source / "blobs").is_dir():
        for file in sorted((source / "blobs").glob("*/*")):
            target = blob_root / file.parent.name / file.name
            if not target.exists():
                _copy_prefix(file, target, file.stat().st_size)
    partial.rename(data_dir / DATABASE)
    _fsync_dir(data_dir)
    return manifest


def read_manifest(source: Path) -> Manifest:
    try:
        raw = json.loads((source / MANIFEST).read_bytes())
    except FileNotFoundError:
        raise BackupError(f"{source} holds no {MANIFEST}: not a backup, or an interrupted one") from None
    except ValueError:
        raise BackupError(f"{source / MANIFEST} is not readable JSON: the backup is damaged") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise BackupError(f"{source / MANIFEST} is not a backup of a format this version reads ({FORMAT})")
    try:
        return Manifest(**raw)
    except TypeError:
        raise BackupError(f"{source / MANIFEST} lacks fields: the backup is damaged") from None


def _snapshot(database: Path, target: Path) -> None:
    """SQLite's online backup, in one step (one read transaction: a consistent instant)."""
    fd = open_private(target, os.O_WRONLY | os.O_EXCL)  # created 0600 before SQLite opens it
    os.close(fd)
    src = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
    try:
        with _connect(target) as dst:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    except sqlite3.Error as exc:
        raise BackupError(f"could not copy the database: {exc}") from exc
    finally:
        src.close()


class _connect:
    """A plain connection to a database file, closed on exit (sqlite3's own context manager only
    ends transactions)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, timeout=30.0)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc_info: object) -> None:
        self.conn.close()


def _check(conn: sqlite3.Connection, path: Path) -> None:
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable database: {exc}") from exc
    if verdict != "ok":
        raise BackupError(f"{path} fails SQLite's integrity check: {verdict}")


def _copy_prefix(source: Path, target: Path, length: int) -> bool:
    """Copy the first ``length`` bytes of ``source`` to the new private file ``target`` (fsynced);
    False when ``source`` does not exist."""
    try:
        src = source.open("rb")
    except FileNotFoundError:
        return False
    with src:
        create_dirs(target.parent)
        fd = open_private(target, os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(fd, "wb") as out:
            left = length
            while left > 0:
                chunk = src.read(min(_CHUNK, left))
                if not chunk:
                    raise BackupError(f"{source} is shorter than the database says ({length} bytes)")
                out.write(chunk)
                left -= len(chunk)
            out.flush()
            os.fsync(out.fileno())
    return True


def _write_private(path: Path, data: bytes) -> None:
    fd = open_private(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
