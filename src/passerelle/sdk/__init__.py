"""The Passerelle Python SDK: an end-to-end encrypted client (one ``Client`` = one device).

A sans-I/O protocol core (``core``), an asyncio transport (``rest``, ``transport``), a local store
encrypted at rest (``store``), and the public ``Client``. It never imports the server side.
"""

from __future__ import annotations

from passerelle.sdk.client import Client, ClientOptions
from passerelle.sdk.errors import (
    AliasTaken,
    Conflict,
    Forbidden,
    InvalidInput,
    NotConnected,
    NotFound,
    ProtocolViolation,
    QuotaExceeded,
    RateLimited,
    SdkError,
    SecurityError,
    StaleDevices,
    StoreError,
    TooLarge,
    Unauthorized,
    Unavailable,
    UnsupportedVersion,
)
from passerelle.sdk.events import (
    ConnectionEvent,
    Contact,
    Conversation,
    DeviceEvent,
    DeviceInfo,
    Event,
    Message,
    MessageState,
    ReceiptEvent,
    RequestEvent,
    SentMessage,
    Settings,
    TimerEvent,
    TypingEvent,
)

__all__ = [
    "AliasTaken",
    "Client",
    "ClientOptions",
    "Conflict",
    "ConnectionEvent",
    "Contact",
    "Conversation",
    "DeviceEvent",
    "DeviceInfo",
    "Event",
    "Forbidden",
    "InvalidInput",
    "Message",
    "MessageState",
    "NotConnected",
    "NotFound",
    "ProtocolViolation",
    "QuotaExceeded",
    "RateLimited",
    "ReceiptEvent",
    "RequestEvent",
    "SdkError",
    "SecurityError",
    "SentMessage",
    "Settings",
    "StaleDevices",
    "StoreError",
    "TimerEvent",
    "TooLarge",
    "TypingEvent",
    "Unauthorized",
    "Unavailable",
    "UnsupportedVersion",
]
