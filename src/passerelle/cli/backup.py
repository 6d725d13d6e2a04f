"""``passerelle backup`` and ``passerelle restore``: the embedded deployment's database and blobs
(storage/backup.py says how, and in which order); PostgreSQL has its own tools (docs/operations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None, typer.Option(help="The server's TOML settings file (to find its data directory)")
]
DataDirOption = Annotated[
    Path | None, typer.Option(help="The server's data directory", show_default="./data, or the config's")
]


def _local_deployment(config: Path | None, data_dir: Path | None) -> tuple[Path, Path | None]:
    """The data directory and the local blob folder (None: blobs in object storage) of an embedded
    deployment; exits with a one-line reason for any other."""
    from passerelle.config import ConfigError, load_settings
    from passerelle.server.startup import masked
    from passerelle.storage.blobs import local_blob_root

    try:
        settings = load_settings(config, data_dir=data_dir)
    except ConfigError as exc:
        typer.echo(f"passerelle: {exc}", err=True)
        raise typer.Exit(2) from None
    if settings.database_url == "memory:":
        typer.echo("passerelle: the in-memory store keeps nothing to back up", err=True)
        raise typer.Exit(2)
    if settings.database_url:
        typer.echo(
            f"passerelle: the database is {masked(settings.database_url)}: back PostgreSQL up with "
            "pg_dump or base backups and WAL archiving (docs/operations.md, Backups)",
            err=True,
        )
        raise typer.Exit(2)
    return settings.data_dir, local_blob_root(settings.blob_url, data_dir=settings.data_dir)


def backup(
    dest: Annotated[Path, typer.Argument(help="A new (or empty) folder for the backup")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Back up the embedded database and its media blobs while the server runs.

    The database is copied at one instant (SQLite's online backup; the server goes on writing),
    then the blobs it references. code.key is not included (docs/operations.md, Backups).
    """
    from passerelle.storage.backup import DATABASE, BackupError
    from passerelle.storage.backup import backup as make_backup

    folder, blobs = _local_deployment(config, data_dir)
    try:
        manifest = make_backup(folder / DATABASE, blobs, dest)
    except BackupError as exc:
        typer.echo(f"passerelle backup: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"backed up {folder / DATABASE} ({manifest.database_bytes} bytes, schema {manifest.schema_version}) "
        f"and {manifest.blobs} blobs ({manifest.blob_bytes} bytes) into {dest}"
    )
    if blobs is None:
        typer.echo("blobs are in object storage: back the bucket up with its versioning or replication")
    if manifest.blobs_gone:
        typer.echo(
            f"{len(manifest.blobs_gone)} blobs were deleted after the database was copied (listed in backup.json)"
        )


def restore(
    source: Annotated[Path, typer.Argument(help="A folder made by passerelle backup")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Restore a backup into a fresh data directory (never over a database: stop the server and
    move the old directory aside first), then start the server on it."""
    from passerelle.storage.backup import BackupError
    from passerelle.storage.backup import restore as put_back

    folder, blobs = _local_deployment(config, data_dir)
    try:
        manifest = put_back(source, folder, blobs)
    except BackupError as exc:
        typer.echo(f"passerelle restore: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"restored the backup of {manifest.created_at_ms} (schema {manifest.schema_version}, "
        f"{manifest.blobs} blobs) into {folder}; start the server on it (passerelle serve --data-dir {folder})"
    )
