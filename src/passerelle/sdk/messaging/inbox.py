"""Inbox: what this device does with each item of its mailbox (docs/protocol.md §5.2, §6).

Rules
1. Items are handled in position order. The direct messages of a batch (and the items consumed
   without content) are committed to the local store together, in one transaction at the end of
   the batch, with the session state their decryption advanced (taken when the transaction is
   submitted: the latest) and their message ids as processed; anything else (group traffic,
   notices) first commits what is waiting, so the store sees the items in order. A batch that
   stops on an error commits what was handled before it. The caller acks up to
   ``InboxResult.upto`` only after ``process`` returns: never ahead of the store.
2. A ``msg`` item whose server id was already processed is skipped before decryption (the server
   redelivers unacked items after a reconnect; Olm would refuse the replay anyway).
3. Every item is consumed: one that cannot be decrypted is recorded for session recovery, one whose
   binding is wrong, or that comes from a device whose keys do not verify, is dropped and logged
   (without its content). Only a network or store failure stops the batch (it is then redelivered).
4. Messages from my own other devices are stored as outgoing. A message is stored once per
   (sender device, content id), however many times it is re-sent.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

from passerelle.crypto import BindingMismatch, DecryptedEvent, DecryptionFailed
from passerelle.domain.business.feedback import Described, mismatch, observed
from passerelle.domain.ids import AccountId, ConversationId, DeviceId, MessageId
from passerelle.proto.frames import BizEnvelope, Item
from passerelle.sdk import schema
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.directory.conversations import ConversationBook
from passerelle.sdk.directory.devices import DeviceDirectory
from passerelle.sdk.errors import SdkError, SecurityError, Unavailable
from passerelle.sdk.events import (
    BusinessMismatchEvent,
    Conversation,
    DeviceEvent,
    Event,
    MessageState,
    ReceiptEvent,
    TimerEvent,
)
from passerelle.sdk.messaging import content_rules
from passerelle.sdk.messaging.outbox import expiry
from passerelle.sdk.store import history, state
from passerelle.sdk.store.local import LocalStore
from passerelle.sdk.store.state import KnownDevice

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Recovery:
    device: KnownDevice
    conv: ConversationId
    mids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class InboxResult:
    upto: int = 0
    """The highest mailbox position handled (and committed)."""
    events: list[Event] = field(default_factory=list)
    receipts: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    """(conv, sender account) -> ids of messages to send a ``delivered`` receipt for."""
    recoveries: dict[tuple[str, str], Recovery] = field(default_factory=dict)
    resend_requests: list[tuple[KnownDevice, schema.ResendContent]] = field(default_factory=list)
    my_devices_changed: bool = False
    mismatches: list[BusinessMismatchEvent] = field(default_factory=list)
    """Messages whose content was not what the ``biz`` beside them declared: once the sender is
    known to be a business (a person's envelope may carry anything), shown and reported."""


MyFeatures = Callable[[], Awaitable[frozenset[str] | None]]
"""This device's app's content features (§11), or None: show everything (``content.features``)."""


async def store_message(
    store: LocalStore,
    item: Item,
    content: schema.TextContent,
    result: InboxResult,
    *,
    me: AccountId,
    timer: int,
    features: frozenset[str] | None,
    now: int,
    first: Callable[[sqlite3.Connection], None],
) -> None:
    """Store a received ``p.msg`` (1:1 or group) in one transaction with ``first`` (the session
    state its decryption advanced, ...) and mark it processed; note what it shows and its delivery
    receipt in ``result``."""
    outgoing = item.sender == me
    exp = expiry(item.ts, timer=timer, ttl=content.ttl)

    def store_txn(conn: sqlite3.Connection) -> Event | None:
        first(conn)
        if item.mid is not None:
            state.mark_processed_txn(conn, item.mid, item.exp)
        if exp is not None and exp <= now:
            return None  # it disappeared before it arrived
        received = content_rules.Received.of(item, content, expires_at=exp, outgoing=outgoing)
        return content_rules.store_txn(conn, store.key, features, received, now)

    shown = await store.db.run(store_txn)
    if shown is not None:
        result.events.append(shown)
    if not outgoing and item.mid is not None:
        result.receipts[(item.conv, item.sender)].append(item.mid)


_biz_envelope = msgspec.json.Decoder(BizEnvelope)


def _check_declared(item: Item, content: schema.TextContent, result: InboxResult) -> None:
    """A business's message carries, beside the envelope, what its endpoint declared to the server
    (``biz``, docs/protocol.md section 15.4): the content must be what was declared."""
    try:
        biz = _biz_envelope.decode(item.body).biz
    except msgspec.MsgspecError:
        return
    if biz is None:
        return
    declared = Described(kind=biz.kind, template=biz.template, language=biz.lang, category=biz.category)
    seen = observed(
        msgtype=content.msgtype, cloud=content.cloud, has_attachment=content.attachment is not None
    )
    problem = mismatch(declared, seen)
    if problem is None and biz.wamid != content.id:
        problem = "the content's id is not the declared message id"
    if problem is None:
        return
    event = BusinessMismatchEvent(
        conv=ConversationId(item.conv),
        sender=AccountId(item.sender),
        mid=item.mid,
        message_id=content.id,
        declared=declared,
        observed=seen,
        problem=problem,
    )
    result.mismatches.append(event)


class GroupHandler(Protocol):
    """Group traffic (passerelle.sdk.groups.inbox): Megolm bodies, key shares and requests over Olm,
    and ``member`` notices. Each consumes its item (commits it) itself."""

    def is_group_body(self, item: Item) -> bool: ...

    async def body(self, item: Item, result: InboxResult) -> None: ...

    def handles(self, event_type: str) -> bool: ...

    async def olm_event(
        self, item: Item, sender: KnownDevice, event: DecryptedEvent, result: InboxResult
    ) -> None: ...

    async def member(self, item: Item, result: InboxResult) -> None: ...


StoreStep = Callable[[sqlite3.Connection], Event | None]


@dataclass(slots=True)
class _Waiting:
    """A batch's writes not yet committed: one transaction for all of them (rule 1), and what the
    batch has read once (a sender device's keys never change; a conversation it created)."""

    steps: list[tuple[StoreStep, Item | None]] = field(default_factory=list)
    devices: dict[tuple[str, str], KnownDevice | None] = field(default_factory=dict)
    convs: dict[str, Conversation | None] = field(default_factory=dict)


class Inbox:
    def __init__(
        self,
        ctx: SdkContext,
        devices: DeviceDirectory,
        conversations: ConversationBook,
        *,
        groups: GroupHandler | None = None,
        features: MyFeatures | None = None,
    ) -> None:
        self.groups = groups
        self.features = features
        """This device's app's content features (§11; None: show everything)."""
        self._me = ctx.me
        self._crypto = ctx.crypto
        self._store = ctx.store
        self._devices = devices
        self._convs = conversations
        self._now = ctx.now_ms

    async def process(self, items: Sequence[Item]) -> InboxResult:
        result = InboxResult()
        mids = [i.mid for i in items if i.kind == "msg" and i.mid is not None]
        seen = await self._store.db.run(state.processed_txn, mids)
        waiting = _Waiting()
        try:
            for item in items:
                if item.kind == "msg" and self.groups is not None and self.groups.is_group_body(item):
                    await self._flush(waiting, result)
                    await self.groups.body(item, result)  # deduplicated by (session, index), not by mid
                elif item.kind == "msg":
                    if item.mid is None or item.mid not in seen:
                        await self._message(item, result, waiting)
                        if item.mid is not None:
                            seen.add(item.mid)
                else:
                    await self._flush(waiting, result)
                    waiting.convs.clear()  # a timer or member notice may change a conversation
                    if item.kind == "receipt":
                        await self._receipt(item, result)
                    elif item.kind == "timer":
                        await self._timer(item, result)
                    elif item.kind == "device":
                        await self._device(item, result)
                    elif item.kind == "member" and self.groups is not None:
                        await self.groups.member(item, result)
                result.upto = max(result.upto, item.pos)
        except BaseException:  # what was handled before the error stays handled (not acked)
            with contextlib.suppress(Exception):
                await self._flush(waiting, result)
            raise
        await self._flush(waiting, result)
        return result

    async def _flush(self, waiting: _Waiting, result: InboxResult) -> None:
        """Commit the batch's waiting writes in one transaction, with the session state as it is
        now (taken and submitted without a pause, so no other writer of it comes in between);
        then what they show and the delivery receipts they call for."""
        if not waiting.steps:
            return
        steps = list(waiting.steps)
        waiting.steps.clear()
        changes = self._crypto.take_changes()

        def txn(conn: sqlite3.Connection) -> list[Event | None]:
            state.save_crypto_txn(conn, changes)
            return [step(conn) for step, _ in steps]

        shown = await self._store.db.run(txn)
        me = self._me.account_id
        for (_, item), event in zip(steps, shown, strict=True):
            if event is not None:
                result.events.append(event)
            if item is not None and item.sender != me and item.mid is not None:
                result.receipts[(item.conv, item.sender)].append(item.mid)

    # --- messages -------------------------------------------------------------------------------

    async def _sender(self, item: Item, waiting: _Waiting) -> KnownDevice | None:
        """The sender device's keys, read once per batch (a device's keys never change)."""
        key = (item.sender, item.dev)
        if key not in waiting.devices:
            waiting.devices[key] = await self._devices.device(AccountId(item.sender), item.dev)
        return waiting.devices[key]

    async def _message(self, item: Item, result: InboxResult, waiting: _Waiting) -> None:
        try:
            sender = await self._sender(item, waiting)
        except Unavailable:
            raise  # the batch is retried after a reconnect
        except SecurityError:
            logger.warning("dropped a message: the sender device's keys do not verify")
            sender = None
        except SdkError as exc:  # not_found, forbidden, ...: the sender cannot be checked
            logger.warning("dropped a message from a device whose keys cannot be fetched (%s)", exc.code)
            sender = None
        if sender is None:
            self._consume(item, waiting)
            return
        try:
            event = self._crypto.decrypt(bytes(item.body), sender.peer)
        except DecryptionFailed:
            logger.info("could not decrypt a message; asking the sender's device to start over")
            self._consume(item, waiting)
            key = (sender.account, sender.device_id)
            recovery = result.recoveries.setdefault(
                key, Recovery(device=sender, conv=ConversationId(item.conv))
            )
            if item.mid is not None:
                recovery.mids.append(item.mid)
            return
        except BindingMismatch:
            logger.warning("dropped a message whose sender or recipient binding is wrong")
            self._consume(item, waiting)
            return
        if event.conv != item.conv:
            logger.warning("dropped a message encrypted for another conversation")
            self._consume(item, waiting)
        elif event.type == "p.msg":
            await self._text(item, event.content, result, waiting)
        elif self.groups is not None and self.groups.handles(event.type):
            await self._flush(waiting, result)
            await self.groups.olm_event(item, sender, event, result)
        elif event.type == "p.resend":
            try:
                result.resend_requests.append((sender, schema.convert(event.content, schema.ResendContent)))
            except msgspec.MsgspecError:
                logger.warning("dropped a malformed resend request")
            self._consume(item, waiting)
        else:  # p.dummy (a fresh session) and types this SDK does not know
            self._consume(item, waiting)

    async def _text(self, item: Item, raw: dict[str, object], result: InboxResult, waiting: _Waiting) -> None:
        try:
            content = schema.convert(raw, schema.TextContent)
        except msgspec.MsgspecError:
            logger.warning("dropped a malformed text message")
            self._consume(item, waiting)
            return
        me = self._me.account_id
        if item.conv in waiting.convs:
            conv = waiting.convs[item.conv]
        else:
            conv = waiting.convs[item.conv] = await self._convs.get(ConversationId(item.conv))
        features = await self.features() if self.features is not None else None
        create = conv is None
        outgoing = item.sender == me
        timer = conv.timer if conv is not None else 0
        exp = expiry(item.ts, timer=timer, ttl=content.ttl)
        now = self._now()
        key = self._store.key

        def step(conn: sqlite3.Connection) -> Event | None:
            if create:
                members = sorted({me, item.sender})
                history.upsert_conversation_txn(conn, item.conv, kind="direct", members=members)
            if item.mid is not None:
                state.mark_processed_txn(conn, item.mid, item.exp)
            if exp is not None and exp <= now:
                return None  # it disappeared before it arrived
            received = content_rules.Received.of(item, content, expires_at=exp, outgoing=outgoing)
            return content_rules.store_txn(conn, key, features, received, now)

        waiting.steps.append((step, item))
        if item.sender != me:
            _check_declared(item, content, result)

    def _consume(self, item: Item, waiting: _Waiting) -> None:
        """An item that yields nothing: its id marked processed with the batch (the session state
        its decryption advanced goes with the batch's)."""
        mid, exp = item.mid, item.exp

        def step(conn: sqlite3.Connection) -> None:
            if mid is not None:
                state.mark_processed_txn(conn, mid, exp)

        waiting.steps.append((step, None))

    # --- notices --------------------------------------------------------------------------------

    async def _receipt(self, item: Item, result: InboxResult) -> None:
        try:
            body = schema.decode(bytes(item.body), schema.ReceiptBody)
        except msgspec.MsgspecError:
            logger.warning("ignored a malformed receipt")
            return
        if body.kind not in ("delivered", "read"):
            return
        mine = item.sender == self._me.account_id
        if mine and body.kind == "delivered":
            return  # my other device stored a message: nothing to show
        new_state = MessageState.READ if body.kind == "read" else MessageState.DELIVERED
        # From my other device: it read incoming messages. From someone else: my messages.
        await self._store.db.run(
            history.advance_state_txn, self._store.key, body.ids, new_state, outgoing=not mine
        )
        result.events.append(
            ReceiptEvent(
                conv=ConversationId(item.conv),
                sender=AccountId(item.sender),
                kind=body.kind,
                ids=tuple(MessageId(i) for i in body.ids),
            )
        )

    async def _timer(self, item: Item, result: InboxResult) -> None:
        try:
            body = schema.decode(bytes(item.body), schema.TimerBody)
        except msgspec.MsgspecError:
            logger.warning("ignored a malformed timer notice")
            return
        if await self._convs.get(ConversationId(item.conv)) is not None:
            await self._convs.set_timer(ConversationId(item.conv), body.timer)
        result.events.append(
            TimerEvent(conv=ConversationId(item.conv), sender=AccountId(item.sender), seconds=body.timer)
        )

    async def _device(self, item: Item, result: InboxResult) -> None:
        try:
            body = schema.decode(bytes(item.body), schema.DeviceNotice)
        except msgspec.MsgspecError:
            logger.warning("ignored a malformed device notice")
            return
        account = AccountId(item.sender)
        if account != self._me.account_id:
            return
        if body.event == "removed":
            cached, _ = await self._store.devices(account)
            for device in cached:
                if device.device_id == body.device_id:
                    self._crypto.forget_sessions(device.peer)
            await self._store.save_crypto(self._crypto.take_changes())
        await self._store.forget_device_list(account)
        result.my_devices_changed = True
        result.events.append(DeviceEvent(event=body.event, device_id=DeviceId(body.device_id)))
