"""Identifiers. Every id that crosses a layer is one of these NewTypes, never a bare str or int.

Account, device and conversation ids are opaque strings chosen by the server; they never encode a
phone number, handle or username, so they can be shown to anyone. Message ids and mailbox positions
are integers assigned by the store.
"""

from __future__ import annotations

from typing import NewType

AppName = NewType("AppName", str)
AccountId = NewType("AccountId", str)
DeviceId = NewType("DeviceId", str)
ConversationId = NewType("ConversationId", str)
ClientMessageId = NewType("ClientMessageId", str)
BlobId = NewType("BlobId", str)
"""An encrypted media blob: ``b_`` + 43 URL-safe characters chosen by the server."""
MessageId = NewType("MessageId", int)
MailboxPos = NewType("MailboxPos", int)
Timestamp = NewType("Timestamp", int)
"""Milliseconds since the Unix epoch, UTC."""

MAX_CLIENT_MESSAGE_ID = 64


def is_client_message_id(value: str) -> bool:
    """The rule of a client-chosen message id: 1 to 64 printable ASCII characters (docs/protocol.md
    section 2). Written once, for the server's send path and the SDK alike."""
    return 0 < len(value) <= MAX_CLIENT_MESSAGE_ID and value.isascii() and value.isprintable()
