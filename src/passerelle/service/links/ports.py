"""``LinkStore``: the port for a person's links between their own accounts (migration
``0016_links``). Every method is one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.ids import AccountId, Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkGroup:
    person: str
    """The group's opaque id (shown only to the person)."""
    accounts: tuple[AccountId, ...]
    """Oldest link first."""


class LinkStore(Protocol):
    async def put_link_request(self, account: AccountId, code_hash: str, expires_at: Timestamp) -> None:
        """The account's one pending request (a new one replaces the old)."""
        ...

    async def take_link_request(self, code_hash: str, now: Timestamp) -> AccountId | None:
        """The account that made the request, once: the request is gone after (or expired)."""
        ...

    async def link_accounts(
        self, a: AccountId, b: AccountId, person: str, at: Timestamp, *, cap: int
    ) -> LinkGroup | None:
        """Puts ``a`` and ``b`` (and the groups they are in) in one group, ``person`` if both were
        alone; None when the group would hold more than ``cap`` accounts."""
        ...

    async def link_group(self, account: AccountId) -> LinkGroup | None: ...

    async def unlink_account(self, account: AccountId) -> bool:
        """Takes the account out of its group; a group left with one account is dissolved (with its
        shares)."""
        ...

    async def set_share(self, person: str, business: BusinessId, shared: bool, at: Timestamp) -> bool:
        """False for an unknown business."""
        ...

    async def shares_of(self, person: str) -> list[BusinessId]: ...

    async def forget_links_of(self, account: AccountId) -> None:
        """Erasure: the account's link, its request, and a group left alone."""
        ...
