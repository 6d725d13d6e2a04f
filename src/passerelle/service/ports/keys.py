"""One-time and fallback keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from passerelle.domain.ids import (
    AccountId,
    DeviceId,
)
from passerelle.service.records import (
    ClaimedDevice,
    OneTimeKey,
)


class KeyStore(Protocol):
    async def add_one_time_keys(self, device: DeviceId, keys: Sequence[OneTimeKey]) -> int:
        """Store new one-time keys (ids already present are ignored); return the stock afterwards."""
        ...

    async def set_fallback_key(self, device: DeviceId, key: OneTimeKey) -> None: ...

    async def count_one_time_keys(self, device: DeviceId) -> int: ...

    async def claim_keys(
        self,
        account: AccountId,
        *,
        only: Sequence[DeviceId] | None = None,
        exclude: DeviceId | None = None,
    ) -> list[ClaimedDevice]:
        """List every device of the account; for each device in ``only`` (all when None) except
        ``exclude``, take one one-time key (deleted as it is handed out), or return the fallback key
        when none is left. The other devices come back with no key."""
        ...
