"""SdkContext: what every part of one device shares, built once by the ``Client`` and handed to each
part (the directory, the outbox and inbox, the capability facades) instead of the same collaborators
one by one.

The parts are built in dependency order, the connection first: it only needs the credentials. What
a part needs of the connection is the narrow ``Link`` below; what the connection needs of the parts
(handling what arrives) is given to it when it starts (``core.connection.Handler``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from passerelle.crypto import DeviceCrypto
from passerelle.proto.frames import BizMeta
from passerelle.sdk.core.dispatch import Dispatcher
from passerelle.sdk.core.protocol import SendSucceeded
from passerelle.sdk.rest import RestApi
from passerelle.sdk.store.local import Identity, LocalStore

Job = Callable[[], Awaitable[object]]
"""Work for the connection's background worker (it runs one job at a time, in order)."""


class Link(Protocol):
    """The live connection as the parts see it."""

    async def submit(
        self,
        *,
        client_id: str,
        payloads: Mapping[str, bytes],
        to: str | None = None,
        conv: str | None = None,
        ttl: int | None = None,
        body: bytes | None = None,
        biz: BizMeta | None = None,
    ) -> SendSucceeded:
        """Write a send frame (``body``: a group's shared Megolm body; ``biz``: a business endpoint's
        declaration) and wait for its ``sent``
        (raising the SdkError of its ``error``)."""
        ...

    def schedule(self, job: Job) -> None:
        """Run ``job`` in the background worker: never on the path that reads frames."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SdkContext:
    me: Identity
    """Who this device is (ids, app, server)."""
    crypto: DeviceCrypto
    """Its Olm account and sessions."""
    store: LocalStore
    rest: RestApi
    link: Link
    events: Dispatcher
    """Where SDK events go to the application's callbacks and streams."""
    now_ms: Callable[[], int]
    """The clock (milliseconds since the epoch)."""
