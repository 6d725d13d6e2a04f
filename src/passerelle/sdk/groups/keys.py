"""GroupKeys: this device's Megolm sessions and the Olm traffic around them (docs/protocol.md §10.4).

Rules
1. One group send at a time per device (a lock), so a session's message index and its "shared with"
   set move in order. Megolm and Olm state are persisted before the frame that used them is written.
2. Before a group message, the outbound session is rotated when it is missing (a member or device
   left or was removed: the session was discarded), has sent ``ROTATE_AFTER_MESSAGES`` messages or
   is older than ``ROTATE_AFTER_MS``. Its key then goes, over Olm, to every current member device
   (my other devices included) that does not have it yet, in sends of at most ``SHARE_CHUNK``.
3. A send naming a device that is not a current member's is refused with ``stale_devices``: the
   member list and the device lists are fetched again and the send is tried once more.
4. A key request is answered only for a device of a current member (asked of the server, which is
   the authority on membership) and only about this device's own sessions of that group.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from passerelle.crypto import NoSession
from passerelle.crypto.megolm import GroupCrypto, OutboundState
from passerelle.domain.ids import AccountId, ConversationId
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.core.protocol import SendSucceeded
from passerelle.sdk.directory.devices import DeviceDirectory
from passerelle.sdk.errors import NotFound, SdkError, StaleDevices, TooLarge
from passerelle.sdk.groups.rest import GroupRest
from passerelle.sdk.messaging.outbox import MAX_ENVELOPE_BYTES, new_client_id
from passerelle.sdk.store import group_state, history
from passerelle.sdk.store.state import KnownDevice

logger = logging.getLogger(__name__)

ROTATE_AFTER_MESSAGES = 100
ROTATE_AFTER_MS = 7 * 86_400_000
SHARE_CHUNK = 100
ROOM_KEY = "p.room_key"
FORWARDED_KEY = "p.forwarded_room_key"
KEY_REQUEST = "p.key_request"


class GroupKeys:
    def __init__(self, ctx: SdkContext, devices: DeviceDirectory, rest: GroupRest) -> None:
        self.me = ctx.me
        self.olm = ctx.crypto
        self.store = ctx.store
        self.devices = devices
        self.rest = rest
        self.link = ctx.link
        self.now = ctx.now_ms
        self.lock = asyncio.Lock()
        self._megolm: GroupCrypto | None = None
        self._requested: set[tuple[str, str]] = set()

    async def megolm(self) -> GroupCrypto:
        """The Megolm state, loaded from the store on first use."""
        if self._megolm is None:
            outbound, inbound, seen = await self.store.db.run(group_state.load_group_crypto_txn)
            megolm = GroupCrypto(
                self.store.pickle_key,
                account=self.me.account_id,
                device_id=self.me.device_id,
                curve25519=self.olm.curve25519,
            )
            megolm.load(outbound, inbound, seen)
            if self._megolm is None:
                self._megolm = megolm
        return self._megolm

    async def save(self) -> None:
        """Persist what changed in the Olm and Megolm state (before acting on it)."""
        megolm = await self.megolm()
        changes = megolm.take_changes()
        if not changes.empty:
            await self.store.db.run(group_state.save_group_crypto_txn, changes)
        await self.store.save_crypto(self.olm.take_changes())

    # --- members -----------------------------------------------------------------------------------

    async def members(self, conv: ConversationId, *, refresh: bool = False) -> list[AccountId]:
        found = None if refresh else await self.store.db.run(history.conversation_txn, conv)
        if found is None or found.kind != "group":
            info = await self.rest.show(conv)
            await self.store.db.run(
                history.upsert_conversation_txn, conv, kind="group", members=info.members, timer=info.timer
            )
            return [AccountId(m) for m in info.members]
        return list(found.members)

    async def member_devices(self, conv: ConversationId, *, refresh: bool = False) -> list[KnownDevice]:
        """Every device of every member, mine included, except this one."""
        out: list[KnownDevice] = []
        for account in await self.members(conv, refresh=refresh):
            out += [
                d
                for d in await self.devices.devices(account, refresh=refresh)
                if d.device_id != self.me.device_id
            ]
        return out

    # --- Olm to chosen devices ----------------------------------------------------------------------

    async def olm_send(
        self, conv: ConversationId, targets: Sequence[KnownDevice], kind: str, content: Mapping[str, Any]
    ) -> None:
        """Encrypt ``{kind, conv, content}`` over Olm for each target and send it, a chunk at a time."""
        plaintext = {"type": kind, "conv": conv, "content": dict(content)}
        for start in range(0, len(targets), SHARE_CHUNK):
            chunk = targets[start : start + SHARE_CHUNK]
            payloads = await self._encrypt(chunk, plaintext)
            await self.link.submit(client_id=new_client_id(), payloads=payloads, conv=conv)

    async def _encrypt(
        self, targets: Sequence[KnownDevice], plaintext: Mapping[str, Any]
    ) -> dict[str, bytes]:
        claimed = await self.devices.claim_sessions([d for d in targets if not self.olm.has_session(d.peer)])
        payloads: dict[str, bytes] = {}
        for device in targets:
            try:
                env = self.olm.encrypt(device.peer, plaintext, one_time_key=claimed.get(device.device_id))
            except NoSession:
                logger.warning("a group member device has no one-time key left; it will ask for the key")
                continue
            body = msgspec.json.encode(env)
            if len(body) > MAX_ENVELOPE_BYTES:
                raise TooLarge("the key share is too large once encrypted")
            payloads[device.device_id] = body
        await self.save()
        return payloads

    # --- sending group events ------------------------------------------------------------------------

    async def send_event(
        self,
        conv: ConversationId,
        kind: str,
        content: Mapping[str, Any],
        *,
        client_id: str,
        ttl: int | None = None,
    ) -> SendSucceeded:
        """Encrypt one event with the group's session (rotated and shared as needed) and send it."""
        async with self.lock:
            for attempt in range(2):
                try:
                    await self._ready_outbound(conv, refresh=attempt > 0)
                    break
                except StaleDevices:
                    if attempt == 1:
                        raise
                    logger.info("group members or devices changed while sharing a key; refreshing")
            megolm = await self.megolm()
            envelope = megolm.encrypt(conv, kind, content)
            await self.save()
        body = msgspec.json.encode(envelope)
        if len(body) > MAX_ENVELOPE_BYTES:
            raise TooLarge("the message is too large once encrypted")
        return await self.link.submit(client_id=client_id, payloads={}, conv=conv, ttl=ttl, body=body)

    async def _ready_outbound(self, conv: ConversationId, *, refresh: bool) -> OutboundState:
        megolm = await self.megolm()
        targets = await self.member_devices(conv, refresh=refresh)
        current = {d.device_id for d in targets}
        state = megolm.outbound(conv)
        now = self.now()
        if (
            state is None
            or state.sent >= ROTATE_AFTER_MESSAGES
            or now - state.created_at >= ROTATE_AFTER_MS
            or not state.shared <= current  # a device that had the key is gone
        ):
            state = megolm.new_outbound(conv, now)
            await self.save()
        lacking = [d for d in targets if d.device_id not in state.shared]
        if lacking:
            session_id, session_key = megolm.session_key(conv)
            content: dict[str, Any] = {
                "algorithm": "m.megolm.v1.aes-sha2",
                "conv": conv,
                "session_id": session_id,
            }
            content |= {"session_key": session_key, "group": await self.group_state(conv)}
            await self.olm_send(conv, lacking, ROOM_KEY, content)
            megolm.mark_shared(conv, [d.device_id for d in lacking])
            await self.save()
            state = megolm.outbound(conv) or state
        return state

    async def group_state(self, conv: ConversationId) -> dict[str, Any]:
        """The group's name and avatar as known here, given to members along with a key."""
        sealed = await self.store.db.run(group_state.get_group_info_txn, conv)
        if sealed is None:
            return {}
        opened: dict[str, Any] = msgspec.json.decode(self.store.key.open(sealed, _info_aad(conv)))
        return opened

    async def put_group_state(self, conv: ConversationId, values: Mapping[str, Any]) -> dict[str, Any]:
        merged = {**await self.group_state(conv), **{k: v for k, v in values.items() if v is not None}}
        sealed = self.store.key.seal(msgspec.json.encode(merged), _info_aad(conv))
        await self.store.db.run(group_state.put_group_info_txn, conv, sealed)
        return merged

    async def discard(self, conv: ConversationId) -> None:
        megolm = await self.megolm()
        megolm.discard_outbound(conv)
        await self.save()

    # --- key requests ------------------------------------------------------------------------------

    async def request_key(
        self, sender: KnownDevice, conv: ConversationId, sender_key: str, session_id: str
    ) -> None:
        """Ask the device that sent a message we cannot read for its session's key (once per run)."""
        if (sender_key, session_id) in self._requested:
            return
        self._requested.add((sender_key, session_id))
        content = {"conv": conv, "session_id": session_id, "sender_key": sender_key, "index": 0}
        try:
            await self.olm_send(conv, [sender], KEY_REQUEST, content)
        except SdkError as exc:
            self._requested.discard((sender_key, session_id))
            logger.info("could not ask for a group key (%s)", exc.code)

    async def answer_key_request(
        self, requester: KnownDevice, conv: ConversationId, content: Mapping[str, Any]
    ) -> None:
        """Share one of my sessions again, but only with a device of a current member."""
        session_id, index = content.get("session_id"), content.get("index", 0)
        if not isinstance(session_id, str) or not isinstance(index, int):
            return
        try:
            members = await self.members(conv, refresh=True)
        except NotFound:
            return  # I am no longer in this group myself
        if requester.account not in members:
            logger.warning("refused a group key request from a device that is not a member's")
            return
        known = await self.devices.device(requester.account, requester.device_id)
        if known is None or known.curve25519 != requester.curve25519:
            return
        megolm = await self.megolm()
        exported = megolm.export_own(conv, session_id, index)
        if exported is None:
            return
        reply: dict[str, Any] = {"conv": conv, "session_id": session_id, "sender_key": self.olm.curve25519}
        reply |= {"exported_key": exported, "group": await self.group_state(conv)}
        await self.olm_send(conv, [known], FORWARDED_KEY, reply)


def _info_aad(conv: str) -> bytes:
    return b"passerelle-group\x00" + conv.encode()
