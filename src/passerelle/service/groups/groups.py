"""Groups (docs/protocol.md section 10): create, members, admins, invite links, leave.

Rules:
- A group is a conversation of kind ``group`` with 1 to 1 024 members; its creator is an admin.
  Admins add and remove members, promote and demote admins, and create and revoke invite links;
  anyone may leave. A group keeps at least one admin while it has members: when the last admin
  leaves, the remaining member with the smallest account id becomes one.
- Only people the caller may see (the directory's rule) can be added.
- A person an admin removed is barred from the group's invite links, existing and future: a join
  answers them exactly as a revoked link does, until an admin adds them back (which lifts the bar).
  Someone who left of their own accord is not barred and may rejoin by link.
- Every change leaves a durable ``member`` notice ``{event, account, by}`` (with ``accounts`` when it
  names several, as at creation: one notice per change, not per member) in the mailbox of every
  member device (and of the devices of whoever was removed or left), so SDKs rotate their keys.
  A notice body is stored once and fanned out, like a group message.
- The group's name and avatar are content: they travel inside the end-to-end encryption and never
  reach this service. Invite tokens are secrets: only their SHA-256 is stored, and they are never
  logged.
- After every change the caches of the send path are dropped (here and, via the broker, on every
  node) before the answer: a send checked afterwards uses the new member list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec

from passerelle.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from passerelle.domain.ids import AccountId, ConversationId, DeviceId, Timestamp
from passerelle.service.groups.records import MAX_GROUP_MEMBERS, InviteRecord, Role
from passerelle.service.messaging.messaging import MessagingService, Visibility
from passerelle.service.messaging.pipeline import SendPipeline
from passerelle.service.ports import (
    AccountStore,
    Broker,
    Clock,
    ConversationStore,
    DeviceNotices,
    DeviceStore,
    GroupStore,
    IdGenerator,
    Invalidate,
)
from passerelle.service.records import OutgoingMessage, Sender


class GroupsStore(GroupStore, AccountStore, ConversationStore, DeviceStore, Protocol):
    """What groups need of the store."""


NOT_A_GROUP = "no such group"
NO_INVITE = "this invite link does not exist or was revoked"
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupView:
    conv: ConversationId
    members: tuple[AccountId, ...]
    admins: tuple[AccountId, ...]
    timer_s: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NewInvite:
    invite: InviteRecord
    token: str
    """The secret to share (in a link); shown once, never stored."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class GroupService:
    def __init__(
        self,
        *,
        store: GroupsStore,
        messaging: MessagingService,
        pipeline: SendPipeline,
        broker: Broker,
        directory: Visibility,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._store = store
        self._messaging = messaging
        self._pipeline = pipeline
        self._broker = broker
        self._directory = directory
        self._clock = clock
        self._ids = ids

    # --- reading ------------------------------------------------------------------------------

    async def view(self, caller: Sender, conv: ConversationId) -> GroupView:
        roles = await self._roles(conv, caller.account.id)
        return await self._view(conv, roles)

    async def _view(self, conv: ConversationId, roles: dict[AccountId, Role]) -> GroupView:
        record = await self._store.get_conversation(conv)
        return GroupView(
            conv=conv,
            members=tuple(sorted(roles)),
            admins=tuple(sorted(a for a, r in roles.items() if r is Role.ADMIN)),
            timer_s=record.timer_s if record is not None else 0,
        )

    async def _roles(self, conv: ConversationId, member: AccountId) -> dict[AccountId, Role]:
        roles = await self._store.group_roles(conv)
        if member not in roles:
            raise NotFound(NOT_A_GROUP)
        return roles

    async def _admin_roles(self, conv: ConversationId, caller: Sender) -> dict[AccountId, Role]:
        roles = await self._roles(conv, caller.account.id)
        if roles[caller.account.id] is not Role.ADMIN:
            raise Forbidden("only an admin of the group may do this")
        return roles

    async def _check_visible(self, caller: Sender, accounts: Iterable[AccountId]) -> None:
        for account in accounts:
            if (
                account != caller.account.id
                and await self._directory.visible(caller.account, account) is None
            ):
                raise NotFound(f"no such person: {account}")

    # --- creating and changing members ------------------------------------------------------------

    async def create(self, caller: Sender, members: Sequence[AccountId]) -> GroupView:
        wanted = list(dict.fromkeys(AccountId(m) for m in members if m != caller.account.id))
        if len(wanted) + 1 > MAX_GROUP_MEMBERS:
            raise InvalidInput(f"a group has at most {MAX_GROUP_MEMBERS} members")
        await self._check_visible(caller, wanted)
        conv = ConversationId("g_" + self._ids.token()[:26])
        await self._store.create_group(conv, caller.account.id, wanted, now=self._clock.now_ms())
        roles = await self._store.group_roles(conv)
        await self._changed(conv)
        await self._notify(conv, caller, _bulk("added", wanted), roles)
        return await self._view(conv, roles)

    async def add(self, caller: Sender, conv: ConversationId, accounts: Sequence[AccountId]) -> GroupView:
        roles = await self._admin_roles(conv, caller)
        wanted = [AccountId(a) for a in dict.fromkeys(accounts) if a not in roles]
        if len(roles) + len(wanted) > MAX_GROUP_MEMBERS:
            raise Conflict(f"a group has at most {MAX_GROUP_MEMBERS} members")
        await self._check_visible(caller, wanted)
        added = await self._store.add_members(conv, wanted)
        return await self._after(conv, caller, _bulk("added", added))

    async def remove(self, caller: Sender, conv: ConversationId, account: AccountId) -> GroupView:
        roles = await self._admin_roles(conv, caller)
        if account == caller.account.id:
            raise InvalidInput("to remove yourself, leave the group")
        if account not in roles:
            raise NotFound("not a member of this group")
        await self._store.remove_member(conv, account, barred_at=self._clock.now_ms())
        return await self._after(conv, caller, [("removed", [account])], gone=[account])

    async def leave(self, caller: Sender, conv: ConversationId) -> None:
        roles = await self._roles(conv, caller.account.id)
        me = caller.account.id
        await self._store.remove_member(conv, me)
        events: list[tuple[str, Sequence[AccountId]]] = [("left", [me])]
        rest = sorted(a for a in roles if a != me)
        if rest and not any(roles[a] is Role.ADMIN for a in rest):
            await self._store.set_role(conv, rest[0], Role.ADMIN)
            events.append(("promoted", [rest[0]]))
        await self._after(conv, caller, events, gone=[me])

    async def set_admin(
        self, caller: Sender, conv: ConversationId, account: AccountId, admin: bool
    ) -> GroupView:
        roles = await self._admin_roles(conv, caller)
        if account not in roles:
            raise NotFound("not a member of this group")
        role = Role.ADMIN if admin else Role.MEMBER
        if roles[account] is role:
            return await self._view(conv, roles)
        if not admin and sum(1 for r in roles.values() if r is Role.ADMIN) == 1:
            raise Conflict("a group keeps at least one admin")
        await self._store.set_role(conv, account, role)
        return await self._after(conv, caller, [("promoted" if admin else "demoted", [account])])

    # --- invite links -----------------------------------------------------------------------------

    async def create_invite(self, caller: Sender, conv: ConversationId) -> NewInvite:
        await self._admin_roles(conv, caller)
        token = self._ids.token()
        invite = InviteRecord(
            id="i_" + self._ids.token()[:16],
            token_hash=token_hash(token),
            conv=conv,
            created_by=caller.account.id,
            created_at=self._clock.now_ms(),
        )
        await self._store.create_invite(invite)
        return NewInvite(invite=invite, token=token)

    async def list_invites(self, caller: Sender, conv: ConversationId) -> list[InviteRecord]:
        await self._admin_roles(conv, caller)
        return await self._store.list_invites(conv)

    async def revoke_invite(self, caller: Sender, conv: ConversationId, invite_id: str) -> None:
        await self._admin_roles(conv, caller)
        if not await self._store.delete_invite(conv, invite_id):
            raise NotFound("no such invite link")

    async def join(self, caller: Sender, token: str) -> GroupView:
        if not 0 < len(token) <= 256:
            raise InvalidInput("token: 1 to 256 characters")
        me = caller.account.id
        invite = await self._store.find_invite(token_hash(token))
        if invite is None or await self._store.is_barred(invite.conv, me):
            raise NotFound(NO_INVITE)
        roles = await self._store.group_roles(invite.conv)
        if me in roles:
            return await self._view(invite.conv, roles)
        if not roles:
            raise NotFound(NO_INVITE)
        if len(roles) >= MAX_GROUP_MEMBERS:
            raise Conflict(f"a group has at most {MAX_GROUP_MEMBERS} members")
        if not await self._store.join_group(invite.conv, me):
            raise NotFound(NO_INVITE)  # an admin removed them meanwhile
        return await self._after(invite.conv, caller, [("joined", [me])])

    # --- devices of members (AccountService's DeviceNotices, through GroupDeviceNotices) ----------

    async def device_changed(self, account: AccountId, device: DeviceId, event: str) -> None:
        """A member's device was added or removed: tell every group it is in, so that SDKs share
        keys with the new device, or rotate away from the removed one."""
        record = await self._store.get_account(account)
        if record is None:
            return
        actor = Sender(record, device)
        for conv in await self._store.groups_of(account):
            roles = await self._store.group_roles(conv)
            await self._notify(conv, actor, [(f"device_{event}", [account])], roles, device=device)

    # --- notices ------------------------------------------------------------------------------------

    async def _after(
        self,
        conv: ConversationId,
        caller: Sender,
        events: Sequence[tuple[str, Sequence[AccountId]]],
        *,
        gone: Sequence[AccountId] = (),
    ) -> GroupView:
        await self._changed(conv)
        roles = await self._store.group_roles(conv)
        if events:
            await self._notify(conv, caller, events, roles, also=gone)
        return await self._view(conv, roles)

    async def _changed(self, conv: ConversationId) -> None:
        event = Invalidate(conversations=(conv,))
        self._messaging.invalidate(event)
        await self._broker.publish(event)

    async def _notify(
        self,
        conv: ConversationId,
        actor: Sender,
        events: Sequence[tuple[str, Sequence[AccountId]]],
        roles: dict[AccountId, Role],
        *,
        also: Sequence[AccountId] = (),
        device: DeviceId | None = None,
    ) -> None:
        reached = [*roles, *(a for a in also if a not in roles)]
        found = await self._store.list_devices_of(reached)
        targets = tuple(d for a in reached for d in found.get(a, ()) if d != actor.device)
        if not targets:
            return
        now = self._clock.now_ms()
        route = await self._messaging.groups.route(conv, -1)
        for event, accounts in events:
            if not accounts:
                continue
            body: dict[str, object] = {"event": event, "account": accounts[0], "by": actor.account.id}
            if len(accounts) > 1:
                body["accounts"] = list(accounts)
            if device is not None:
                body["device"] = device
            await self._pipeline.submit(
                OutgoingMessage(
                    kind="member",
                    conv=conv,
                    sender=actor.account.id,
                    sender_device=actor.device,
                    client_id=None,
                    ts=now,
                    expires_at=Timestamp(now + route.retention_s * 1000),
                    payloads=(),
                    shared_body=_encode(body),
                    shared_to=targets,
                )
            )


def _bulk(event: str, accounts: Sequence[AccountId]) -> list[tuple[str, Sequence[AccountId]]]:
    """One notice for a change to several members: its body names them all (``accounts``)."""
    return [(event, list(accounts))] if accounts else []


class GroupDeviceNotices:
    """AccountService's DeviceNotices: the account's own devices are told first (as before), then
    the groups the account is in."""

    def __init__(self, inner: DeviceNotices, groups: GroupService) -> None:
        self._inner = inner
        self._groups = groups

    async def device_added(self, account: AccountId, device: DeviceId) -> None:
        await self._inner.device_added(account, device)
        await self._groups.device_changed(account, device, "added")

    async def device_removed(self, account: AccountId, device: DeviceId) -> None:
        await self._inner.device_removed(account, device)
        await self._groups.device_changed(account, device, "removed")
