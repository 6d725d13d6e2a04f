"""The one command line: passerelle serve | demo | chat | bench."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Passerelle: one end-to-end encrypted messaging back end for several apps.", no_args_is_help=True
)


@app.command()
def serve(
    config: Annotated[Path | None, typer.Option(help="TOML file declaring the apps and settings")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="SQLite database and media live here")] = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="postgresql://... (default: SQLite in data dir)")
    ] = None,
    redis_url: Annotated[str | None, typer.Option(help="redis://... to run several nodes")] = None,
) -> None:
    """Start the server (the bundled chat, photo and social apps unless --config says otherwise)."""
    import uvicorn

    from passerelle.config import load_settings
    from passerelle.server.app import create_app
    from passerelle.server.logs import configure_logging
    from passerelle.server.runner import uvicorn_config

    settings = load_settings(
        config, data_dir=data_dir, host=host, port=port, database_url=database_url, redis_url=redis_url
    )
    configure_logging(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    apps = ", ".join(f"{a.name} ({a.identity.value})" for a in settings.apps)
    typer.echo(f"Passerelle on http://{settings.host}:{settings.port} — apps: {apps}", err=True)
    typer.echo(f"Database: {settings.effective_database_url()}", err=True)
    uvicorn.Server(uvicorn_config(create_app(settings), settings)).run()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
