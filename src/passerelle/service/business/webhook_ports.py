"""What the webhook outbox needs from the outside (docs/business.md section 9): where each
business's webhook goes (``WebhookConfig``), the durable outbox (``WebhookStore``, every method one
transaction), the HTTP client (``WebhookHttp``) and the meters (``WebhookMeter``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.ids import Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookConfig:
    """A business's callback URL, the verify token of the handshake and the app secret that signs
    every ``POST``. The secrets are kept in the clear because the server must sign with them; they
    are never logged and never shown again in full after they are set."""

    business: BusinessId
    callback_url: str
    verify_token: str
    app_secret: str
    updated_at: Timestamp
    public_only: bool = False
    """Registered by the bot itself where only public addresses are allowed: each request resolves
    the host again, refuses a non-public address and connects to the one it checked."""

    def __repr__(self) -> str:  # never print the secrets, even by accident
        return f"WebhookConfig(business={self.business!r}, callback_url={self.callback_url!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxEvent:
    """One webhook event waiting to be posted: the exact bytes, fixed when it was enqueued."""

    id: int
    """Increasing in the order events were enqueued (the per-business order)."""
    business: BusinessId
    body: bytes
    enqueued_at: Timestamp
    attempts: int
    """Posts tried so far without a 2xx answer."""
    next_at: Timestamp
    """Not posted before this time (the backoff)."""


class WebhookStore(Protocol):
    async def set_webhook(self, config: WebhookConfig) -> bool:
        """Insert or replace; False (and nothing written) when there is no such business."""
        ...

    async def get_webhook(self, business: BusinessId) -> WebhookConfig | None: ...

    async def clear_webhook(self, business: BusinessId) -> bool: ...

    async def enqueue(
        self, business: BusinessId, body: bytes, *, at: Timestamp, cap: int
    ) -> OutboxEvent | None:
        """Append an event to the business's outbox; None (and nothing written) when the business
        already has ``cap`` events waiting."""
        ...

    async def enqueue_many(
        self, business: BusinessId, bodies: Sequence[bytes], *, at: Timestamp, cap: int
    ) -> list[OutboxEvent | None]:
        """``enqueue`` of each body in turn, in one transaction (one commit for many)."""
        ...

    async def claim_due(
        self,
        now: Timestamp,
        *,
        skip: frozenset[BusinessId],
        limit: int,
        lease_until: Timestamp,
        batch: int = 1,
    ) -> list[OutboxEvent]:
        """The oldest event of each business (not in ``skip``) whose ``next_at`` has come, soonest
        first, at most ``limit`` businesses; with each head, up to ``batch - 1`` of the events
        enqueued after it, in order, as long as each is due. Each business's events come together,
        head first. Each one's ``next_at`` becomes ``lease_until`` in the same transaction, so
        that no other sender (another node) takes them before then."""
        ...

    async def next_due(self, *, skip: frozenset[BusinessId]) -> Timestamp | None:
        """The earliest ``next_at`` of any business's oldest event (not in ``skip``)."""
        ...

    async def settle(self, *, done: Sequence[int], retry: Sequence[OutboxEvent]) -> None:
        """In one transaction: delete the events ``done`` (delivered, or dropped for good), and
        write each of ``retry``'s ``attempts`` and ``next_at`` on its event (its bytes stay)."""
        ...

    async def pending(self, business: BusinessId) -> int: ...


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    text: str


class WebhookHttp(Protocol):
    """Raises ``OSError`` or ``TimeoutError`` when no answer came in time."""

    async def get(
        self, url: str, params: Mapping[str, str], *, timeout_s: float, public_only: bool = False
    ) -> HttpAnswer: ...

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout_s: float,
        public_only: bool = False,
    ) -> HttpAnswer:
        """``public_only``: refuse (``OSError``) a host that resolves to a non-public address, and
        connect to the address checked."""
        ...


class WebhookMeter(Protocol):
    def queued(self) -> None: ...

    def delivered(self, latency_s: float) -> None:
        """``latency_s``: from enqueue to the 2xx answer."""
        ...

    def retried(self) -> None: ...

    def dropped(self, reason: str) -> None:
        """``expired`` (24 hours of failures), ``full`` (the outbox's cap) or ``no_webhook``."""
        ...
