"""The whole store: every part behind one connection (pool) to one database, as the adapters give it."""

from __future__ import annotations

from typing import Protocol

from passerelle.service.ports.accounts import AccountStore, CodeStore, DeviceStore, TokenStore
from passerelle.service.ports.conversations import ConversationStore
from passerelle.service.ports.groups import GroupStore
from passerelle.service.ports.keys import KeyStore
from passerelle.service.ports.mailbox import Mailbox
from passerelle.service.ports.media import MediaStore
from passerelle.service.ports.privacy import PrivacyStore
from passerelle.service.ports.stories import StoryStore


class Store(
    StoryStore,
    GroupStore,
    AccountStore,
    DeviceStore,
    TokenStore,
    CodeStore,
    KeyStore,
    ConversationStore,
    Mailbox,
    MediaStore,
    PrivacyStore,
    Protocol,
):
    """Everything the server keeps, behind one connection (pool) to one database."""

    async def open(self) -> None:
        """Connect and run pending migrations."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """For readiness: True when a trivial query succeeds."""
        ...
