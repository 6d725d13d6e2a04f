"""``POST /v1/businesses/{business}/reports``: a person reports a business, or their device reports
a message whose content did not match what the business's endpoint declared (docs/protocol.md
section 15.1, docs/business.md section 5). Blocking a business is the person's block of its account
(``PUT /v1/blocks/{account_id}``, section 9.3), which counts the same way."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.business.feedback import Described, ReportReason
from passerelle.domain.business.ids import BusinessId
from passerelle.domain.errors import InvalidInput
from passerelle.proto.rest.business import BusinessReported, ReportBusiness, ReportedKind
from passerelle.server.auth import request_caller
from passerelle.server.declared import route
from passerelle.server.rest.io import endpoint, json_response, read_body
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.business.feedback import BusinessFeedback, Report


def _described(kind: ReportedKind | None) -> Described | None:
    if kind is None:
        return None
    return Described(kind=kind.kind, template=kind.template, language=kind.lang, category=kind.category)


class BusinessReportRoutes:
    def __init__(self, *, accounts: AccountService, feedback: BusinessFeedback) -> None:
        self._accounts = accounts
        self._feedback = feedback

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
            )
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
