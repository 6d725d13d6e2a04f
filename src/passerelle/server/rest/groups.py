"""REST: groups (docs/protocol.md section 10.2). Every answer that shows a group is
``{"conv", "kind": "group", "members", "admins", "timer"}``; names and avatars are never here (they
travel encrypted inside the group)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.ids import AccountId, ConversationId
from passerelle.proto.rest import groups as wire
from passerelle.server.auth import request_caller
from passerelle.server.declared import route
from passerelle.server.rest.io import endpoint, json_response, read_body
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.groups.groups import GroupService, GroupView
from passerelle.service.groups.records import InviteRecord
from passerelle.service.records import Sender

TAG = "Groups"


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
            route(
                "POST",
                "/v1/groups",
                self.create,
                body=wire.CreateGroup,
                answers={201: wire.GroupInfo},
                tag=TAG,
                summary="Create a group",
            ),
            route(
                "POST",
                "/v1/groups/join",
                self.join,
                body=wire.JoinGroup,
                answers={200: wire.GroupInfo},
                tag=TAG,
                summary="Join a group with an invite link's token",
            ),
            route(
                "GET",
                base,
                self.show,
                answers={200: wire.GroupInfo},
                tag=TAG,
                summary="A group the caller belongs to",
            ),
            route(
                "POST",
                f"{base}/members",
                self.add,
                body=wire.AddMembers,
                answers={200: wire.GroupInfo},
                tag=TAG,
                summary="Add members (admins)",
            ),
            route(
                "DELETE",
                base + "/members/{account}",
                self.remove,
                answers={200: wire.GroupInfo},
                tag=TAG,
                summary="Remove a member (admins)",
            ),
            route("POST", f"{base}/leave", self.leave, answers={204: None}, tag=TAG, summary="Leave a group"),
            route(
                "PUT",
                base + "/admins/{account}",
                self.promote,
                answers={200: wire.GroupInfo},
                tag=TAG,
                summary="Make a member an admin",
            ),
            route(
                "DELETE",
                base + "/admins/{account}",
                self.demote,
                answers={200: wire.GroupInfo},
                tag=TAG,
                summary="Make an admin a plain member",
            ),
            route(
                "POST",
                f"{base}/invites",
                self.create_invite,
                answers={201: wire.InviteLink},
                tag=TAG,
                summary="Create an invite link (admins)",
            ),
            route(
                "GET",
                f"{base}/invites",
                self.list_invites,
                answers={200: wire.InviteLinks},
                tag=TAG,
                summary="A group's invite links (admins)",
            ),
            route(
                "DELETE",
                base + "/invites/{invite}",
                self.revoke_invite,
                answers={204: None},
                tag=TAG,
                summary="Revoke an invite link (admins)",
            ),
        ]
