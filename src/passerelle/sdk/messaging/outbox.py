"""Outbox: encrypting a message for every device that must get it, and sending it.

Rules
1. A message goes to every device of the recipient and every *other* device of mine (the server
   refuses any other set with ``stale_devices``). Devices without an Olm session get one from a
   claimed one-time key first.
2. Session state is persisted *before* the frame is written, so a crash can never make us encrypt
   twice with the same message key.
3. ``stale_devices``: both device lists are fetched again and the send is retried once, with the
   same client id (the server stored nothing the first time).
4. Recovery from a broken session: a new outbound session to the device that could not decrypt,
   then a ``p.resend`` (or a ``p.dummy`` when nothing is known to resend) on it. A resend is a new
   send with client id ``<original>.r<n>`` (the server dedupes by client id) whose content keeps the
   original id, so every receiver stores the message once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any

import msgspec

from passerelle.crypto import ClaimedKey, NoSession
from passerelle.domain.ids import AccountId, ClientMessageId, ConversationId, DeviceId, MessageId
from passerelle.proto.frames import BizMeta
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.core.protocol import SendSucceeded
from passerelle.sdk.directory.conversations import ConversationBook
from passerelle.sdk.directory.devices import DeviceDirectory
from passerelle.sdk.errors import InvalidInput, SdkError, StaleDevices, TooLarge, Unavailable
from passerelle.sdk.events import MessageState, SentMessage
from passerelle.sdk.schema import ResendContent, TextContent
from passerelle.sdk.store import history
from passerelle.sdk.store.state import KnownDevice

logger = logging.getLogger(__name__)

MAX_TEXT_BYTES = 32 * 1024
MAX_ENVELOPE_BYTES = 64 * 1024
MAX_RESENDS_PER_REQUEST = 50
MAX_RESENDS_PER_MESSAGE = 5
_RESEND_ID = re.compile(r"\.r[0-9]+$")


def check_text(text: str) -> None:
    if len(text.encode()) > MAX_TEXT_BYTES:
        raise TooLarge(f"a text message has at most {MAX_TEXT_BYTES} bytes")


def check_ttl(ttl: int | None) -> None:
    if ttl is not None and ttl <= 0:
        raise InvalidInput("ttl is a positive number of seconds")


async def send_pending(
    ctx: SdkContext,
    conv: ConversationId,
    timer: int,
    content: TextContent,
    send: Callable[[], Awaitable[SendSucceeded]],
) -> SentMessage:
    """Store ``content`` as a pending outgoing message of ``conv``, ``send`` it (1:1 or group), and
    record the answer: sent (its server id and time), or deleted when the server refused it. When
    the server cannot be reached it stays pending: the connection writes it again after
    reconnecting."""
    store, me = ctx.store, ctx.me
    # Not synced by itself: the Olm state's commit (synced) comes before the frame is written, and
    # one WAL sync covers both; a send that fails before it syncs below.
    stored = await store.db.run_unsynced(
        history.insert_message_txn,
        store.key,
        conv=conv,
        sender=me.account_id,
        sender_device=me.device_id,
        content=content,
        mid=None,
        ts=content.ts,
        expires_at=expiry(content.ts, timer=timer, ttl=content.ttl),
        outgoing=True,
        state=MessageState.PENDING,
    )
    assert stored is not None, "a fresh client id cannot collide"
    try:
        sent = await send()
    except SdkError as exc:
        if isinstance(exc, Unavailable):  # stays pending: made durable as it was before
            await asyncio.shield(store.db.sync())
        else:
            await store.db.run(history.delete_message_txn, stored.row)  # refused: it was never sent
        raise
    except BaseException:
        await asyncio.shield(store.db.sync())
        raise
    exp = expiry(sent.ts, timer=timer, ttl=content.ttl)
    await store.db.run(history.mark_sent_txn, store.key, stored.row, mid=sent.mid, ts=sent.ts, expires_at=exp)
    return SentMessage(
        conv=conv,
        id=MessageId(sent.mid),
        client_id=ClientMessageId(content.id),
        ts=sent.ts,
        expires_at=exp,
        server_exp=sent.exp,
    )


def new_client_id() -> str:
    return secrets.token_urlsafe(12)


def expiry(ts: int, *, timer: int, ttl: int | None) -> int | None:
    """When a message disappears from devices: the shorter of the conversation timer and its ttl."""
    limits = [s for s in (timer, ttl) if s]
    return ts + min(limits) * 1000 if limits else None


class Outbox:
    def __init__(self, ctx: SdkContext, devices: DeviceDirectory, conversations: ConversationBook) -> None:
        self._ctx = ctx
        self._me = ctx.me
        self._crypto = ctx.crypto
        self._store = ctx.store
        self._devices = devices
        self._convs = conversations
        self._link = ctx.link
        self._now = ctx.now_ms

    async def send_text(self, to: AccountId, text: str, *, ttl: int | None = None) -> SentMessage:
        check_text(text)
        return await self.send_content(
            to, TextContent(id=new_client_id(), ts=self._now(), body=text, ttl=ttl)
        )

    async def send_content(
        self, to: AccountId, content: TextContent, *, biz: BizMeta | None = None
    ) -> SentMessage:
        """Store ``content`` (a fresh id, any msgtype: text, or an attachment from sdk.media) as a
        pending outgoing message, then send it to the direct conversation with ``to``. ``biz``: a
        business endpoint's declaration (docs/business.md section 5)."""
        check_ttl(content.ttl)
        if to == self._me.account_id:
            raise InvalidInput("send to another account; your other devices get a copy anyway")
        claimed: dict[DeviceId, ClaimedKey] = {}
        # A first message: the person's devices and keys are asked for while the conversation is
        # opened and the pending message stored (``_targets`` awaits them).
        devices = asyncio.ensure_future(self._devices.devices_or_claim(to, claimed))
        try:
            return await self._send_pending(to, content, biz, (devices, claimed))
        finally:
            if not devices.done():
                devices.cancel()
            elif not devices.cancelled():
                devices.exception()  # seen: a failure before it was awaited is not logged as lost

    async def _send_pending(
        self,
        to: AccountId,
        content: TextContent,
        biz: BizMeta | None,
        first: tuple[Awaitable[list[KnownDevice]], dict[DeviceId, ClaimedKey]],
    ) -> SentMessage:
        conv = await self._convs.direct(self._me.account_id, to)
        wire = msgspec.to_builtins(content)
        send = partial(
            self._deliver,
            "p.msg",
            wire,
            client_id=content.id,
            conv=conv.conv,
            to=to,
            ttl=content.ttl,
            biz=biz,
            first=first,
        )
        return await send_pending(self._ctx, conv.conv, conv.timer, content, send)

    async def send_control(self, kind: str, content: dict[str, Any], *, to: AccountId) -> SendSucceeded:
        """Send an encrypted event that is not a chat message (nothing goes to history) into the
        direct conversation with ``to``, e.g. ``p.story`` (docs/protocol.md §12)."""
        conv = await self._convs.direct(self._me.account_id, to)
        return await self._deliver(kind, content, client_id=new_client_id(), conv=conv.conv, to=to)

    async def _deliver(
        self,
        kind: str,
        content: dict[str, Any],
        *,
        client_id: str,
        conv: ConversationId,
        to: AccountId | None = None,
        ttl: int | None = None,
        fresh: Mapping[DeviceId, ClaimedKey] | None = None,
        biz: BizMeta | None = None,
        first: tuple[Awaitable[list[KnownDevice]], dict[DeviceId, ClaimedKey]] | None = None,
    ) -> SendSucceeded:
        """Encrypt for every target device and send; on ``stale_devices`` refresh and retry once.
        ``first``: the recipient's devices (and keys claimed with them) already asked for."""
        recipient = to if to is not None else await self._other_member(conv)
        plaintext = {"type": kind, "conv": conv, "content": content}
        unused = dict(fresh or {})  # a claimed key starts one session, even if we retry
        for attempt in range(2):
            known = first if attempt == 0 else None
            targets = await self._targets(recipient, refresh=attempt > 0, fresh=unused, known=known)
            payloads = await self._encrypt(targets, plaintext, unused)
            try:
                if to is not None:
                    return await self._link.submit(
                        client_id=client_id, payloads=payloads, to=to, ttl=ttl, biz=biz
                    )
                return await self._link.submit(client_id=client_id, payloads=payloads, conv=conv, ttl=ttl)
            except StaleDevices:
                if attempt == 1:
                    raise
                logger.info("device lists changed while sending; refreshing and sending again")
        raise AssertionError("unreachable")

    async def _other_member(self, conv: ConversationId) -> AccountId:
        found = await self._convs.get(conv)
        others = [m for m in (found.members if found else ()) if m != self._me.account_id]
        if len(others) != 1:
            raise SdkError(f"conversation {conv} is not a direct conversation with one other person")
        return others[0]

    async def _targets(
        self,
        recipient: AccountId,
        *,
        refresh: bool,
        fresh: dict[DeviceId, ClaimedKey],
        known: tuple[Awaitable[list[KnownDevice]], dict[DeviceId, ClaimedKey]] | None = None,
    ) -> list[KnownDevice]:
        """The devices a message to ``recipient`` is encrypted for. A first message claims their
        keys with the list (``devices_or_claim``, or ``known``: its answer already in hand); a key
        for a device we already have a session with is left unused."""
        if refresh:
            theirs = await self._devices.devices(recipient, refresh=True)
        else:
            claimed: dict[DeviceId, ClaimedKey] = {}
            if known is not None:
                theirs, claimed = await known[0], known[1]
            else:
                theirs = await self._devices.devices_or_claim(recipient, claimed)
            for device in theirs:
                key = claimed.get(device.device_id)
                if (
                    key is not None
                    and device.device_id not in fresh
                    and not self._crypto.has_session(device.peer)
                ):
                    fresh[device.device_id] = key
        mine = await self._devices.devices(self._me.account_id, refresh=refresh)
        return theirs + [d for d in mine if d.device_id != self._me.device_id]

    async def _encrypt(
        self,
        targets: Sequence[KnownDevice],
        plaintext: Mapping[str, Any],
        fresh: dict[DeviceId, ClaimedKey],
    ) -> dict[str, bytes]:
        claimed = await self._devices.claim_sessions(
            [d for d in targets if d.device_id not in fresh and not self._crypto.has_session(d.peer)]
        )
        payloads: dict[str, bytes] = {}
        for device in targets:
            if device.device_id in fresh:
                self._crypto.create_outbound_session(device.peer, fresh.pop(device.device_id))
            try:
                env = self._crypto.encrypt(device.peer, plaintext, one_time_key=claimed.get(device.device_id))
            except NoSession as exc:
                raise SdkError(
                    f"device {device.device_id} has no one-time key left; try again later"
                ) from exc
            body = msgspec.json.encode(env)
            if len(body) > MAX_ENVELOPE_BYTES:
                raise TooLarge("the message is too large once encrypted")
            payloads[device.device_id] = body
        await self._store.save_crypto(self._crypto.take_changes())
        return payloads

    async def confirm(self, sent: SendSucceeded) -> None:
        """A ``sent`` that no caller waited for (it came after a timeout or a reconnect): record it."""
        original = _RESEND_ID.sub("", sent.client_id)
        msg = await self._store.db.run(
            history.message_by_client_id_txn, self._store.key, self._me.device_id, original
        )
        if msg is None:
            return  # a control message (p.resend, p.dummy)
        conv = await self._convs.get(msg.conv)
        exp = msg.expires_at if msg.state is not MessageState.PENDING else None
        if msg.state is MessageState.PENDING:
            exp = expiry(sent.ts, timer=conv.timer if conv else 0, ttl=msg.content.ttl)
        await self._store.db.run(
            history.mark_sent_txn, self._store.key, msg.row, mid=sent.mid, ts=sent.ts, expires_at=exp
        )

    # --- recovery -------------------------------------------------------------------------------

    async def recover(self, peer: KnownDevice, conv: ConversationId, failed: Sequence[int]) -> None:
        """``peer`` sent us messages we could not decrypt: start a fresh session to it and ask for
        them again (``p.resend`` with their server ids), or just send a ``p.dummy``."""
        claim = await self._devices.claim(peer.account, [peer.device_id])
        entry = claim.get(peer.device_id)
        if entry is None or entry[1] is None:
            logger.warning("cannot recover a session: the device has no key to claim")
            return
        fresh = {peer.device_id: entry[1]}
        if failed:
            content = msgspec.to_builtins(ResendContent(mids=list(failed), device=peer.device_id))
            await self._deliver("p.resend", content, client_id=new_client_id(), conv=conv, fresh=fresh)
        else:
            await self._deliver("p.dummy", {}, client_id=new_client_id(), conv=conv, fresh=fresh)

    async def resend(self, requester: KnownDevice, request: ResendContent) -> int:
        """Encrypt again (on the newest session, which the request just set up) the messages this
        device sent that ``requester`` could not read. Returns how many were sent again."""
        if request.device is not None and request.device != self._me.device_id:
            return 0
        found: dict[int, history.StoredMessage] = {}
        for mid in request.mids[:MAX_RESENDS_PER_REQUEST]:
            msg = await self._store.db.run(history.message_by_mid_txn, self._store.key, mid)
            if msg is not None:
                found[msg.row] = msg
        for cid in request.ids[:MAX_RESENDS_PER_REQUEST]:
            msg = await self._store.db.run(
                history.message_by_client_id_txn, self._store.key, self._me.device_id, cid
            )
            if msg is not None:
                found[msg.row] = msg
        now = self._now()
        count = 0
        for msg in found.values():
            if msg.sender_device != self._me.device_id or (
                msg.expires_at is not None and msg.expires_at <= now
            ):
                continue
            n = await self._store.db.run(history.count_resend_txn, msg.row)
            content = msgspec.structs.replace(msg.content, resend=n)
            sent = await self._deliver(
                "p.msg", msgspec.to_builtins(content), client_id=f"{msg.client_id}.r{n}"[:64], conv=msg.conv
            )
            await self._store.db.run(
                history.mark_sent_txn,
                self._store.key,
                msg.row,
                mid=sent.mid,
                ts=sent.ts,
                expires_at=msg.expires_at,
            )
            count += 1
        return count
