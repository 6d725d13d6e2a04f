"""MyAccount: my account as this device manages it: its devices, its privacy settings, and the
safety numbers that let two people check each other's device keys."""

from __future__ import annotations

from passerelle import crypto as e2e
from passerelle.domain.ids import AccountId, DeviceId
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.directory.devices import DeviceDirectory
from passerelle.sdk.events import DeviceInfo, Settings


class MyAccount:
    def __init__(self, ctx: SdkContext, devices: DeviceDirectory) -> None:
        self._me = ctx.me
        self._crypto = ctx.crypto
        self._store = ctx.store
        self._rest = ctx.rest
        self._devices = devices

    async def _keys(self, account_id: AccountId) -> tuple[list[str], list[str]]:
        """The ed25519 keys of my devices and of theirs, fetched afresh (and verified)."""
        mine = await self._devices.devices(self._me.account_id, refresh=True)
        theirs = await self._devices.devices(account_id, refresh=True)
        return [d.ed25519 for d in mine], [d.ed25519 for d in theirs]

    async def safety_number(self, account_id: AccountId) -> str:
        mine, theirs = await self._keys(account_id)
        return e2e.safety_number(self._me.account_id, mine, account_id, theirs)

    async def safety_qr(self, account_id: AccountId) -> str:
        mine, theirs = await self._keys(account_id)
        return e2e.safety_qr_payload(self._me.account_id, mine, account_id, theirs)

    async def verify_safety_qr(self, account_id: AccountId, scanned: str) -> bool:
        mine, theirs = await self._keys(account_id)
        return e2e.verify_safety_qr(scanned, self._me.account_id, mine, account_id, theirs)

    async def devices(self) -> list[DeviceInfo]:
        """The devices of my account, this one flagged ``current``."""
        known = await self._devices.refresh(self._me.account_id)
        return [
            DeviceInfo(
                device_id=d.device_id,
                name=d.name,
                curve25519=d.curve25519,
                ed25519=d.ed25519,
                current=d.device_id == self._me.device_id,
            )
            for d in known
        ]

    async def remove_device(self, device_id: DeviceId) -> None:
        """Remove a device of my account (its keys, tokens and mailbox go at once)."""
        await self._rest.remove_device(device_id)
        for device in await self._devices.devices(self._me.account_id):
            if device.device_id == device_id:
                self._crypto.forget_sessions(device.peer)
        await self._store.save_crypto(self._crypto.take_changes())
        await self._devices.refresh(self._me.account_id)

    async def settings(
        self, *, findability: str | None = None, read_receipts: bool | None = None
    ) -> Settings:
        """My privacy settings; given values are changed first."""
        changes: dict[str, object] = {}
        if findability is not None:
            changes["findability"] = findability
        if read_receipts is not None:
            changes["read_receipts"] = read_receipts
        if changes:
            answer = await self._rest.update_settings(changes)
        else:
            cached = await self._store.settings()
            if cached is not None:
                return cached
            answer = (await self._rest.me()).settings
        settings = Settings(findability=answer.findability, read_receipts=answer.read_receipts)
        await self._store.save_settings(settings)
        return settings
