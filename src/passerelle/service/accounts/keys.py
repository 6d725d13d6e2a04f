"""Public keys of devices: uploading one-time and fallback keys, claiming them, listing devices.

Invariants:
- Every one-time or fallback key the server hands out carries a signature by its device's Ed25519
  key, checked at upload. One bad signature rejects the whole upload (``InvalidInput``: the request
  is malformed; the caller's token is fine, so it is not ``Unauthorized``).
- A device holds at most ``limits.max_one_time_keys`` one-time keys.
- Each one-time key is handed out once (the store guarantees it); when none is left the fallback
  key is handed out instead, as many times as needed.
- Claiming and listing obey the directory: a hidden account and a nonexistent one are the same
  NotFound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.errors import InvalidInput, NotFound, Unauthorized
from passerelle.domain.ids import AccountId, DeviceId
from passerelle.domain.limits import Limits
from passerelle.service.accounts.signatures import canonical_json, is_public_key, verify_ed25519
from passerelle.service.directory.directory import Directory
from passerelle.service.limiter import RateLimiter
from passerelle.service.ports import Clock, DeviceStore, KeyStore
from passerelle.service.records import AccountRecord, ClaimedDevice, DeviceRecord, OneTimeKey, TokenRecord

logger = logging.getLogger(__name__)


class KeysStore(KeyStore, DeviceStore, Protocol):
    """What the key service needs of the store."""


MAX_KEY_ID = 64
CLAIMS_PER_PAIR_PER_MINUTE = 10
"""Claims of one account's keys by one device: enough for any session set-up, too few to drain."""
NO_ACCOUNT = "no such account"

KeysLowHook = Callable[[DeviceId, int], Awaitable[None]]


def key_message(key: str) -> bytes:
    """What a device signs for each one-time or fallback key (docs/protocol.md section 4.7)."""
    return canonical_json({"key": key})


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyClaim:
    account: AccountId
    devices: tuple[ClaimedDevice, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountDevices:
    account: AccountId
    devices: tuple[DeviceRecord, ...]


def _first_bad_key(ed25519: str, keys: Sequence[tuple[str, OneTimeKey]]) -> str | None:
    """The label of the first malformed or badly signed key, else None. CPU-bound: run in a thread."""
    seen: set[str] = set()
    for label, key in keys:
        if not (0 < len(key.key_id) <= MAX_KEY_ID and key.key_id.isascii() and key.key_id.isprintable()):
            return f"{label}: a key_id has 1 to {MAX_KEY_ID} printable ASCII characters"
        if key.key_id in seen and not key.fallback:
            return f"{label}: key_id {key.key_id!r} appears twice"
        seen.add(key.key_id)
        if not is_public_key(key.key):
            return f"{label}: a key is 43 characters of unpadded standard base64"
        if not verify_ed25519(ed25519, key_message(key.key), key.signature):
            return f"{label}: the signature does not verify against the device's ed25519 key"
    return None


class KeyService:
    def __init__(
        self,
        *,
        store: KeysStore,
        limits: Limits,
        clock: Clock,
        limiter: RateLimiter,
        directory: Directory,
        on_keys_low: KeysLowHook,
    ) -> None:
        self._store = store
        self._limits = limits
        self._clock = clock
        self._limiter = limiter
        self._directory = directory
        self._on_keys_low = on_keys_low

    async def upload(
        self, caller: TokenRecord, *, one_time_keys: Sequence[OneTimeKey], fallback_key: OneTimeKey | None
    ) -> int:
        """Store signed one-time keys (and replace the fallback key); return the one-time key stock.

        Raises:
            InvalidInput: a malformed key or a bad signature (nothing is stored), or more keys than
                a device may hold.
        """
        device = await self._store.get_device(caller.device)
        if device is None:
            raise Unauthorized("this device was removed")
        limit = self._limits.max_one_time_keys
        if len(one_time_keys) > limit:
            raise InvalidInput(f"a device holds at most {limit} one-time keys")
        labelled = [(f"one_time_keys[{i}]", k) for i, k in enumerate(one_time_keys)]
        if fallback_key is not None:
            labelled.append(("fallback_key", fallback_key))
        if labelled:
            bad = await asyncio.to_thread(_first_bad_key, device.ed25519, labelled)
            if bad is not None:
                raise InvalidInput(bad)
        stock = await self._store.count_one_time_keys(device.id)
        if one_time_keys:
            if stock + len(one_time_keys) > limit:
                room = max(0, limit - stock)
                raise InvalidInput(
                    f"a device holds at most {limit} one-time keys; it has {stock}, upload {room} or fewer"
                )
            otks = [OneTimeKey(key_id=k.key_id, key=k.key, signature=k.signature) for k in one_time_keys]
            stock = await self._store.add_one_time_keys(device.id, otks)
        if fallback_key is not None:
            fallback = OneTimeKey(
                key_id=fallback_key.key_id,
                key=fallback_key.key,
                signature=fallback_key.signature,
                fallback=True,
            )
            await self._store.set_fallback_key(device.id, fallback)
        return stock

    async def count(self, caller: TokenRecord) -> int:
        return await self._store.count_one_time_keys(caller.device)

    async def claim(
        self, caller: TokenRecord, target: str, *, device_ids: Sequence[str] | None = None
    ) -> KeyClaim:
        """Take one key of each device of a visible account (the caller's own account included, but
        never of the calling device), or only of the devices in ``device_ids``.

        Raises:
            NotFound: the account does not exist or is hidden from the caller.
            RateLimited: this device claimed this account's keys too often.
        """
        record = await self._visible(caller, target)
        await self._limiter.check_window(
            "claim:pair", f"{caller.device}>{record.id}", count=CLAIMS_PER_PAIR_PER_MINUTE, window_s=60
        )
        only = [DeviceId(d) for d in device_ids] if device_ids is not None else None
        claimed = await self._store.claim_keys(record.id, only=only, exclude=caller.device)
        threshold = self._limits.keys_low_threshold
        for item in claimed:
            key = item.one_time_key
            if key is None and (
                item.device.id == caller.device or (only is not None and item.device.id not in only)
            ):
                continue
            left = 0 if key is None or key.fallback else await self._store.count_one_time_keys(item.device.id)
            if left < threshold:
                await self._tell_keys_low(item.device.id, left)
        return KeyClaim(account=record.id, devices=tuple(claimed))

    async def devices(self, caller: TokenRecord, target: str) -> AccountDevices:
        """The devices (public keys) of a visible account. Raises NotFound as ``claim`` does."""
        record = await self._visible(caller, target)
        return AccountDevices(account=record.id, devices=tuple(await self._store.list_devices(record.id)))

    async def _visible(self, caller: TokenRecord, target: str) -> AccountRecord:
        viewer = await self._directory.viewer(caller)
        record = await self._directory.visible(viewer, AccountId(target))
        if record is None:
            raise NotFound(NO_ACCOUNT)
        return record

    async def _tell_keys_low(self, device: DeviceId, left: int) -> None:
        # The claim has committed and its keys are spent: the claimer must get them. The notice is
        # advisory (the device also learns its stock on every welcome), so a failure is logged.
        try:
            await self._on_keys_low(device, left)
        except Exception:
            logger.exception("keys_low notice failed")
