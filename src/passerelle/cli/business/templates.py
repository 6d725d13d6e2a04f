"""``passerelle business template list|approve|reject``: the operator reviews businesses' message
templates through the admin API (``/v1/admin/businesses/{id}/templates``,
``/v1/admin/templates/{id}/approve|reject``; docs/business.md section 6). Each decision is told to
the business's bot as a ``message_template_status_update`` webhook."""

from __future__ import annotations

from typing import Annotated

import typer

from passerelle.cli.business.command import ADMIN, DEFAULT_SERVER, ServerOpt, TokenOpt, _call, _seg, _show
from passerelle.proto.rest.business import RejectTemplate

template = typer.Typer(help="Message templates: review, approve, reject (operator).", no_args_is_help=True)
TEMPLATES = "/v1/admin/templates"


@template.command("list")
def list_templates(
    business_id: str,
    status: Annotated[
        str,
        typer.Option(help="Only templates with this status: pending, approved, rejected, paused, disabled"),
    ] = "",
    server: ServerOpt = DEFAULT_SERVER,
    admin_token: TokenOpt = "",
) -> None:
    """A business's templates, with their components, status and quality."""
    query = f"?status={_seg(status)}" if status else ""
    _show(_call(server, admin_token, "GET", f"{ADMIN}/{_seg(business_id)}/templates{query}"))


@template.command("approve")
def approve(template_id: str, server: ServerOpt = DEFAULT_SERVER, admin_token: TokenOpt = "") -> None:
    """Approve a PENDING template: the business may send it from now on."""
    _show(_call(server, admin_token, "POST", f"{TEMPLATES}/{_seg(template_id)}/approve"))


@template.command("reject")
def reject(
    template_id: str,
    reason: Annotated[
        str,
        typer.Option(
            help="ABUSIVE_CONTENT, INCORRECT_CATEGORY, INVALID_FORMAT, PROMOTIONAL, SCAM or TAG_CONTENT_MISMATCH"
        ),
    ] = "INVALID_FORMAT",
    server: ServerOpt = DEFAULT_SERVER,
    admin_token: TokenOpt = "",
) -> None:
    """Reject a PENDING template, with one of Meta's reasons (bots parse them)."""
    _show(
        _call(
            server,
            admin_token,
            "POST",
            f"{TEMPLATES}/{_seg(template_id)}/reject",
            RejectTemplate(reason=reason),
        )
    )
