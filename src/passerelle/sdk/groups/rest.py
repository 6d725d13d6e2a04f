"""The group endpoints of the REST API (docs/protocol.md section 10.2), over the device's RestApi."""

from __future__ import annotations

from urllib.parse import quote

from passerelle.proto.rest.groups import (
    AddMembers,
    CreateGroup,
    GroupInfo,
    InviteLink,
    InviteLinks,
    JoinGroup,
)
from passerelle.sdk.rest import RestApi

__all__ = ["GroupInfo", "GroupRest", "InviteLink", "InviteLinks"]


def _seg(value: str) -> str:
    return quote(value, safe="")


class GroupRest:
    def __init__(self, rest: RestApi) -> None:
        self._rest = rest

    async def create(self, members: list[str]) -> GroupInfo:
        return await self._rest._must("POST", "/v1/groups", GroupInfo, body=CreateGroup(members=members))

    async def show(self, conv: str) -> GroupInfo:
        return await self._rest._must("GET", f"/v1/groups/{_seg(conv)}", GroupInfo)

    async def add(self, conv: str, accounts: list[str]) -> GroupInfo:
        path = f"/v1/groups/{_seg(conv)}/members"
        return await self._rest._must("POST", path, GroupInfo, body=AddMembers(accounts=accounts))

    async def remove(self, conv: str, account: str) -> GroupInfo:
        path = f"/v1/groups/{_seg(conv)}/members/{_seg(account)}"
        return await self._rest._must("DELETE", path, GroupInfo)

    async def leave(self, conv: str) -> None:
        await self._rest._call("POST", f"/v1/groups/{_seg(conv)}/leave", None)

    async def set_admin(self, conv: str, account: str, admin: bool) -> GroupInfo:
        path = f"/v1/groups/{_seg(conv)}/admins/{_seg(account)}"
        return await self._rest._must("PUT" if admin else "DELETE", path, GroupInfo)

    async def create_invite(self, conv: str) -> InviteLink:
        return await self._rest._must("POST", f"/v1/groups/{_seg(conv)}/invites", InviteLink)

    async def invites(self, conv: str) -> list[InviteLink]:
        return (await self._rest._must("GET", f"/v1/groups/{_seg(conv)}/invites", InviteLinks)).invites

    async def revoke_invite(self, conv: str, invite_id: str) -> None:
        await self._rest._call("DELETE", f"/v1/groups/{_seg(conv)}/invites/{_seg(invite_id)}", None)

    async def join(self, token: str) -> GroupInfo:
        return await self._rest._must("POST", "/v1/groups/join", GroupInfo, body=JoinGroup(token=token))
