"""The clock, ids, rate-limit buckets and job leases: what every capability may need from the world."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from passerelle.domain.ids import (
    AccountId,
    DeviceId,
    Timestamp,
)


class Clock(Protocol):
    def now_ms(self) -> Timestamp: ...

    def monotonic(self) -> float: ...


class IdGenerator(Protocol):
    def account_id(self) -> AccountId: ...

    def device_id(self) -> DeviceId: ...

    def token(self) -> str:
        """A fresh secret (bearer token or challenge), URL-safe, at least 256 bits."""
        ...

    def code(self, digits: int) -> str:
        """A fresh numeric one-time code."""
        ...


class RateLimits(Protocol):
    """Token buckets keyed by (rule, key), in one table per rule, each table bounded on its own.

    A rule's table never loses a bucket that is in force: only a bucket that has refilled (which is
    the same as no bucket) may be forgotten to make room. When a rule's table is full of buckets in
    force, a new key of that rule is refused (fail safe) until one refills; other rules are unaffected.
    With several nodes the adapter must share the buckets (Redis), so a limit holds across nodes.
    """

    async def take(self, rule: str, key: str, *, rate: float, burst: float, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens of the (rule, key) bucket, created full when new.

        A ``cost`` of 0 spends nothing and creates nothing: it asks whether one token is there.
        Returns 0 when allowed, else the seconds to wait before a retry (nothing was spent).
        Raises Unavailable when shared state cannot be reached.
        """
        ...

    async def close(self) -> None: ...


class ConnectionSlots(Protocol):
    """An account's WebSocket connections counted across every node (Redis): one slot per device.

    A slot is claimed at ``hello`` by the connection (``holder``, unique per connection) that holds
    it, kept alive by its node's ``refresh`` and ``release``d when it closes; a slot not refreshed
    within the adapter's time to live stops counting on its own (a node that died). A device that
    connects again takes its own slot over (it never counts twice), so an account holds at most
    ``cap`` slots, whatever the number of nodes.
    """

    async def claim(self, account: str, device: str, holder: str, *, cap: int) -> bool:
        """Take the device's slot for ``holder``: False when the account holds ``cap`` slots of
        other devices. Raises Unavailable when the shared count cannot be reached."""
        ...

    async def refresh(self, held: Mapping[str, Sequence[tuple[str, str]]]) -> None:
        """Keep alive, per account, the (device, holder) slots of this node's live connections (a
        slot since taken over by another holder is left alone). Raises Unavailable."""
        ...

    async def release(self, account: str, device: str, holder: str) -> None:
        """Free the device's slot if ``holder`` still holds it. Raises Unavailable."""
        ...

    async def close(self) -> None: ...


class Lease(Protocol):
    """The right to run one cluster-wide job (retention...) now: held by one node at a time among
    the nodes sharing a database, and taken over by another when its holder dies.

    The jobs it guards must be safe to run twice (idempotent deletes): the lease saves the work
    being done once per node, it does not fence a round already started by a holder that then lost it.
    """

    async def held(self) -> bool:
        """Whether this node holds the lease now: taken when free, kept while held (its hold is
        checked). False (never an error) when the shared state cannot be reached."""
        ...

    async def close(self) -> None:
        """Give the lease up (another node may take it at once)."""
        ...
