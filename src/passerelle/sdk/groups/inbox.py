"""GroupInbox: what this device does with group traffic (docs/protocol.md §10), for the Inbox.

Rules
1. A Megolm body is checked against the sender device the server names (its verified keys), the
   session's binding (who shared it, for which group) and replays, then stored like a 1:1 message
   (the session state with it, in one transaction) and dispatched with ``conv`` = the group.
2. A body whose session key has not arrived is kept (``megolm_pending``) and the sender's device is
   asked for the key (``p.key_request``); when a key arrives, the waiting bodies are decrypted.
3. A key is accepted only over Olm: ``p.room_key`` from the session's own sender device, or
   ``p.forwarded_room_key`` from that same device (its answer to a request).
4. ``member`` notices update the member list; when a member or one of their devices leaves or is
   removed, this device's outbound session of that group is discarded (the next send rotates).
"""

from __future__ import annotations

import logging
from functools import partial

import msgspec

from passerelle.crypto import BindingMismatch, DecryptedEvent, DecryptionFailed
from passerelle.crypto.megolm import GroupDecrypted, Replayed, UnknownSession, parse_group_envelope
from passerelle.domain.ids import AccountId, ConversationId
from passerelle.proto.frames import Item
from passerelle.sdk import schema
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.directory.conversations import ConversationBook
from passerelle.sdk.errors import SdkError, Unavailable
from passerelle.sdk.events import GroupEvent
from passerelle.sdk.groups.keys import FORWARDED_KEY, KEY_REQUEST, ROOM_KEY, GroupKeys
from passerelle.sdk.messaging.inbox import InboxResult, MyFeatures, store_message
from passerelle.sdk.store import group_state, history
from passerelle.sdk.store.state import KnownDevice

logger = logging.getLogger(__name__)

_MARK = b'"m.megolm.v1.aes-sha2"'
_ROTATING = frozenset({"removed", "left", "device_removed"})
_item = msgspec.json.Decoder(Item)


class MemberNotice(schema.Shape, frozen=True):
    event: str
    account: str
    by: str
    device: str | None = None
    accounts: list[str] | None = None
    """When one change names several members (a group created with them, several added)."""


class GroupInbox:
    def __init__(
        self, ctx: SdkContext, keys: GroupKeys, conversations: ConversationBook, features: MyFeatures | None
    ) -> None:
        self._me = ctx.me
        self._store = ctx.store
        self._link = ctx.link
        self._now = ctx.now_ms
        self._keys = keys
        self._convs = conversations
        self.features = features
        """This device's app's content features (§11); None: all."""

    def is_group_body(self, item: Item) -> bool:
        return _MARK in bytes(item.body)

    def handles(self, event_type: str) -> bool:
        return event_type in (ROOM_KEY, FORWARDED_KEY, KEY_REQUEST)

    # --- Megolm bodies -------------------------------------------------------------------------------

    async def body(self, item: Item, result: InboxResult) -> None:
        sender = await self._sender(item)
        if sender is None:
            return
        keys = self._keys
        megolm = await keys.megolm()
        try:
            decrypted = megolm.decrypt(bytes(item.body), sender.peer, item.conv)
        except UnknownSession:
            env = parse_group_envelope(bytes(item.body))
            await self._store.db.run(
                group_state.add_pending_txn, env.sender_key, env.session_id, msgspec.json.encode(item)
            )
            conv, key, sid = ConversationId(item.conv), env.sender_key, env.session_id
            self._link.schedule(partial(keys.request_key, sender, conv, key, sid))
            return
        except Replayed:
            return  # delivered again before our ack: already stored
        except (DecryptionFailed, BindingMismatch):
            logger.warning("dropped a group message that cannot be verified or decrypted")
            return
        await self._handle(item, sender, decrypted, result)

    async def _sender(self, item: Item) -> KnownDevice | None:
        try:
            return await self._keys.devices.device(AccountId(item.sender), item.dev)
        except Unavailable:
            raise
        except SdkError as exc:
            logger.warning("dropped a group message whose sender device cannot be checked (%s)", exc.code)
            return None

    async def _handle(
        self, item: Item, sender: KnownDevice, event: GroupDecrypted, result: InboxResult
    ) -> None:
        keys = self._keys
        changes = (await keys.megolm()).take_changes()
        if event.type == "p.group":
            await self._store.db.run(group_state.save_group_crypto_txn, changes)
            values = {k: event.content.get(k) for k in ("name", "avatar")}
            await keys.put_group_state(ConversationId(item.conv), values)
            for name in ("name", "avatar"):
                if values[name] is not None:
                    what = "renamed" if name == "name" else "avatar"
                    result.events.append(_event(item.conv, what, item.sender, item.sender))
            return
        try:
            content = schema.convert(event.content, schema.TextContent)
        except msgspec.MsgspecError:
            content = None
        if event.type != "p.msg" or content is None:
            await self._store.db.run(group_state.save_group_crypto_txn, changes)
            return
        conv = await self._convs.get(ConversationId(item.conv))
        now = self._now()
        features = await self.features() if self.features is not None else None
        await store_message(
            self._store,
            item,
            content,
            result,
            me=self._me.account_id,
            timer=conv.timer if conv is not None else 0,
            features=features,
            now=now,
            first=partial(group_state.save_group_crypto_txn, changes=changes),
        )

    # --- Olm: keys and requests --------------------------------------------------------------------

    async def olm_event(
        self, item: Item, sender: KnownDevice, event: DecryptedEvent, result: InboxResult
    ) -> None:
        keys = self._keys
        content = event.content
        conv = ConversationId(item.conv)
        if event.type == KEY_REQUEST:
            await keys.save()
            self._link.schedule(partial(keys.answer_key_request, sender, conv, content))
            return
        megolm = await keys.megolm()
        session_id = content.get("session_id")
        secret = content.get("session_key" if event.type == ROOM_KEY else "exported_key")
        if not isinstance(session_id, str) or not isinstance(secret, str) or content.get("conv") != conv:
            logger.warning("dropped a malformed group key")
            await keys.save()
            return
        if event.type == ROOM_KEY:
            accepted = megolm.add_room_key(sender.peer, conv, session_id, secret)
        else:
            accepted = content.get("sender_key") == sender.curve25519 and megolm.add_exported_key(
                sender.peer, conv, session_id, secret
            )
        await keys.save()
        if not accepted:
            logger.warning("dropped a group key that does not match its session")
            return
        group = content.get("group")
        if isinstance(group, dict) and group:
            known = await keys.group_state(conv)
            await keys.put_group_state(conv, {k: v for k, v in group.items() if k not in known})
        await self._retry(sender, session_id, result)

    async def _retry(self, sender: KnownDevice, session_id: str, result: InboxResult) -> None:
        """Decrypt the bodies that were waiting for this session's key."""
        keys = self._keys
        waiting = await self._store.db.run(group_state.take_pending_txn, sender.curve25519, session_id)
        megolm = await keys.megolm()
        for raw in waiting:
            item = _item.decode(raw)
            try:
                decrypted = megolm.decrypt(bytes(item.body), sender.peer, item.conv)
            except DecryptionFailed:
                continue  # an earlier index than the key opens, or a replay
            except BindingMismatch:
                continue
            await self._handle(item, sender, decrypted, result)

    # --- member notices --------------------------------------------------------------------------

    async def member(self, item: Item, result: InboxResult) -> None:
        try:
            notice = schema.decode(bytes(item.body), MemberNotice)
        except msgspec.MsgspecError:
            logger.warning("ignored a malformed member notice")
            return
        keys = self._keys
        conv = ConversationId(item.conv)
        found = await self._store.db.run(history.conversation_txn, conv)
        members: set[str] = set(found.members) if found is not None else set()
        if found is None:
            try:
                members = set(await keys.members(conv))
            except SdkError:
                members = set()
        named = notice.accounts or [notice.account]
        if notice.event in ("added", "joined"):
            members.update(named)
        elif notice.event in ("removed", "left"):
            members.difference_update(named)
        await self._store.db.run(history.upsert_conversation_txn, conv, kind="group", members=sorted(members))
        if notice.event.startswith("device_"):
            await self._store.forget_device_list(AccountId(notice.account))
        if notice.event in _ROTATING:
            await keys.discard(conv)
        result.events.append(_event(conv, notice.event, notice.account, notice.by))


def _event(conv: str, event: str, account: str, by: str) -> GroupEvent:
    return GroupEvent(conv=ConversationId(conv), event=event, account=AccountId(account), by=AccountId(by))
