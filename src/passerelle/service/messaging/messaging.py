"""Messaging use cases: accept a send, receipts, typing, conversations and timers, device notices.

The send path is the hot path: everything it needs (devices, conversation) comes from short-lived
caches, and the write goes through the SendPipeline's group commit. A send is accepted only if its
envelopes name exactly the current devices of the other members and the sender's other devices.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec

from passerelle.domain.apps import AppRegistry
from passerelle.domain.conversations import (
    ConversationKind,
    direct_conversation_id,
    message_expiry,
    validate_timer,
)
from passerelle.domain.errors import Forbidden, InvalidInput, NotFound, StaleDevices, TooLarge
from passerelle.domain.ids import (
    AccountId,
    ConversationId,
    DeviceId,
    Timestamp,
    is_client_message_id,
)
from passerelle.domain.safety import REQUEST_FULL, Verdict
from passerelle.proto.frames import MAX_RECEIPT_IDS, DeliveredBiz, KeysLow, TypingNotice
from passerelle.proto.payloads import envelope_problem, with_biz
from passerelle.service.business.sends import DeclaredSend
from passerelle.service.caches import SendCaches, TtlCache
from passerelle.service.messaging.commands import SendMessage, SendReceipt
from passerelle.service.messaging.group_send import GroupFanout
from passerelle.service.messaging.pipeline import SendPipeline
from passerelle.service.messaging.receipts import RecentReceipts
from passerelle.service.ports import (
    AccountStore,
    Broker,
    Clock,
    ConversationStore,
    DeviceStore,
    Ephemeral,
    GroupStore,
    Invalidate,
    Mailbox,
)
from passerelle.service.records import AccountRecord, ConversationRecord, OutgoingMessage, Sender
from passerelle.service.safety import SafetyPolicy

_encode = msgspec.json.Encoder().encode


def _check_command(command: SendMessage, max_targets: int) -> None:
    """What a send must be whatever its conversation."""
    if not is_client_message_id(command.id):
        raise InvalidInput("id: 1 to 64 printable ASCII characters")
    if (command.to is None) == (command.conv is None):
        raise InvalidInput("give exactly one of 'to' and 'conv'")
    if len(command.payloads) > max_targets:
        raise TooLarge(f"at most {max_targets} target devices per message")


class MessagingStore(Mailbox, ConversationStore, AccountStore, DeviceStore, GroupStore, Protocol):
    """What messaging (with the group fan-out) needs of the store."""


MAX_SAFE_ID = 2**53 - 1
"""The largest id a receipt may name: every JSON parser reads it exactly (message ids are far below)."""


class Visibility(Protocol):
    """What the send path needs from the directory: may ``viewer`` reach ``target``?"""

    async def visible(self, viewer: AccountRecord, target: AccountId) -> AccountRecord | None: ...


@dataclass(frozen=True, slots=True)
class _Route:
    """What a send from one device into one conversation must look like, cached: the exact set of
    target devices and the retention to apply. Valid until ``until`` or the next change (epoch)."""

    targets: frozenset[str]
    retention_s: int
    epoch: int
    until: float
    refusal: str = ""
    """Not empty: sends are refused with ``forbidden`` (the safety policy's reason)."""
    silent: bool = False
    """The recipient blocked or declined the sender: ``targets`` are the sender's own other devices
    and envelopes for anyone else are dropped unseen (the sender is answered ``sent`` as usual)."""
    waiting: tuple[DeviceId, ...] = ()
    """The recipient has the conversation among their requests: their devices, on which the sender
    may have at most ``max_waiting_requests`` messages waiting."""


class BusinessGate(Protocol):
    """The business rules on a direct send (``service.business.traffic.BusinessTraffic``)."""

    async def check_send(
        self, sender: AccountRecord, device: DeviceId, other: AccountId, declared: DeclaredSend | None
    ) -> DeliveredBiz | None: ...

    def between_people(self, sender: AccountRecord, other: AccountId, declared: DeclaredSend | None) -> bool:
        """True when the cache alone shows that ``check_send`` has nothing to refuse or note."""
        ...


class MessagingService:
    def __init__(
        self,
        *,
        store: MessagingStore,
        pipeline: SendPipeline,
        broker: Broker,
        directory: Visibility,
        apps: AppRegistry,
        clock: Clock,
        max_envelope_bytes: int,
        max_targets: int,
        max_waiting_requests: int,
        safety: SafetyPolicy,
        caches: SendCaches,
        business: BusinessGate | None = None,
    ) -> None:
        self._business = business
        """Business endpoints' declared sends and people's messages to businesses (section 5 of
        docs/business.md); None: no business rules (tests of messaging alone)."""
        self._store = store
        self._pipeline = pipeline
        self._broker = broker
        self._directory = directory
        self._apps = apps
        self._clock = clock
        self._max_envelope = max_envelope_bytes
        self._max_targets = max_targets
        self._max_waiting_requests = max_waiting_requests
        self._safety = safety
        """Blocks, message requests and who may message whom (docs/protocol.md section 9)."""
        self._caches = caches
        """Shared with the hub, which invalidates it on the broker's ``Invalidate``."""
        self.devices = self._caches.devices
        self.conversations = self._caches.conversations
        self._retention: TtlCache[AccountId, int] = TtlCache(clock, ttl_s=300.0)
        self._direct_ids: dict[tuple[AccountId, AccountId], ConversationId] = {}
        self._routes: dict[tuple[ConversationId, DeviceId], _Route] = {}
        self._receipts = RecentReceipts(max_ids=MAX_RECEIPT_IDS)
        """What each device lately sent receipts for: repeats are coalesced, not stored again."""
        self.groups = GroupFanout(store=store, apps=apps, clock=clock, max_envelope_bytes=max_envelope_bytes)

    # --- the send path -------------------------------------------------------------------------

    def prepare_send_now(self, sender: Sender, command: SendMessage) -> OutgoingMessage | None:
        """``prepare_send`` without waiting, when everything it needs is cached: a direct send whose
        conversation and route are known, to someone who has not got it among their requests, with
        no business rule in play (the hot path: a connection's frames are handled as they arrive,
        without waking its task). None: nothing was decided, call ``prepare_send``. Raises what
        ``prepare_send`` would raise, in the same order."""
        _check_command(command, self._max_targets)
        if command.to is None:
            return None
        me = sender.account.id
        conv_id = self._direct_ids.get((me, command.to))
        conv = None if conv_id is None else self.conversations.get(conv_id)
        if conv is None:
            return None
        if command.body:
            raise InvalidInput("'body' is for group conversations")
        route = self._routes.get((conv.id, sender.device))
        if route is None or route.epoch != self._caches.epoch or route.until < self._clock.monotonic():
            return None
        if route.refusal:
            raise Forbidden(route.refusal)
        if route.waiting:
            return None
        other = next((m for m in conv.members if m != me), None)
        if other is not None and self._business is not None:
            if not self._business.between_people(sender.account, other, command.biz):
                return None
        elif command.biz is not None:
            return None
        return self._outgoing(sender, command, conv, route, self._payloads(command, route))

    async def prepare_send(self, sender: Sender, command: SendMessage) -> OutgoingMessage:
        """Check a send against the policy and build what the pipeline stores."""
        ready = self.prepare_send_now(sender, command)
        if ready is not None:
            return ready
        conv = await self._conversation_for(sender, command)
        if conv.kind is ConversationKind.GROUP:
            if command.biz is not None:
                raise InvalidInput("biz: business sends go to one person, not to a group")
            return await self.groups.prepare(
                sender.account.id, sender.device, command, conv, self._caches.epoch
            )
        if command.body:
            raise InvalidInput("'body' is for group conversations")
        route = self._routes.get((conv.id, sender.device))
        if route is None or route.epoch != self._caches.epoch or route.until < self._clock.monotonic():
            route = await self._route(conv, sender.device, sender.account)
        if route.refusal:
            raise Forbidden(route.refusal)
        if route.waiting:
            # Acks wait a moment for company before their transaction: count after them.
            await self._pipeline.settle_acks(route.waiting)
        if (
            route.waiting
            and await self._store.count_waiting(
                route.waiting, conv=conv.id, sender=sender.account.id, up_to=self._max_waiting_requests
            )
            >= self._max_waiting_requests
            and not await self._store.was_stored(sender.device, command.id)
        ):
            # A stranger cannot pile messages on someone who has not accepted them (nor read them);
            # a repeated send still gets its first result.
            raise Forbidden(REQUEST_FULL)
        stored = self._payloads(command, route)
        other = next((m for m in conv.members if m != sender.account.id), None)
        if self._business is not None and other is not None:
            delivered = await self._business.check_send(sender.account, sender.device, other, command.biz)
            if delivered is not None:  # the person's device checks the content against it
                biz = msgspec.json.encode(delivered)
                stored = tuple((device, with_biz(body, biz)) for device, body in stored)
        elif command.biz is not None:
            raise Forbidden("biz: this server takes no business sends")
        return self._outgoing(sender, command, conv, route, stored)

    def _payloads(self, command: SendMessage, route: _Route) -> tuple[tuple[DeviceId, bytes], ...]:
        """The envelopes to store, checked: exactly the route's devices, each within the limit and
        deliverable; and the ttl."""
        payloads = command.payloads
        if payloads.keys() != route.targets:
            if not route.silent:
                raise _stale(set(route.targets), payloads.keys())
            payloads = _own_copies(route.targets, payloads)
        limit = self._max_envelope
        stored: list[tuple[DeviceId, bytes]] = []
        for device, raw in payloads.items():
            body = bytes(raw)
            if len(body) > limit:
                raise TooLarge(f"an envelope is limited to {limit} bytes")
            problem = envelope_problem(body)
            if problem is not None:
                raise InvalidInput(f"payloads: {problem}")
            stored.append((DeviceId(device), body))
        ttl = command.ttl
        if ttl is not None and ttl <= 0:
            raise InvalidInput("ttl is a positive number of seconds")
        return tuple(stored)

    def _outgoing(
        self,
        sender: Sender,
        command: SendMessage,
        conv: ConversationRecord,
        route: _Route,
        stored: tuple[tuple[DeviceId, bytes], ...],
    ) -> OutgoingMessage:
        now = self._clock.now_ms()
        return OutgoingMessage(
            kind="msg",
            conv=conv.id,
            sender=sender.account.id,
            sender_device=sender.device,
            client_id=command.id,
            ts=now,
            expires_at=message_expiry(
                now=now, retention_s=route.retention_s, timer_s=conv.timer_s, ttl_s=command.ttl
            ),
            payloads=stored,
        )

    async def _route(
        self, conv: ConversationRecord, device: DeviceId, account: AccountRecord | None = None
    ) -> _Route:
        epoch = self._caches.epoch
        members = conv.members
        refusal, silent, request = "", False, False
        if account is not None and conv.kind is ConversationKind.DIRECT:
            verdict, reason = await self._safety.direct_verdict(conv, account)
            if verdict is Verdict.FORBIDDEN:
                refusal = reason
            elif verdict is Verdict.DROP:
                silent, members = True, (account.id,)
            request = verdict is Verdict.REQUEST
        expected: set[str] = set()
        waiting: list[DeviceId] = []
        for member in members:
            devices = await self._devices(member)
            expected.update(devices)
            if request and account is not None and member != account.id:
                waiting.extend(devices)
        expected.discard(device)
        retention = await self._retention_s(list(conv.members))
        route = _Route(
            frozenset(expected),
            retention,
            epoch,
            self._clock.monotonic() + 10.0,
            refusal,
            silent,
            tuple(waiting),
        )
        if len(self._routes) > 100_000:
            self._routes.clear()
        self._routes[(conv.id, device)] = route
        return route

    async def _conversation_for(self, sender: Sender, command: SendMessage) -> ConversationRecord:
        me = sender.account.id
        if command.to is not None:
            key = (me, command.to)
            conv_id = self._direct_ids.get(key)  # type: ignore[assignment]
            if conv_id is None:
                conv_id = direct_conversation_id(*key)
                if len(self._direct_ids) > 100_000:
                    self._direct_ids.clear()
                self._direct_ids[key] = conv_id
            cached = self.conversations.get(conv_id)
            if cached is not None:
                return cached
            return await self.open_direct(sender.account, command.to)
        assert command.conv is not None
        conv = await self.member_conversation(me, command.conv)
        return conv

    async def member_conversation(self, account: AccountId, conv_id: ConversationId) -> ConversationRecord:
        conv = self.conversations.get(conv_id)
        if conv is None:
            conv = await self._store.get_conversation(conv_id)
            if conv is not None:
                self.conversations.put(conv_id, conv)
        if conv is None or account not in conv.members:
            raise NotFound("no such conversation")
        return conv

    async def open_direct(self, caller: AccountRecord, other: AccountId) -> ConversationRecord:
        conv_id = direct_conversation_id(caller.id, other)
        existing = await self._store.get_conversation(conv_id)
        if existing is None:
            if await self._directory.visible(caller, other) is None:
                raise NotFound("no such person")
            existing = await self._store.ensure_direct(conv_id, caller.id, other, now=self._clock.now_ms())
        self.conversations.put(conv_id, existing)
        return existing

    async def _devices(self, account: AccountId) -> tuple[DeviceId, ...]:
        cached = self.devices.get(account)
        if cached is None:
            found = await self._store.list_devices_of([account])
            cached = tuple(found.get(account, []))
            self.devices.put(account, cached)
        return cached

    async def _retention_s(self, accounts: Sequence[AccountId]) -> int:
        best = 0
        for account in accounts:
            retention = self._retention.get(account)
            if retention is None:
                record = await self._store.get_account(account)
                app = self._apps.get(record.app) if record is not None else None
                retention = app.retention_s if app is not None else 30 * 86_400
                self._retention.put(account, retention)
            best = retention if best == 0 else min(best, retention)
        return best

    # --- receipts, typing ------------------------------------------------------------------------

    async def receipt(self, sender: Sender, command: SendReceipt) -> None:
        conv = await self.member_conversation(sender.account.id, command.conv)
        to = command.to
        if to not in conv.members or to == sender.account.id:
            raise InvalidInput("'to' must be another member of the conversation")
        if not command.ids or len(command.ids) > MAX_RECEIPT_IDS:
            raise InvalidInput(f"ids: 1 to {MAX_RECEIPT_IDS} message ids")
        if min(command.ids) <= 0 or max(command.ids) > MAX_SAFE_ID:
            raise InvalidInput("ids: message ids are positive integers below 2^53")
        targets = [d for d in await self._devices(sender.account.id) if d != sender.device]
        allowed = await self._may_signal(conv, sender.account.id, to, command.kind)
        if command.kind == "read":
            me = await self._store.get_account(sender.account.id)
            if me is None or not me.read_receipts:
                raise Forbidden("you turned read receipts off")
            them = await self._store.get_account(to)
            if them is not None and them.read_receipts and allowed:
                targets.extend(await self._devices(to))
        elif allowed:
            targets.extend(await self._devices(to))
        key = (sender.device, conv.id, to, command.kind)
        ids = self._receipts.fresh(key, command.ids)
        if not targets or not ids:
            return  # nobody to tell, or coalesced: every id is in a receipt already stored
        await self._notice("receipt", conv, sender, {"kind": command.kind, "ids": ids}, targets)
        self._receipts.remember(key, ids)

    async def typing(self, sender: Sender, conv_id: str, typing: bool) -> None:
        conv = await self.member_conversation(sender.account.id, ConversationId(conv_id))
        devices: list[DeviceId] = []
        for member in conv.members:
            if await self._may_signal(conv, sender.account.id, member, "typing"):
                devices.extend(d for d in await self._devices(member) if d != sender.device)
        if devices:
            frame = _encode(TypingNotice(conv=conv.id, sender=sender.account.id, typing=typing))
            await self._broker.publish(Ephemeral(tuple(devices), frame))

    async def _may_signal(
        self, conv: ConversationRecord, sender: AccountId, to: AccountId, kind: str
    ) -> bool:
        """Receipts and typing never cross a block; in a direct conversation, read receipts and typing
        also wait until the conversation is accepted (docs/protocol.md section 9)."""
        if sender == to:
            return True
        if conv.kind is ConversationKind.DIRECT:
            return await self._safety.may_signal(sender, to, kind)
        return await self._safety.may_message(sender, to)

    async def _notice(
        self,
        kind: str,
        conv: ConversationRecord,
        sender: Sender,
        body: object,
        targets: Sequence[DeviceId],
        *,
        expires_at: Timestamp | None = None,
    ) -> None:
        now = self._clock.now_ms()
        retention = await self._retention_s(list(conv.members))
        encoded = _encode(body)
        await self._pipeline.submit(
            OutgoingMessage(
                kind=kind,
                conv=conv.id,
                sender=sender.account.id,
                sender_device=sender.device,
                client_id=None,
                ts=now,
                expires_at=expires_at or Timestamp(now + retention * 1000),
                payloads=tuple((d, encoded) for d in dict.fromkeys(targets)),
            )
        )

    # --- conversations ---------------------------------------------------------------------------

    async def list_conversations(self, caller: AccountId) -> list[ConversationRecord]:
        return await self._store.list_conversations(caller)

    async def set_timer(self, sender: Sender, conv_id: ConversationId, timer_s: int) -> ConversationRecord:
        validate_timer(timer_s)
        conv = await self.member_conversation(sender.account.id, conv_id)
        await self._store.set_timer(conv.id, timer_s)
        self.conversations.drop(conv.id)
        self._caches.changed()
        await self._broker.publish(Invalidate(conversations=(conv.id,)))
        targets: list[DeviceId] = []
        for member in conv.members:
            targets.extend(d for d in await self._devices(member) if d != sender.device)
        if targets:
            await self._notice("timer", conv, sender, {"timer": timer_s}, targets)
        updated = await self._store.get_conversation(conv.id)
        assert updated is not None
        return updated

    # --- device notices (passerelle.service.accounts.accounts calls these) ---------------------------------

    async def device_added(self, account: AccountId, device: DeviceId) -> None:
        await self._devices_changed(account, device, "added")

    async def device_removed(self, account: AccountId, device: DeviceId) -> None:
        await self._devices_changed(account, device, "removed")
        # The removed device's connection, wherever it is, is closed with 4001.
        frame = _encode({"t": "error", "code": "unauthorized", "message": "this device was removed"})
        await self._broker.publish(Ephemeral((device,), frame, close=True))

    async def _devices_changed(self, account: AccountId, device: DeviceId, event: str) -> None:
        self.devices.drop(account)
        self._caches.changed()
        await self._broker.publish(Invalidate(accounts=(account,)))
        others = [d for d in await self._devices(account) if d != device]
        if not others:
            return
        record = await self._store.get_account(account)
        if record is None:
            return
        self_conv = ConversationRecord(
            id=ConversationId(f"self_{account}"),
            kind=ConversationKind.DIRECT,
            members=(account,),
            timer_s=0,
            created_at=self._clock.now_ms(),
        )
        await self._notice(
            "device", self_conv, Sender(record, device), {"event": event, "device_id": device}, others
        )

    async def keys_low(self, device: DeviceId, count: int) -> None:
        await self._broker.publish(Ephemeral((device,), _encode(KeysLow(count=count))))

    def invalidate(self, event: Invalidate) -> None:
        self._caches.invalidate(event)


def _own_copies(targets: frozenset[str], payloads: dict[str, msgspec.Raw]) -> dict[str, msgspec.Raw]:
    """A silently dropped send keeps the envelopes for the sender's own devices only; a missing one
    is still ``stale_devices`` (naming only the sender's devices, so nothing tells of a block)."""
    missing = targets - payloads.keys()
    if missing:
        raise StaleDevices(missing=sorted(missing), extra=[])
    return {device: raw for device, raw in payloads.items() if device in targets}


def _stale(expected: set[str], given: Iterable[str]) -> StaleDevices:
    given_set = set(given)
    return StaleDevices(missing=sorted(expected - given_set), extra=sorted(given_set - expected))
