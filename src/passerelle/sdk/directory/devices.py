"""Verified device keys of the accounts this device talks to.

Rules
1. The server is not trusted with keys: every device fetched is checked against its self-signature
   and every claimed one-time key against the device's ed25519 key (``SecurityError`` otherwise).
   A device id whose keys changed is refused too: device keys never change, a new device gets a
   new id.
2. Device lists are cached in the local store and fetched again when a send is refused with
   ``stale_devices``, when a ``device`` notice arrives, or when a message comes from an unknown device.
"""

from __future__ import annotations

from collections.abc import Sequence

from passerelle.crypto import BadSignature, ClaimedKey, verify_device_keys, verify_one_time_key
from passerelle.domain.ids import AccountId, DeviceId
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.errors import SecurityError
from passerelle.sdk.schema import PublishedDevice
from passerelle.sdk.store.state import KnownDevice


class DeviceDirectory:
    """Verified device keys, cached."""

    def __init__(self, ctx: SdkContext) -> None:
        self._rest = ctx.rest
        self._store = ctx.store
        self._now = ctx.now_ms

    async def devices(self, account: AccountId, *, refresh: bool = False) -> list[KnownDevice]:
        if not refresh:
            cached, fetched = await self._store.devices(account)
            if fetched is not None:
                return cached
        return await self.refresh(account)

    async def devices_or_claim(
        self, account: AccountId, claimed: dict[DeviceId, ClaimedKey]
    ) -> list[KnownDevice]:
        """The account's devices, as ``devices``; when none are cached (a first message to it),
        one claim brings the list (cached) and a one-time key per device, put in ``claimed``: one
        call instead of a listing then a claim."""
        cached, fetched = await self._store.devices(account)
        if fetched is not None:
            return cached
        found = await self.claim(account)
        for device_id, (_, otk) in found.items():
            if otk is not None:
                claimed[device_id] = otk
        return [known for known, _ in found.values()]

    async def refresh(self, account: AccountId) -> list[KnownDevice]:
        listing = await self._rest.devices(account)
        return await self._remember(account, listing.devices)

    async def device(self, account: AccountId, device_id: str) -> KnownDevice | None:
        """A device's keys; an unknown device makes us fetch the account's list once."""
        for refresh in (False, True):
            for device in await self.devices(account, refresh=refresh):
                if device.device_id == device_id:
                    return device
        return None

    async def claim(
        self, account: AccountId, only: Sequence[DeviceId] | None = None
    ) -> dict[DeviceId, tuple[KnownDevice, ClaimedKey | None]]:
        """Claim one key per device of ``account``, or of ``only`` those (the whole device list
        comes with it and is cached)."""
        claim = await self._rest.claim(account, only)
        devices = await self._remember(account, claim.devices)
        result: dict[DeviceId, tuple[KnownDevice, ClaimedKey | None]] = {}
        for published, known in zip(claim.devices, devices, strict=True):
            otk = None
            if published.one_time_key is not None:
                raw = {
                    "key_id": published.one_time_key.key_id,
                    "key": published.one_time_key.key,
                    "signature": published.one_time_key.signature,
                    "fallback": published.one_time_key.fallback,
                }
                try:
                    otk = verify_one_time_key(known.peer, raw)
                except BadSignature as exc:
                    raise SecurityError(
                        f"a one-time key of device {known.device_id} has a bad signature"
                    ) from exc
            result[known.device_id] = (known, otk)
        return result

    async def claim_sessions(self, lacking: Sequence[KnownDevice]) -> dict[DeviceId, ClaimedKey | None]:
        """A one-time key for each of ``lacking`` (devices with no Olm session yet), claimed one
        account at a time; None for a device that has no key left."""
        need: dict[AccountId, list[DeviceId]] = {}
        for d in lacking:
            need.setdefault(d.account, []).append(d.device_id)
        claimed: dict[DeviceId, ClaimedKey | None] = {}
        for account, device_ids in sorted(need.items()):
            for device_id, (_, otk) in (await self.claim(account, device_ids)).items():
                if device_id in device_ids:
                    claimed[device_id] = otk
        return claimed

    async def _remember(self, account: AccountId, published: Sequence[PublishedDevice]) -> list[KnownDevice]:
        cached, _ = await self._store.devices(account)
        before = {d.device_id: d for d in cached}
        verified: list[KnownDevice] = []
        for p in published:
            try:
                peer = verify_device_keys(account, p.as_dict())
            except BadSignature as exc:
                raise SecurityError(f"device {p.device_id} of {account} has a bad key signature") from exc
            old = before.get(peer.device_id)
            if old is not None and (old.ed25519 != peer.ed25519 or old.curve25519 != peer.curve25519):
                raise SecurityError(f"the keys of device {p.device_id} of {account} changed")
            verified.append(
                KnownDevice(
                    account=account,
                    device_id=peer.device_id,
                    name=p.name,
                    curve25519=peer.curve25519,
                    ed25519=peer.ed25519,
                    signature=p.signature,
                )
            )
        await self._store.replace_devices(account, verified, self._now())
        return verified
