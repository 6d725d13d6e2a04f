"""``passerelle business endpoint enrol|host``: a business's endpoint through the admin API
(docs/business.md section 4). ``enrol --mode self_run`` prints a one-time enrolment token to give to
the business, which runs ``passerelle business-endpoint run --enrolment-token …`` next to its bot;
``host`` makes the server run the business's endpoint itself (hosted: the operator could read, and
customers' apps say so)."""

from __future__ import annotations

from typing import Annotated

import typer

from passerelle.cli.business.command import ADMIN, DEFAULT_SERVER, ServerOpt, TokenOpt, _call, _seg, _show
from passerelle.proto.rest.business import IssueEnrolment

endpoint = typer.Typer(
    help="A business's endpoint: self-run (enrolment token) or hosted.", no_args_is_help=True
)


@endpoint.command()
def enrol(
    business_id: str,
    mode: Annotated[str, typer.Option(help="self_run (the business runs it) or hosted")] = "self_run",
    server: ServerOpt = DEFAULT_SERVER,
    admin_token: TokenOpt = "",
) -> None:
    """A one-time enrolment token (24 hours) for the business's endpoint; printed this once."""
    body = IssueEnrolment(mode=mode)
    _show(_call(server, admin_token, "POST", f"{ADMIN}/{_seg(business_id)}/enrolments", body))


@endpoint.command()
def host(business_id: str, server: ServerOpt = DEFAULT_SERVER, admin_token: TokenOpt = "") -> None:
    """Run the business's endpoint inside the server (hosted); replaces its current endpoint."""
    _show(_call(server, admin_token, "POST", f"{ADMIN}/{_seg(business_id)}/endpoint"))
