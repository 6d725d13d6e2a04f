"""REST: groups (docs/protocol.md section 10.2). Every answer that shows a group is
``{"conv", "kind": "group", "members", "admins", "timer"}``; names and avatars are never here (they
travel encrypted inside the group)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from passerelle.domain.ids import AccountId, ConversationId
from passerelle.proto.rest import groups as wire
from passerelle.server.auth import request_caller
from passerelle.server.rest.io import endpoint, json_response, read_body
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.groups.groups import GroupService, GroupView
from passerelle.service.groups.records import InviteRecord
from passerelle.service.records import Sender


def group_json(view: GroupView) -> wire.GroupInfo:
    return wire.GroupInfo(
        conv=view.conv,
        kind="group",
        members=list(view.members),
        admins=list(view.admins),
        timer=view.timer_s,
    )


def invite_json(invite: InviteRecord, token: str | None = None) -> wire.InviteLink:
    return wire.InviteLink(
        invite_id=invite.id, created_by=invite.created_by, created_at=invite.created_at, token=token
    )


class GroupRoutes:
    def __init__(self, *, accounts: AccountService, groups: GroupService) -> None:
        self._accounts = accounts
        self._groups = groups

    async def _caller(self, request: Request) -> Sender:
        return (await request_caller(request, self._accounts)).sender

    @staticmethod
    def _conv(request: Request) -> ConversationId:
        return ConversationId(request.path_params["conv"])

    @endpoint
    async def create(self, request: Request) -> Response:
        caller = await self._caller(request)
        body = await read_body(request, wire.CreateGroup)
        view = await self._groups.create(caller, [AccountId(m) for m in body.members])
        return json_response(group_json(view), status=201)

    @endpoint
    async def show(self, request: Request) -> Response:
        caller = await self._caller(request)
        return json_response(group_json(await self._groups.view(caller, self._conv(request))))

    @endpoint
    async def add(self, request: Request) -> Response:
        caller = await self._caller(request)
        body = await read_body(request, wire.AddMembers)
        view = await self._groups.add(caller, self._conv(request), [AccountId(a) for a in body.accounts])
        return json_response(group_json(view))

    @endpoint
    async def remove(self, request: Request) -> Response:
        caller = await self._caller(request)
        account = AccountId(request.path_params["account"])
        return json_response(group_json(await self._groups.remove(caller, self._conv(request), account)))

    @endpoint
    async def leave(self, request: Request) -> Response:
        caller = await self._caller(request)
        await self._groups.leave(caller, self._conv(request))
        return Response(status_code=204)

    @endpoint
    async def promote(self, request: Request) -> Response:
        return await self._set_admin(request, True)

    @endpoint
    async def demote(self, request: Request) -> Response:
        return await self._set_admin(request, False)

    async def _set_admin(self, request: Request, admin: bool) -> Response:
        caller = await self._caller(request)
        account = AccountId(request.path_params["account"])
        view = await self._groups.set_admin(caller, self._conv(request), account, admin)
        return json_response(group_json(view))

    @endpoint
    async def create_invite(self, request: Request) -> Response:
        caller = await self._caller(request)
        made = await self._groups.create_invite(caller, self._conv(request))
        return json_response(invite_json(made.invite, made.token), status=201)

    @endpoint
    async def list_invites(self, request: Request) -> Response:
        caller = await self._caller(request)
        invites = await self._groups.list_invites(caller, self._conv(request))
        return json_response(wire.InviteLinks(invites=[invite_json(i) for i in invites]))

    @endpoint
    async def revoke_invite(self, request: Request) -> Response:
        caller = await self._caller(request)
        await self._groups.revoke_invite(caller, self._conv(request), request.path_params["invite"])
        return Response(status_code=204)

    @endpoint
    async def join(self, request: Request) -> Response:
        caller = await self._caller(request)
        body = await read_body(request, wire.JoinGroup)
        return json_response(group_json(await self._groups.join(caller, body.token)))

    def routes(self) -> list[BaseRoute]:
        base = "/v1/groups/{conv}"
        return [
            Route("/v1/groups", self.create, methods=["POST"]),
            Route("/v1/groups/join", self.join, methods=["POST"]),
            Route(base, self.show, methods=["GET"]),
            Route(f"{base}/members", self.add, methods=["POST"]),
            Route(base + "/members/{account}", self.remove, methods=["DELETE"]),
            Route(f"{base}/leave", self.leave, methods=["POST"]),
            Route(base + "/admins/{account}", self.promote, methods=["PUT"]),
            Route(base + "/admins/{account}", self.demote, methods=["DELETE"]),
            Route(f"{base}/invites", self.create_invite, methods=["POST"]),
            Route(f"{base}/invites", self.list_invites, methods=["GET"]),
            Route(base + "/invites/{invite}", self.revoke_invite, methods=["DELETE"]),
        ]
