"""Receiver: the device's ``core.connection.Handler``, what it does with what the server sends.

Mailbox items go through the Inbox (committed to the store); what they call for afterwards becomes
background jobs of the connection: a fresh session to a device we could not decrypt (and a request
to send the messages again), the resends another device asked us for, the device list of my account
again. A ``welcome`` tops up the one-time keys and syncs the conversations; a ``keys_low`` tops up
the keys; a ``sent`` no one waits for any more is recorded by the Outbox.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from passerelle.proto.frames import Item
from passerelle.sdk.core.connection import Handled
from passerelle.sdk.core.context import Job, SdkContext
from passerelle.sdk.core.credentials import Credentials
from passerelle.sdk.core.protocol import Connected, SendSucceeded
from passerelle.sdk.directory.conversations import ConversationBook
from passerelle.sdk.directory.devices import DeviceDirectory
from passerelle.sdk.events import BusinessMismatchEvent
from passerelle.sdk.messaging.inbox import Inbox
from passerelle.sdk.messaging.outbox import Outbox

OnMismatch = Callable[[BusinessMismatchEvent], Awaitable[bool]]
"""Reports a business's message that was not what its endpoint declared (``client.businesses``);
False when the sender is not a business's account (nothing to show)."""


class Receiver:
    def __init__(
        self,
        ctx: SdkContext,
        *,
        inbox: Inbox,
        outbox: Outbox,
        credentials: Credentials,
        devices: DeviceDirectory,
        conversations: ConversationBook,
        on_mismatch: OnMismatch | None = None,
    ) -> None:
        self._ctx = ctx
        self._inbox = inbox
        self._outbox = outbox
        self._credentials = credentials
        self._devices = devices
        self._convs = conversations
        self._on_mismatch = on_mismatch

    async def items(self, items: Sequence[Item]) -> Handled:
        result = await self._inbox.process(items)
        jobs: list[Job] = [
            partial(self._outbox.recover, r.device, r.conv, r.mids) for r in result.recoveries.values()
        ]
        jobs += [partial(self._outbox.resend, device, request) for device, request in result.resend_requests]
        jobs += [partial(self._mismatch, m) for m in result.mismatches]
        if result.my_devices_changed:
            jobs.append(partial(self._devices.refresh, self._ctx.me.account_id))
        return Handled(upto=result.upto, receipts=result.receipts, jobs=jobs, events=result.events)

    async def _mismatch(self, event: BusinessMismatchEvent) -> None:
        """Shown to the app and reported when the sender is a business (``OnMismatch``)."""
        if self._on_mismatch is not None and await self._on_mismatch(event):
            await self._ctx.events.emit(event)

    async def welcomed(self, welcome: Connected) -> None:
        await self._credentials.replenish(welcome.otk_count)
        await self._convs.sync()

    async def keys_low(self, count: int) -> None:
        await self._credentials.replenish(count)

    async def orphan_sent(self, sent: SendSucceeded) -> None:
        await self._outbox.confirm(sent)

    async def janitor(self) -> None:
        await self._ctx.store.purge_expired(self._ctx.now_ms())
