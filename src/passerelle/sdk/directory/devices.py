"""The directory as this device sees it: who people are, verified device keys of the accounts it
talks to, and the members and timers of its conversations.

Rules
1. The server is not trusted with keys: every device fetched is checked against its self-signature
   and every claimed one-time key against the device's ed25519 key (``SecurityError`` otherwise).
   A device id whose keys changed is refused too: device keys never change, a new device gets a
   new id.
2. Device lists are cached in the local store and fetched again when a send is refused with
   ``stale_devices``, when a ``device`` notice arrives, or when a message comes from an unknown device.
3. A conversation unknown here is fetched from the server (its members and timer) on first use.
4. Who a person is (app, display name, address) comes from a lookup by address or a profile by
   account id, and is kept in the local store. A person who writes to this device before it ever
   looked them up is fetched in the background (a job), never on the path that delivers the message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

from passerelle.crypto import BadSignature, ClaimedKey, verify_device_keys, verify_one_time_key
from passerelle.domain.conversations import TIMERS_S, direct_conversation_id
from passerelle.domain.ids import AccountId, AppName, ConversationId, DeviceId
from passerelle.sdk.errors import (
    InvalidInput,
    ProtocolViolation,
    RateLimited,
    SdkError,
    SecurityError,
    Unavailable,
)
from passerelle.sdk.events import Contact, Conversation, Message
from passerelle.sdk.rest import RestApi
from passerelle.sdk.schema import ConversationInfo, Found, PublishedDevice
from passerelle.sdk.store import history
from passerelle.sdk.store.local import LocalStore
from passerelle.sdk.store.state import KnownDevice

logger = logging.getLogger(__name__)

Schedule = Callable[[Callable[[], Awaitable[object]]], None]
"""Hands a job to the connection's background worker."""


@dataclass(slots=True)
class _Learning:
    """Finding out who a sender is: ``done`` gets their contact, or None when it could not be had."""

    done: asyncio.Future[Contact | None]
    started: bool = False


class ContactBook:
    """Who people are, from lookups and profiles, cached in the local store."""

    def __init__(self, rest: RestApi, store: LocalStore, *, me: AccountId, schedule: Schedule) -> None:
        self._rest = rest
        self._store = store
        self._me = me
        self._schedule = schedule
        self._learning: dict[AccountId, _Learning] = {}
        """Senders this client set out to learn about since it started (one profile fetch each)."""

    async def lookup(self, address: str) -> Contact:
        return await self._remember(await self._rest.lookup(address))

    async def profile(self, account: AccountId) -> Contact:
        found = await self._rest.profile(account)
        if found.account_id != account:
            raise ProtocolViolation(f"asked who {account} is, the server answered about someone else")
        return await self._remember(found)

    async def get(self, account: AccountId) -> Contact | None:
        """The stored contact; for a sender still being learnt about, once that is settled."""
        contact = await self._store.contact(account)
        if contact is None and account in self._learning:
            return await self._learn(account)
        return contact

    def heard_from(self, message: Message) -> None:
        """A message was stored: if its sender was never learnt about here, fetch who they are in the
        background. Runs in the reader (a dispatcher callback), so it only schedules."""
        sender = message.sender
        if message.outgoing or sender == self._me or sender in self._learning:
            return
        self._learning[sender] = _Learning(done=asyncio.get_running_loop().create_future())
        self._schedule(partial(self._learn, sender))

    async def _learn(self, account: AccountId) -> Contact | None:
        """Run once per sender, by the background job or by the first ``get`` (whichever comes
        first); a second caller waits for the first one's answer."""
        learning = self._learning.get(account)
        if learning is None:  # given up after a failure; the sender's next message tries again
            return None
        if learning.started:
            return await asyncio.shield(learning.done)
        learning.started = True
        contact: Contact | None = None
        try:
            contact = await self._store.contact(account) or await self.profile(account)
        except SdkError as exc:
            logger.info("could not learn who a sender is (%s)", exc.code)
            if isinstance(exc, Unavailable | RateLimited):
                del self._learning[account]
        except BaseException:  # cancelled (the client is closing): a later message tries again
            self._learning.pop(account, None)
            raise
        finally:
            learning.done.set_result(contact)
        return contact

    async def _remember(self, found: Found) -> Contact:
        contact = Contact(
            account_id=AccountId(found.account_id),
            app=AppName(found.app),
            display_name=found.display_name,
            address=found.address,
        )
        await self._store.put_contact(contact)
        return contact


class DeviceDirectory:
    """Verified device keys, cached."""

    def __init__(self, rest: RestApi, store: LocalStore, now_ms: Callable[[], int]) -> None:
        self._rest = rest
        self._store = store
        self._now = now_ms

    async def devices(self, account: AccountId, *, refresh: bool = False) -> list[KnownDevice]:
        if not refresh:
            cached, fetched = await self._store.devices(account)
            if fetched is not None:
                return cached
        return await self.refresh(account)

    async def refresh(self, account: AccountId) -> list[KnownDevice]:
        listing = await self._rest.devices(account)
        return await self._remember(account, listing.devices)

    async def device(self, account: AccountId, device_id: str) -> KnownDevice | None:
        """A device's keys; an unknown device makes us fetch the account's list once."""
        for refresh in (False, True):
            for device in await self.devices(account, refresh=refresh):
                if device.device_id == device_id:
                    return device
        return None

    async def claim(
        self, account: AccountId, only: Sequence[DeviceId] | None = None
    ) -> dict[DeviceId, tuple[KnownDevice, ClaimedKey | None]]:
        """Claim one key per device of ``account``, or of ``only`` those (the whole device list
        comes with it and is cached)."""
        claim = await self._rest.claim(account, only)
        devices = await self._remember(account, claim.devices)
        result: dict[DeviceId, tuple[KnownDevice, ClaimedKey | None]] = {}
        for published, known in zip(claim.devices, devices, strict=True):
            otk = None
            if published.one_time_key is not None:
                raw = {
                    "key_id": published.one_time_key.key_id,
                    "key": published.one_time_key.key,
                    "signature": published.one_time_key.signature,
                    "fallback": published.one_time_key.fallback,
                }
                try:
                    otk = verify_one_time_key(known.peer, raw)
                except BadSignature as exc:
                    raise SecurityError(
                        f"a one-time key of device {known.device_id} has a bad signature"
                    ) from exc
            result[known.device_id] = (known, otk)
        return result

    async def _remember(self, account: AccountId, published: Sequence[PublishedDevice]) -> list[KnownDevice]:
        cached, _ = await self._store.devices(account)
        before = {d.device_id: d for d in cached}
        verified: list[KnownDevice] = []
        for p in published:
            try:
                peer = verify_device_keys(account, p.as_dict())
            except BadSignature as exc:
                raise SecurityError(f"device {p.device_id} of {account} has a bad key signature") from exc
            old = before.get(peer.device_id)
            if old is not None and (old.ed25519 != peer.ed25519 or old.curve25519 != peer.curve25519):
                raise SecurityError(f"the keys of device {p.device_id} of {account} changed")
            verified.append(
                KnownDevice(
                    account=account,
                    device_id=peer.device_id,
                    name=p.name,
                    curve25519=peer.curve25519,
                    ed25519=peer.ed25519,
                    signature=p.signature,
                )
            )
        await self._store.replace_devices(account, verified, self._now())
        return verified


class ConversationBook:
    """Members and timers of my conversations, from the local store or else the server."""

    def __init__(self, rest: RestApi, store: LocalStore) -> None:
        self._rest = rest
        self._store = store

    async def get(self, conv: ConversationId) -> Conversation | None:
        found = await self._store.db.run(history.conversation_txn, conv)
        if found is None:
            await self.sync()
            found = await self._store.db.run(history.conversation_txn, conv)
        return found

    async def direct(self, me: AccountId, other: AccountId) -> Conversation:
        """The direct conversation with ``other`` (created on the server if needed; idempotent)."""
        found = await self._store.db.run(history.conversation_txn, direct_conversation_id(me, other))
        if found is not None:
            return found
        info = await self._rest.open_direct(other)
        await self._save(info)
        found = await self._store.db.run(history.conversation_txn, info.conv)
        assert found is not None
        return found

    async def sync(self) -> list[Conversation]:
        """Fetch every conversation (members, timers) from the server."""
        for info in await self._rest.conversations():
            await self._save(info)
        return await self._store.db.run(history.conversations_txn)

    async def set_timer(self, conv: ConversationId, seconds: int) -> None:
        """Record a timer someone set (a ``timer`` notice)."""
        await self._store.db.run(history.set_timer_txn, conv, seconds)

    async def change_timer(self, conv: ConversationId, seconds: int) -> None:
        """Set the timer for every member (the server tells their devices)."""
        if seconds not in TIMERS_S:
            raise InvalidInput(f"a timer is one of {sorted(TIMERS_S)} seconds")
        await self._rest.set_timer(conv, seconds)
        if await self.get(conv) is not None:
            await self.set_timer(conv, seconds)

    async def _save(self, info: ConversationInfo) -> None:
        await self._store.db.run(
            history.upsert_conversation_txn, info.conv, kind=info.kind, members=info.members, timer=info.timer
        )
