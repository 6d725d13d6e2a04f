"""``passerelle business …``: create, list, show and update businesses, add business accounts and
numbers, create, list and revoke system-user tokens, and list what counts against a business's
quality (``signals``) — each one call to the server's admin API
(``/v1/admin/businesses…``, docs/protocol.md section 15) with the operator's ``admin_token``.

The server is ``--server`` or ``PASSERELLE_SERVER_URL`` (default ``http://127.0.0.1:8000``); the
token is ``--admin-token`` or ``PASSERELLE_ADMIN_TOKEN``. Answers are printed as JSON.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import msgspec
import typer

from passerelle.proto.rest.business import (
    CreateBusiness,
    CreateBusinessAccount,
    CreateNumber,
    CreateToken,
    UpdateBusiness,
)

app = typer.Typer(
    help="Businesses: profiles, numbers and system-user tokens (operator).", no_args_is_help=True
)
tokens = typer.Typer(help="System-user tokens of a business.", no_args_is_help=True)
app.add_typer(tokens, name="token")

ServerOpt = Annotated[
    str, typer.Option("--server", envvar="PASSERELLE_SERVER_URL", help="The server's base URL")
]
TokenOpt = Annotated[
    str,
    typer.Option(
        "--admin-token",
        envvar="PASSERELLE_ADMIN_TOKEN",
        help="The operator's admin_token",
        show_default=False,
    ),
]
DEFAULT_SERVER = "http://127.0.0.1:8000"
ADMIN = "/v1/admin/businesses"


def _call(server: str, token: str, method: str, path: str, body: msgspec.Struct | None = None) -> Any:
    if not token:
        typer.echo("passerelle business: give --admin-token or set PASSERELLE_ADMIN_TOKEN", err=True)
        raise typer.Exit(2)
    content = None if body is None else msgspec.json.encode(body)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        with httpx.Client(base_url=server, timeout=30.0) as http:
            response = http.request(method, path, content=content, headers=headers)
    except httpx.HTTPError as exc:
        typer.echo(f"passerelle business: cannot reach {server}: {exc}", err=True)
        raise typer.Exit(1) from None
    if response.status_code >= 400:
        typer.echo(f"passerelle business: {response.status_code} {response.text}", err=True)
        raise typer.Exit(1)
    return None if response.status_code == 204 else response.json()


def _show(answer: Any) -> None:
    if answer is not None:
        typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))


def _seg(text: str) -> str:
    return quote(text, safe="")


@app.command()
def create(
    slug: Annotated[str, typer.Argument(help="The address after biz:, e.g. velo-paris")],
    name: Annotated[str, typer.Option(help="The business's name")],
    about: str = "",
    description: str = "",
    logo_url: str = "",
    website: str = "",
    email: str = "",
    category: str = "",
    verified: Annotated[bool, typer.Option(help="Mark it verified")] = False,
    server: ServerOpt = DEFAULT_SERVER,
    admin_token: TokenOpt = "",
) -> None:
    """Create a business reachable as biz:<slug> from every app."""
    body = CreateBusiness(
        slug=slug,
        name=name,
        about=about,
        description=description,
        logo_url=logo_url,
        website=website,
        email=email,
        category=category,
        verified=verified,
    )
    _show(_call(server, admin_token, "POST", ADMIN, body))


@app.command("list")
def list_businesses(server: ServerOpt = DEFAULT_SERVER, admin_token: TokenOpt = "") -> None:
    """Every business, with its accounts and numbers."""
    _show(_call(server, admin_token, "GET", ADMIN))


@app.command()
def show(business_id: str, server: ServerOpt = DEFAULT_SERVER, admin_token: TokenOpt = "") -> None:
    """One business, with its accounts and numbers."""
    _show(_call(server, admin_token, "GET", f"{ADMIN}/{_seg(business_id)}"))


@app.command()
def update(
    business_id: str,
    name: str | None = None,
    about: str | None = None,
    description: str | None = None,
    logo_url: str | None = None,
    website: str | None = None,
    email: str | None = None,
    category: str | None = None,
    verified: Annotated[bool | None, typer.Option("--verified/--unverified", show_default=False)] = None,
    server: ServerOpt = DEFAULT_SERVER,
    admin_token: TokenOpt = "",
) -> None:
    """Change a business's profile or verified flag (only what is given)."""
    body = UpdateBusiness(
        name=name,
        about=about,
        description=description,
        logo_url=logo_url,
        website=website,
        email=email,
        category=category,
        verified=verified,
    )
    _show(_call(server, admin_token, "PATCH", f"{ADMIN}/{_seg(business_id)}", body))


@app.command("add-account")
def add_account(
    business_id: str, name: str = "", server: ServerOpt = DEFAULT_SERVER, admin_token: TokenOpt = ""
) -> None:
    """Add a business account (a WABA) to a business."""
    body = CreateBusinessAccount(name=name)
    _show(_call(server, admin_token, "POST", f"{ADMIN}/{_seg(business_id)}/accounts", body))


@app.command("add-number")
def add_number(
    business_id: str,
    waba_id: str,
    display_number: Annotated[str, typer.Argument(help="e.g. +33123456789")],
    server: ServerOpt = DEFAULT_SERVER,
    admin_token: TokenOpt = "",
) -> None:
    """Add a business number (a phone_number_id with its display number) to a business account."""
    body = CreateNumber(waba_id=waba_id, display_number=display_number)
    _show(_call(server, admin_token, "POST", f"{ADMIN}/{_seg(business_id)}/numbers", body))


@app.command()
def signals(
    business_id: str,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many, newest first")] = 100,
    server: ServerOpt = DEFAULT_SERVER,
    admin_token: TokenOpt = "",
) -> None:
    """What counts against a business's quality: people's blocks, reports (with their reason),
    their devices' mismatch reports and marketing stops, with the number and template each is tied to."""
    _show(_call(server, admin_token, "GET", f"{ADMIN}/{_seg(business_id)}/signals?limit={limit}"))


@tokens.command("create")
def create_token(
    business_id: str, label: str = "", server: ServerOpt = DEFAULT_SERVER, admin_token: TokenOpt = ""
) -> None:
    """Create a system-user token (printed once: keep it)."""
    body = CreateToken(label=label)
    _show(_call(server, admin_token, "POST", f"{ADMIN}/{_seg(business_id)}/tokens", body))


@tokens.command("list")
def list_tokens(business_id: str, server: ServerOpt = DEFAULT_SERVER, admin_token: TokenOpt = "") -> None:
    """A business's tokens (never the tokens themselves)."""
    _show(_call(server, admin_token, "GET", f"{ADMIN}/{_seg(business_id)}/tokens"))


@tokens.command("revoke")
def revoke_token(
    business_id: str, token_id: str, server: ServerOpt = DEFAULT_SERVER, admin_token: TokenOpt = ""
) -> None:
    """Revoke a token at once and for good."""
    _call(server, admin_token, "DELETE", f"{ADMIN}/{_seg(business_id)}/tokens/{_seg(token_id)}")
    typer.echo(f"revoked {token_id}")
