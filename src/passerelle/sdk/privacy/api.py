"""``client.privacy``: contacts, message requests, blocks, reports, privacy settings, export and
erasure (docs/protocol.md section 9).

```python
async for event in client.events():
    if isinstance(event, RequestEvent):          # someone who is not a contact: show it apart
        await client.privacy.accept(event.sender)   # or decline(...), decline_and_block(...)
await client.privacy.block(account_id)            # both ways, at once, across apps
await client.privacy.report(account_id, messages) # reveals those messages to the operator
```

Rules
1. Requests: an incoming message in a conversation this client does not know to be accepted sends
   it to ask the server for the requests folder once (a background job, never on the path that
   delivers the message); a message in a conversation listed there comes with a ``RequestEvent``.
2. A report reveals the plaintext of the messages given (decrypted here) to the server's operator:
   the one case where content leaves the encryption, and only by the reporter's choice.
3. ``erase`` is irreversible: afterwards this device has no account; close the client and delete
   its store directory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote

import msgspec

from passerelle.domain.conversations import direct_conversation_id
from passerelle.domain.ids import AccountId, ConversationId
from passerelle.proto.rest import privacy as wire
from passerelle.proto.rest.directory import Found
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.core.dispatch import Callback
from passerelle.sdk.errors import InvalidInput
from passerelle.sdk.events import Message, RequestEvent

# --- what the SDK hands out ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Listed:
    """Someone in my contacts or my blocks, and since when (ms)."""

    account_id: AccountId
    since: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRequest:
    conv: ConversationId
    sender: AccountId
    state: str
    """``request`` (waiting) or ``declined``."""
    since: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivacySettings:
    findability: str
    """Who may find me by my address: everyone, app (people of my app) or nobody."""
    read_receipts: bool
    message_from: str
    """Who may start a conversation with me: everyone or contacts."""
    last_seen: str
    """Who sees when I was last connected: everyone, contacts or nobody."""


def _seg(value: str) -> str:
    return quote(value, safe="")


class PrivacyApi:
    def __init__(self, ctx: SdkContext) -> None:
        self._me = ctx.me.account_id
        self._rest = ctx.rest
        self._dispatch = ctx.events
        self._schedule = ctx.link.schedule
        self._accepted: set[ConversationId] = set()
        """Conversations known not to be requests (this session)."""
        self._waiting: dict[ConversationId, list[Message]] = {}
        """Messages that arrived while the requests folder is being asked for, per conversation."""
        ctx.events.subscribe(Message, self._heard)

    # --- contacts ----------------------------------------------------------------------------------

    async def contacts(self) -> list[Listed]:
        answer = await self._rest.call_json("GET", "/v1/contacts", wire.Contacts)
        return [Listed(account_id=AccountId(r.account_id), since=r.since) for r in answer.contacts]

    async def add_contact(self, account_id: str) -> None:
        """NotFound when the person is hidden from me or does not exist."""
        await self._rest.call_empty("PUT", f"/v1/contacts/{_seg(account_id)}")

    async def remove_contact(self, account_id: str) -> None:
        await self._rest.call_empty("DELETE", f"/v1/contacts/{_seg(account_id)}")

    # --- message requests ----------------------------------------------------------------------------

    async def requests(self, *, declined: bool = False) -> list[MessageRequest]:
        """My requests folder (or the requests I declined), oldest first."""
        params = {"state": "declined" if declined else "request"}
        answer = await self._rest.call_json("GET", "/v1/requests", wire.MessageRequests, params=params)
        return [
            MessageRequest(
                conv=ConversationId(r.conv), sender=AccountId(r.from_), state=r.state, since=r.since
            )
            for r in answer.requests
        ]

    async def accept(self, account_id: str) -> None:
        """Accept ``account_id``'s request: they become a contact and see my receipts and typing."""
        conv = self._conv(account_id)
        await self._rest.call_json("POST", f"/v1/conversations/{_seg(conv)}/accept", wire.ConversationState)
        self._accepted.add(conv)

    async def decline(self, account_id: str, *, block: bool = False) -> None:
        """Nothing more from them reaches me in this conversation; ``block`` blocks them too."""
        conv = self._conv(account_id)
        await self._rest.call_json(
            "POST",
            f"/v1/conversations/{_seg(conv)}/decline",
            wire.ConversationState,
            body=wire.Decline(block=block),
        )

    async def decline_and_block(self, account_id: str) -> None:
        await self.decline(account_id, block=True)

    def on_request(self, callback: Callback[RequestEvent]) -> Callable[[], None]:
        """Call ``callback`` for every message that arrives in a conversation waiting as a request."""
        return self._dispatch.subscribe(RequestEvent, callback)

    # --- blocks ---------------------------------------------------------------------------------------

    async def blocks(self) -> list[Listed]:
        answer = await self._rest.call_json("GET", "/v1/blocks", wire.Blocks)
        return [Listed(account_id=AccountId(r.account_id), since=r.since) for r in answer.blocks]

    async def block(self, account_id: str) -> None:
        """At once and both ways: neither of us can reach the other, and they can no longer find me."""
        await self._rest.call_empty("PUT", f"/v1/blocks/{_seg(account_id)}")

    async def unblock(self, account_id: str) -> None:
        await self._rest.call_empty("DELETE", f"/v1/blocks/{_seg(account_id)}")

    # --- reports --------------------------------------------------------------------------------------

    async def report(
        self, account_id: str, messages: Sequence[Message], *, reason: str = "", block: bool = False
    ) -> str:
        """Report ``account_id`` to the operator, revealing ``messages`` (decrypted on this device:
        their text, sender, ids and times leave the encryption, by my choice). Returns the report id.
        """
        if not messages:
            raise InvalidInput("choose at least one message to reveal")
        convs = {m.conv for m in messages}
        body = wire.ReportRequest(
            account_id=account_id,
            reason=reason,
            block=block,
            messages=[
                wire.RevealedMessage(id=m.client_id, mid=m.id, sender=m.sender, ts=m.ts, text=m.text)
                for m in messages
            ],
            conv=next(iter(convs)) if len(convs) == 1 else None,
        )
        return (await self._rest.call_json("POST", "/v1/reports", wire.Reported, body=body)).report_id

    # --- settings, last seen --------------------------------------------------------------------------

    async def settings(
        self,
        *,
        findability: str | None = None,
        read_receipts: bool | None = None,
        message_from: str | None = None,
        last_seen: str | None = None,
    ) -> PrivacySettings:
        """Every privacy setting; the given ones are changed first."""
        changes = {
            k: v
            for k, v in {
                "findability": findability,
                "read_receipts": read_receipts,
                "message_from": message_from,
                "last_seen": last_seen,
            }.items()
            if v is not None
        }
        if changes:
            answer = await self._rest.call_json("PATCH", "/v1/me/privacy", wire.PrivacyChoices, body=changes)
        else:
            answer = await self._rest.call_json("GET", "/v1/me/privacy", wire.PrivacyChoices)
        return PrivacySettings(
            findability=answer.findability,
            read_receipts=answer.read_receipts,
            message_from=answer.message_from,
            last_seen=answer.last_seen,
        )

    async def last_seen(self, account_id: str) -> int | None:
        """When they were last connected (ms), if their setting lets me see it."""
        found = await self._rest.call_json("GET", f"/v1/accounts/{_seg(account_id)}", Found)
        return None if isinstance(found.last_seen, msgspec.UnsetType) else found.last_seen

    # --- export, erasure ------------------------------------------------------------------------------

    async def export(self) -> dict[str, Any]:
        """Everything the server holds about me, as the JSON document it sends."""
        return await self._rest.call_json("GET", "/v1/me/export", dict[str, Any])

    async def erase(self, *, password: str | None = None, code: str | None = None) -> None:
        """Erase my account on the server, at once and for good (proving who I am again: my password,
        or on a phone app a code from ``Client.request_code``). Close the client afterwards."""
        await self._rest.call_empty("DELETE", "/v1/me", body=wire.Erase(password=password, code=code))

    # --- the requests folder, as messages arrive -------------------------------------------------------

    def _conv(self, account_id: str) -> ConversationId:
        return direct_conversation_id(self._me, AccountId(account_id))

    def _heard(self, message: Message) -> None:
        conv = message.conv
        if message.outgoing:
            self._accepted.add(conv)  # writing into a conversation accepts it
            return
        if conv in self._accepted or not conv.startswith("d_"):
            return
        waiting = self._waiting.get(conv)
        if waiting is not None:
            waiting.append(message)
            return
        self._waiting[conv] = [message]
        self._schedule(partial(self._check, conv))

    async def _check(self, conv: ConversationId) -> None:
        try:
            pending = {r.conv: r for r in await self.requests()}
        finally:
            messages = self._waiting.pop(conv, [])
        if conv not in pending:
            self._accepted.add(conv)
            return
        for message in messages:
            await self._dispatch.emit(RequestEvent(conv=conv, sender=message.sender, message=message))
