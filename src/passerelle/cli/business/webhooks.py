"""``passerelle business webhook set|show|clear``: a business's webhook through the admin API
(``/v1/admin/businesses/{id}/webhook``, docs/business.md section 9). ``set`` makes the server run the
verification handshake against the URL first; without ``--app-secret`` the server makes one and it
is printed this once. Secrets are better given through the environment
(``PASSERELLE_WEBHOOK_VERIFY_TOKEN``, ``PASSERELLE_WEBHOOK_APP_SECRET``) than on the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from passerelle.cli.business.command import ADMIN, DEFAULT_SERVER, ServerOpt, TokenOpt, _call, _seg, _show
from passerelle.proto.rest.webhooks import SetWebhook

webhook = typer.Typer(
    help="A business's webhook: callback URL, verify token, app secret.", no_args_is_help=True
)


def _path(business_id: str) -> str:
    return f"{ADMIN}/{_seg(business_id)}/webhook"


@webhook.command("set")
def set_webhook(
    business_id: str,
    callback_url: str,
    verify_token: Annotated[
        str,
        typer.Option(
            envvar="PASSERELLE_WEBHOOK_VERIFY_TOKEN", help="Echoed by the bot's handshake", show_default=False
        ),
    ],
    app_secret: Annotated[
        str,
        typer.Option(
            envvar="PASSERELLE_WEBHOOK_APP_SECRET",
            help="Signs each POST (X-Hub-Signature-256); empty: the server makes one and prints it once",
            show_default=False,
        ),
    ] = "",
    server: ServerOpt = DEFAULT_SERVER,
    admin_token: TokenOpt = "",
) -> None:
    """Set the callback URL once the bot answered the verification handshake."""
    body = SetWebhook(callback_url=callback_url, verify_token=verify_token, app_secret=app_secret or None)
    _show(_call(server, admin_token, "PUT", _path(business_id), body))


@webhook.command()
def show(business_id: str, server: ServerOpt = DEFAULT_SERVER, admin_token: TokenOpt = "") -> None:
    """The webhook, its secrets as hints, and how many events wait."""
    _show(_call(server, admin_token, "GET", _path(business_id)))


@webhook.command()
def clear(business_id: str, server: ServerOpt = DEFAULT_SERVER, admin_token: TokenOpt = "") -> None:
    """Remove the webhook; events still waiting are dropped."""
    _call(server, admin_token, "DELETE", _path(business_id))
    typer.echo("cleared")
