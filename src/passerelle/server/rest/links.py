"""REST endpoints of a person's linked accounts (docs/protocol.md section 16): ask for a link
request, take one with another account, list, unlink, and share at a business."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.ids import AccountId
from passerelle.proto.rest.links import LinkRequestOut, MyLinksOut, ShareIdentity, TakeLink
from passerelle.server.auth import request_caller
from passerelle.server.declared import route
from passerelle.server.rest.io import endpoint, json_response, read_body
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.links.links import Links, MyLinks

TAG = "Linked accounts"


def links_out(found: MyLinks) -> MyLinksOut:
    return MyLinksOut(accounts=list(found.accounts), shared_with=list(found.shared_with))


class LinkRoutes:
    def __init__(self, *, accounts: AccountService, links: Links) -> None:
        self._accounts = accounts
        self._links = links

    def routes(self) -> list[BaseRoute]:
        return [
            route(
                "POST",
                "/v1/me/links/requests",
                self.request,
                answers={201: LinkRequestOut},
                tag=TAG,
                summary="A one-time code for another of the caller's accounts to take (10 minutes)",
            ),
            route(
                "POST",
                "/v1/me/links",
                self.take,
                body=TakeLink,
                answers={200: MyLinksOut},
                tag=TAG,
                summary="Link the caller's account with the one that made the code",
            ),
            route(
                "GET",
                "/v1/me/links",
                self.mine,
                answers={200: MyLinksOut},
                tag=TAG,
                summary="The caller's links",
            ),
            route(
                "DELETE",
                "/v1/me/links/{account_id}",
                self.unlink,
                answers={200: MyLinksOut},
                tag=TAG,
                summary="Take one of the linked accounts out (the caller's own too)",
            ),
            route(
                "PUT",
                "/v1/me/links/businesses/{business}",
                self.share,
                body=ShareIdentity,
                answers={200: MyLinksOut},
                tag=TAG,
                summary="Be one customer at a business with all the linked accounts, or not",
            ),
        ]

    async def _caller(self, request: Request) -> AccountId:
        return (await request_caller(request, self._accounts)).account

    @endpoint
    async def request(self, request: Request) -> Response:
        code, expires = await self._links.request(await self._caller(request))
        return json_response(LinkRequestOut(code=code, expires_at=expires), status=201)

    @endpoint
    async def take(self, request: Request) -> Response:
        account = await self._caller(request)
        body = await read_body(request, TakeLink)
        return json_response(links_out(await self._links.accept(account, body.code)))

    @endpoint
    async def mine(self, request: Request) -> Response:
        return json_response(links_out(await self._links.mine(await self._caller(request))))

    @endpoint
    async def unlink(self, request: Request) -> Response:
        account = await self._caller(request)
        other = AccountId(request.path_params["account_id"])
        return json_response(links_out(await self._links.unlink(account, other)))

    @endpoint
    async def share(self, request: Request) -> Response:
        account = await self._caller(request)
        body = await read_body(request, ShareIdentity)
        found = await self._links.share(account, request.path_params["business"], body.shared)
        return json_response(links_out(found))
