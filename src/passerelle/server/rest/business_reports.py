"""``POST /v1/businesses/{business}/reports``: a person reports a business, or their device reports
a message whose content did not match what the business's endpoint declared (docs/protocol.md
section 15.1, docs/business.md section 5). Blocking a business is the person's block of its account
(``PUT /v1/blocks/{account_id}``, section 9.3), which counts the same way. The operator lists
what counts against a business with ``GET /v1/admin/businesses/{business}/signals``."""

from __future__ import annotations

from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.business.feedback import Described, ReportReason
from passerelle.domain.business.ids import BusinessId
from passerelle.domain.errors import InvalidInput
from passerelle.proto.openapi import Auth, Param
from passerelle.proto.rest.business import (
    BusinessReported,
    ReportBusiness,
    ReportedKind,
    SignalList,
    SignalOut,
)
from passerelle.server.auth import request_caller, require_operator
from passerelle.server.declared import query_value, route
from passerelle.server.rest.io import endpoint, json_response, read_body
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.business.feedback import MAX_LISTED, BusinessFeedback, Report


def _described(kind: ReportedKind | None) -> Described | None:
    if kind is None:
        return None
    return Described(kind=kind.kind, template=kind.template, language=kind.lang, category=kind.category)


Listed = Annotated[int, msgspec.Meta(ge=1, le=MAX_LISTED)]


class BusinessReportRoutes:
    def __init__(self, *, accounts: AccountService, feedback: BusinessFeedback, admin_token: str) -> None:
        self._accounts = accounts
        self._feedback = feedback
        self._admin_token = admin_token

    def routes(self) -> list[BaseRoute]:
        return [
            route(
                "POST",
                "/v1/businesses/{business}/reports",
                self.report,
                body=ReportBusiness,
                answers={201: BusinessReported},
                tag="Businesses",
                summary="Report a business (a reason), or a message that did not match its declaration",
            ),
            route(
                "GET",
                "/v1/admin/businesses/{business}/signals",
                self.signals,
                answers={200: SignalList},
                auth=Auth.ADMIN,
                tag="Admin: businesses",
                query={"limit": Param(Listed, description="At most this many, newest first (100)")},
                summary="The blocks, reports, mismatches and stops counted against a business's quality",
            ),
        ]

    @endpoint
    async def report(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        body = await read_body(request, ReportBusiness)
        try:
            reason = ReportReason(body.reason)
        except ValueError:
            raise InvalidInput(f"reason: one of {', '.join(r.value for r in ReportReason)}") from None
        business = BusinessId(request.path_params["business"])
        report = Report(
            business=business,
            reason=reason,
            declared=_described(body.declared),
            observed=_described(body.observed),
        )
        signal = await self._feedback.report(caller.account, report)
        return json_response(
            BusinessReported(business_id=business, reason=reason.value, signal=signal.value), status=201
        )

    @endpoint
    async def signals(self, request: Request) -> Response:
        require_operator(request, self._admin_token, api="admin")
        limit: int | None = query_value(request, "limit")
        found = await self._feedback.signals(
            BusinessId(request.path_params["business"]), limit=100 if limit is None else limit
        )
        return json_response(
            SignalList(
                signals=[
                    SignalOut(
                        waba_id=s.waba,
                        account_id=s.account,
                        kind=s.kind.value,
                        reason=s.reason,
                        phone_number_id=s.number,
                        template_id=s.template,
                        at=s.at,
                    )
                    for s in found
                ]
            )
        )
