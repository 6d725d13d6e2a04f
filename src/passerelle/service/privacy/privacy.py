"""Privacy and safety use cases (docs/protocol.md section 9): contacts, message requests, blocks,
privacy settings, last seen, reports, export and erasure.

Invariants:
- Every change that the send path's rules depend on is committed first, then announced with
  ``SafetyPolicy.changed`` (cached facts and routes are dropped on every node), so the next send
  already obeys it: a block is immediate.
- A report holds plaintext: the messages the reporter chose to reveal, decrypted on their device.
  It is the only plaintext the server ever holds, and only the operator's moderation API reads it.
- Reports and blocks name someone the caller knows: a person they may see (section 4.8), or share a
  conversation with, or already have as a contact or a block. That includes someone who blocked
  the caller, so nobody escapes a report by blocking the person they harassed. Anybody else, hidden
  or nonexistent, is the same ``NotFound`` (one message, after the same reads): a report or a block
  cannot tell whether an account exists.
- An export holds only the caller's data. An erasure is one transaction (after the media erasers),
  effective at once: the account's connections are closed and every node forgets it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.conversations import ConversationKind
from passerelle.domain.errors import InvalidInput, NotFound, Unauthorized
from passerelle.domain.ids import AccountId, ConversationId, Timestamp
from passerelle.domain.privacy import Findability
from passerelle.domain.safety import LastSeenVisibility, MemberState, MessageFrom
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.business.people import BusinessPeople
from passerelle.service.commerce.ports import OrderRecord, PaymentRecord
from passerelle.service.directory.directory import Directory
from passerelle.service.limiter import ClientKey, RateLimiter
from passerelle.service.messaging.messaging import MessagingService
from passerelle.service.ports import (
    Broker,
    Clock,
    ConversationStore,
    Ephemeral,
    IdGenerator,
    Invalidate,
    MediaStore,
    PrivacyStore,
    StoryStore,
)
from passerelle.service.privacy.presence import Presence
from passerelle.service.privacy.records import (
    AccountExport,
    ErasedAccount,
    Relation,
    ReportedMessage,
    ReportRecord,
    RequestRecord,
)
from passerelle.service.records import AccountRecord, ConversationRecord, TokenRecord
from passerelle.service.safety import SafetyPolicy


class PrivacyRecords(PrivacyStore, ConversationStore, MediaStore, StoryStore, Protocol):
    """What the privacy service needs of the store."""


MAX_REPORTED_MESSAGES = 100
MAX_REPORTED_TEXT = 4096
MAX_REASON = 500
REPORTS_PER_HOUR = 20
NO_ACCOUNT = "no such account"

Blocked = Callable[[AccountId, AccountId], Awaitable[None]]
"""(blocker, blocked), once the block is committed."""

Eraser = Callable[[AccountId], Awaitable[object]]
OrdersExport = Callable[[AccountId], Awaitable[Sequence[tuple[OrderRecord, Sequence[PaymentRecord]]]]]
"""The person's orders at businesses with their payments (``service.commerce``), for the export."""
LinksExport = Callable[[AccountId], Awaitable[tuple[Sequence[AccountId], Sequence[str]]]]
"""The person's linked accounts and the businesses they share them with (``service.links``)."""
"""Deletes what another part keeps about an account outside the database transaction (media
blobs' files); runs before the account's rows go."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivacyChoices:
    """Every privacy setting, as the person sees them (effective values)."""

    findability: Findability
    read_receipts: bool
    message_from: MessageFrom
    last_seen: LastSeenVisibility


class PrivacyService:
    def __init__(
        self,
        *,
        store: PrivacyRecords,
        broker: Broker,
        clock: Clock,
        ids: IdGenerator,
        limiter: RateLimiter,
        safety: SafetyPolicy,
        accounts: AccountService,
        directory: Directory,
        messaging: MessagingService,
        presence: Presence,
        erasers: Sequence[Eraser] = (),
        business: BusinessPeople | None = None,
        on_block: Blocked | None = None,
        orders: OrdersExport | None = None,
        links: LinksExport | None = None,
    ) -> None:
        self._links = links
        self._store = store
        self._broker = broker
        self._clock = clock
        self._ids = ids
        self._limiter = limiter
        self.safety = safety
        self._accounts = accounts
        self._directory = directory
        self._messaging = messaging
        self.presence = presence
        self._erasers = tuple(erasers)
        self._business = business
        self._on_block = on_block
        """Told of each block once it is committed (a business's quality: ``BusinessFeedback``)."""
        self._orders = orders

    # --- contacts -----------------------------------------------------------------------------------

    async def contacts(self, caller: AccountRecord) -> list[Relation]:
        return await self._store.list_contacts(caller.id)

    async def add_contact(self, caller: AccountRecord, target: str) -> None:
        """Raises NotFound for someone the caller may not see (like someone who does not exist)."""
        other = self._other(caller, target)
        if await self._directory.visible(caller, other) is None:
            raise NotFound("no such person")
        await self._store.add_contact(caller.id, other, now=self._clock.now_ms())
        await self.safety.changed([(caller.id, other)])

    async def remove_contact(self, caller: AccountRecord, target: str) -> None:
        other = self._other(caller, target)
        if not await self._store.remove_contact(caller.id, other):
            raise NotFound("not one of your contacts")
        await self.safety.changed([(caller.id, other)])

    # --- message requests -------------------------------------------------------------------------

    async def requests(
        self, caller: AccountRecord, state: MemberState = MemberState.REQUEST
    ) -> list[RequestRecord]:
        if state is MemberState.ACCEPTED:
            raise InvalidInput("list requests in state 'request' or 'declined'")
        return await self._store.list_requests(caller.id, state)

    async def accept(self, caller: AccountRecord, conv_id: str) -> ConversationRecord:
        """Move a direct conversation to ``accepted``; its other member becomes a contact."""
        conv, other = await self._direct(caller, conv_id)
        await self._store.accept_conversation(conv.id, caller.id, other, now=self._clock.now_ms())
        await self.safety.changed([(caller.id, other)])
        return conv

    async def decline(self, caller: AccountRecord, conv_id: str, *, block: bool) -> None:
        """Nothing more from the other member reaches the caller in that conversation (their
        undelivered items go too); with ``block``, they are blocked everywhere as well."""
        conv, other = await self._direct(caller, conv_id)
        await self._store.decline_conversation(
            conv.id, caller.id, other, block=block, now=self._clock.now_ms()
        )
        await self.safety.changed([(caller.id, other)])
        if block and self._on_block is not None:
            await self._on_block(caller.id, other)

    # --- blocks -------------------------------------------------------------------------------------

    async def blocks(self, caller: AccountRecord) -> list[Relation]:
        return await self._store.list_blocks(caller.id)

    async def block(self, caller: AccountRecord, target: str) -> None:
        other = await self._known(caller, target)
        await self._store.block(caller.id, other, now=self._clock.now_ms())
        await self.safety.changed([(caller.id, other)])
        if self._on_block is not None:
            await self._on_block(caller.id, other)

    async def unblock(self, caller: AccountRecord, target: str) -> None:
        other = self._other(caller, target)
        if not await self._store.unblock(caller.id, other):
            raise NotFound("you did not block this account")
        await self.safety.changed([(caller.id, other)])

    # --- settings and last seen ---------------------------------------------------------------------

    async def settings(self, token: TokenRecord) -> PrivacyChoices:
        me = await self._accounts.me(token)
        extra = await self._store.get_privacy(me.account.id)
        return PrivacyChoices(
            findability=me.settings.findability,
            read_receipts=me.settings.read_receipts,
            message_from=extra.message_from,
            last_seen=extra.last_seen,
        )

    async def update_settings(
        self,
        token: TokenRecord,
        *,
        findability: Findability | None = None,
        read_receipts: bool | None = None,
        message_from: MessageFrom | None = None,
        last_seen: LastSeenVisibility | None = None,
    ) -> PrivacyChoices:
        """Change the given settings, keep the others; return them all (effective values)."""
        basic = await self._accounts.update_settings(
            token, findability=findability, read_receipts=read_receipts
        )
        account = token.account
        extra = await self._store.get_privacy(account)
        new_from = extra.message_from if message_from is None else message_from
        new_seen = extra.last_seen if last_seen is None else last_seen
        if (new_from, new_seen) != (extra.message_from, extra.last_seen):
            await self._store.set_privacy(account, message_from=new_from, last_seen=new_seen)
        if new_from is not extra.message_from:
            convs = await self._store.list_conversations(account)
            await self.safety.changed(
                (account, m)
                for c in convs
                if c.kind is ConversationKind.DIRECT
                for m in c.members
                if m != account
            )
        return PrivacyChoices(
            findability=basic.findability,
            read_receipts=basic.read_receipts,
            message_from=new_from,
            last_seen=new_seen,
        )

    # --- reports ------------------------------------------------------------------------------------

    async def report(
        self,
        caller: AccountRecord,
        *,
        reported: str,
        conv: str | None,
        reason: str,
        messages: Sequence[ReportedMessage],
        block: bool = False,
    ) -> ReportRecord:
        """Record a report with the messages the reporter chose to reveal (their plaintext).

        Raises:
            InvalidInput: no message, too many or too long, or a message from a third person.
            NotFound: no such account, or a conversation the caller is not in.
        """
        await self._limiter.check_window("report", caller.id, count=REPORTS_PER_HOUR, window_s=3600)
        other = await self._known(caller, reported)
        if not 0 < len(messages) <= MAX_REPORTED_MESSAGES:
            raise InvalidInput(f"messages: 1 to {MAX_REPORTED_MESSAGES} revealed messages")
        if len(reason) > MAX_REASON:
            raise InvalidInput(f"reason: at most {MAX_REASON} characters")
        for index, message in enumerate(messages):
            if message.sender not in (caller.id, other):
                raise InvalidInput(f"messages[{index}]: from the reporter or the reported person only")
            if len(message.text) > MAX_REPORTED_TEXT:
                raise InvalidInput(f"messages[{index}]: at most {MAX_REPORTED_TEXT} characters")
        conv_id: ConversationId | None = None
        if conv is not None:
            conv_id = (await self._messaging.member_conversation(caller.id, ConversationId(conv))).id
        record = ReportRecord(
            id="rep_" + self._ids.token()[:22],
            reporter=caller.id,
            reported=other,
            conv=conv_id,
            reason=reason,
            created_at=self._clock.now_ms(),
            messages=tuple(messages),
        )
        await self._store.add_report(record)
        if block:
            await self.block(caller, other)
        return record

    async def reports(self, *, limit: int, before: Timestamp | None = None) -> list[ReportRecord]:
        """For the operator's moderation API, newest first."""
        if not 0 < limit <= 500:
            raise InvalidInput("limit: 1 to 500")
        return await self._store.list_reports(limit=limit, before=before)

    # --- export and erasure -------------------------------------------------------------------------

    async def export(self, caller: AccountRecord) -> AccountExport:
        found = await self._store.export_account(caller.id)
        if found is None:
            raise Unauthorized("this account no longer exists")
        uploads = await self._store.blobs_of(caller.id)
        stories = [await self._store.get_story(s) for s in await self._store.stories_by(caller.id)]
        consents = () if self._business is None else tuple(await self._business.consents(caller.id))
        ledger = () if self._business is None else tuple(await self._business.ledger(caller.id))
        orders = (
            () if self._orders is None else tuple((o, tuple(p)) for o, p in await self._orders(caller.id))
        )
        linked, shared = ((), ()) if self._links is None else await self._links(caller.id)
        return dataclasses.replace(
            found,
            uploads=tuple(uploads),
            stories=tuple(s for s in stories if s is not None),
            business_consents=consents,
            business_consent_ledger=ledger,
            orders=orders,
            linked_accounts=tuple(linked),
            shared_with=tuple(shared),
        )

    async def erase(
        self, token: TokenRecord, *, password: str | None, code: str | None, client: ClientKey
    ) -> ErasedAccount:
        """Erase the caller's account at once and for good, after proving the identity again."""
        account = await self._accounts.reprove(token, password=password, code=code, client=client)
        for eraser in self._erasers:
            await eraser(account.id)
        erased = await self._store.erase_account(account.id)
        if erased is None:
            raise Unauthorized("this account no longer exists")
        self.presence.forget(account.id)
        event = Invalidate(accounts=(account.id,), conversations=erased.conversations)
        self._messaging.invalidate(event)
        await self._broker.publish(event)
        if erased.devices:
            frame = b'{"t":"error","code":"unauthorized","message":"this account was erased"}'
            await self._broker.publish(Ephemeral(erased.devices, frame, close=True))
        return erased

    # --- helpers ------------------------------------------------------------------------------------

    @staticmethod
    def _other(caller: AccountRecord, target: str) -> AccountId:
        if not 0 < len(target) <= 128:
            raise InvalidInput("account_id: 1 to 128 characters")
        if target == caller.id:
            raise InvalidInput("that is your own account")
        return AccountId(target)

    async def _known(self, caller: AccountRecord, target: str) -> AccountId:
        """The account, if the caller knows it (see the module's rules); else NotFound, the same for
        a hidden account as for one that does not exist."""
        other = self._other(caller, target)
        if await self._directory.visible(caller, other) is not None:
            return other
        facts = await self.safety.facts(caller.id, other)
        if facts.blocked(caller.id, other) or facts.is_contact(caller.id, other):
            return other
        if await self._store.shares_conversation(caller.id, other):
            return other
        raise NotFound(NO_ACCOUNT)

    async def _direct(self, caller: AccountRecord, conv_id: str) -> tuple[ConversationRecord, AccountId]:
        conv = await self._messaging.member_conversation(caller.id, ConversationId(conv_id))
        if conv.kind is not ConversationKind.DIRECT or len(conv.members) != 2:
            raise InvalidInput("only direct conversations have message requests")
        return conv, next(m for m in conv.members if m != caller.id)
