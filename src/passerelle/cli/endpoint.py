"""``passerelle business-endpoint run``: a self-run business endpoint next to the business's bot
(docs/business.md section 4). The first run enrols with the operator's one-time token; the device's
keys, the webhook outbox and the replay cursor stay in ``--data-dir``. The bot points its Cloud API
base URL at ``http://<listen>`` (``/v<major>.<minor>/{phone_number_id}/messages``, ...)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

endpoint_app = typer.Typer(
    help="A self-run business endpoint (the business's keys, next to its bot).", no_args_is_help=True
)


@endpoint_app.command()
def run(
    server: Annotated[str, typer.Option(envvar="PASSERELLE_SERVER_URL", help="The Passerelle server")],
    data_dir: Annotated[Path, typer.Option(help="The endpoint's keys, outbox and cursor (kept private)")],
    enrolment_token: Annotated[
        str | None,
        typer.Option(
            envvar="PASSERELLE_ENROLMENT_TOKEN",
            help="First run: the operator's one-time token",
            show_default=False,
        ),
    ] = None,
    listen: Annotated[str, typer.Option(help="host:port the bot calls")] = "127.0.0.1:8090",
    passphrase: Annotated[
        str | None,
        typer.Option(
            envvar="PASSERELLE_ENDPOINT_PASSPHRASE",
            help="Seal the keys under a passphrase",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Enrol (first run) or open the endpoint, then serve the bot until interrupted."""
    from passerelle.sdk.errors import SdkError
    from passerelle.server.endpoint.selfrun import SelfRunOptions
    from passerelle.server.endpoint.selfrun import run as run_endpoint

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        typer.echo("passerelle business-endpoint: --listen is host:port", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = SelfRunOptions(
        server_url=server,
        data_dir=data_dir,
        host=host,
        port=int(port),
        enrolment_token=enrolment_token,
        passphrase=passphrase,
    )
    try:
        asyncio.run(run_endpoint(options))
    except SdkError as exc:
        typer.echo(f"passerelle business-endpoint: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass
