"""The mailbox: the message path's store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from passerelle.domain.ids import (
    AccountId,
    ClientMessageId,
    ConversationId,
    DeviceId,
    MailboxPos,
    Timestamp,
)
from passerelle.service.records import (
    AppendResult,
    MailboxItem,
    OutgoingMessage,
)


class Mailbox(Protocol):
    async def append(
        self, batch: Sequence[OutgoingMessage], *, acks: Sequence[tuple[DeviceId, MailboxPos]] = ()
    ) -> list[AppendResult]:
        """Store a batch in one transaction; results are in the batch's order. ``acks`` (as for
        ``ack``) are applied in the same transaction, saving a commit per round on the hot path."""
        ...

    async def fetch(self, device: DeviceId, *, after: MailboxPos, limit: int) -> list[MailboxItem]:
        """Items of the device with a position above ``after``, oldest first, unexpired only."""
        ...

    async def ack(self, acks: Sequence[tuple[DeviceId, MailboxPos]]) -> int:
        """Delete every item of each device up to its position; return how many were deleted."""
        ...

    async def drop(self, device: DeviceId, positions: Sequence[MailboxPos]) -> int:
        """Delete these items of the device, and only these (items that cannot be delivered); return
        how many were deleted."""
        ...

    async def count_waiting(
        self, devices: Sequence[DeviceId], *, conv: ConversationId, sender: AccountId, up_to: int
    ) -> int:
        """The most messages (kind ``msg``) from ``sender`` in ``conv`` that any one of ``devices``
        has not acknowledged yet (the bound on a message request, docs/protocol.md section 9.2),
        counted up to ``up_to`` at most: the cost stays bounded whatever a mailbox holds."""
        ...

    async def was_stored(self, sender_device: DeviceId, client_id: ClientMessageId) -> bool:
        """Whether a message with this client id from this device is remembered (within the
        idempotency window): a repeated send then returns its first result, whatever bounds say."""
        ...

    async def delete_expired(self, *, now: Timestamp, idempotency_before: Timestamp) -> int:
        """The janitor: delete mailbox items past their expiry, and message records (the memory of
        client ids) older than ``idempotency_before`` with no item left."""
        ...
