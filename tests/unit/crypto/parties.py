"""Two in-memory devices for crypto tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from passerelle.crypto import ClaimedKey, DeviceCrypto, PeerDevice, verify_device_keys, verify_one_time_key
from passerelle.domain.ids import AccountId, DeviceId


@dataclass
class Party:
    """One device under test: its DeviceCrypto, its pickle key, and how others see it."""

    crypto: DeviceCrypto
    key: bytes
    peer: PeerDevice

    def claim(self) -> ClaimedKey:
        """What the server hands out from this device's published one-time keys."""
        otk = self.crypto.generate_one_time_keys(1)[0]
        return verify_one_time_key(self.peer, otk)


def make_party(account: str, device: str) -> Party:
    key = secrets.token_bytes(32)
    crypto = DeviceCrypto.new(key)
    crypto.set_owner(AccountId(account), DeviceId(device))
    published = crypto.device_keys(f"{account}'s {device}") | {"device_id": device}
    return Party(crypto=crypto, key=key, peer=verify_device_keys(AccountId(account), published))
