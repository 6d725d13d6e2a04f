"""Accounts, devices, tokens, challenges and one-time codes; the code sender, the server secret and
device-list notices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from passerelle.domain.ids import (
    AccountId,
    AppName,
    DeviceId,
    Timestamp,
)
from passerelle.domain.privacy import Findability
from passerelle.service.records import (
    AccountRecord,
    CodeRecord,
    DeviceRecord,
    TokenRecord,
)


class CodeSender(Protocol):
    async def send_code(self, *, app: AppName, phone: str, code: str) -> None:
        """Deliver a one-time code to a phone. Raises Unavailable when the gateway fails."""
        ...


class AccountStore(Protocol):
    async def create_account(
        self, account: AccountRecord, device: DeviceRecord, *, token_hash: str, token_expires: Timestamp
    ) -> None:
        """Raises AliasTaken when (app, alias) exists."""
        ...

    async def get_account(self, account: AccountId) -> AccountRecord | None: ...

    async def find_account(self, app: AppName, alias: str) -> AccountRecord | None: ...

    async def update_settings(
        self, account: AccountId, *, findability: Findability | None, read_receipts: bool
    ) -> None: ...


class DeviceStore(Protocol):
    async def add_device(
        self, device: DeviceRecord, *, token_hash: str, token_expires: Timestamp
    ) -> None: ...

    async def get_device(self, device: DeviceId) -> DeviceRecord | None: ...

    async def get_device_and_account(self, device: DeviceId) -> tuple[DeviceRecord, AccountRecord] | None:
        """The device and its account in one read (a login with the device's key needs both);
        None when either is missing."""
        ...

    async def list_devices(self, account: AccountId) -> list[DeviceRecord]: ...

    async def list_devices_of(self, accounts: Sequence[AccountId]) -> dict[AccountId, list[DeviceId]]:
        """Device ids per account, for the send path (accounts without devices map to [])."""
        ...

    async def remove_device(self, device: DeviceId) -> bool:
        """Delete the device with its keys, tokens, challenges and mailbox. False if it did not exist."""
        ...


class TokenStore(Protocol):
    async def put_token(self, token_hash: str, *, device: DeviceId, expires_at: Timestamp) -> None: ...

    async def resolve_token(self, token_hash: str, *, now: Timestamp) -> TokenRecord | None:
        """The live token's owner, or None when unknown, expired or its device was removed."""
        ...

    async def resolve_caller(
        self, token_hash: str, *, now: Timestamp
    ) -> tuple[TokenRecord, AccountRecord] | None:
        """``resolve_token`` and the owner's account, in one read (every authenticated request
        and WebSocket ``hello`` asks both); None when either is missing."""
        ...

    async def spend_challenge(
        self,
        challenge_hash: str,
        *,
        device: DeviceId,
        expires_at: Timestamp,
        token_hash: str | None,
        token_expires_at: Timestamp,
    ) -> bool:
        """Mark a login challenge spent (by its hash, remembered until ``expires_at``) and, the
        first time only, store the token ``token_hash`` (unless None) for ``device`` in the same
        transaction: True then, False when it was spent before (nothing stored). Raises NotFound
        when the device is gone."""
        ...


class CodeStore(Protocol):
    async def put_code(self, record: CodeRecord) -> None:
        """Replace any pending code for (app, phone)."""
        ...

    async def get_code(self, app: AppName, phone: str) -> CodeRecord | None: ...

    async def spend_attempt(self, app: AppName, phone: str) -> int:
        """Decrement the attempts left and return what remains (-1 when there is no code)."""
        ...

    async def delete_code(self, app: AppName, phone: str) -> None: ...


class DeviceNotices(Protocol):
    """Tells an account's devices that its device list changed (implemented by the server's hub).

    Called after the change committed. ``device_added`` leaves a durable ``device`` notice in every
    other device's mailbox; ``device_removed`` does the same and closes the removed device's
    connection, wherever it is.
    """

    async def device_added(self, account: AccountId, device: DeviceId) -> None: ...

    async def device_removed(self, account: AccountId, device: DeviceId) -> None: ...


class ServerSecret(Protocol):
    """A secret of the server's kept outside the database (a key file, or the operator's setting):
    one-time codes are stored as a MAC under it, so the database alone does not reveal them."""

    def mac(self, message: bytes) -> str:
        """HMAC-SHA256 of ``message`` under the secret, in hex."""
        ...
