"""Test doubles for the service tests (and the REST tests): a clock the test moves, a phone that
receives codes, recorders for device notices and keys_low, and a device with real Ed25519 keys."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from passerelle.domain.ids import AccountId, AppName, DeviceId, Timestamp
from passerelle.service.accounts.accounts import NewDevice, device_keys_message
from passerelle.service.accounts.auth import login_message
from passerelle.service.accounts.keys import key_message
from passerelle.service.records import OneTimeKey

START_MS = 1_700_000_000_000


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


class FakeClock:
    """Wall and monotonic time that only move when the test says so."""

    def __init__(self) -> None:
        self.ms = START_MS

    def now_ms(self) -> Timestamp:
        return Timestamp(self.ms)

    def monotonic(self) -> float:
        return self.ms / 1000

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


@dataclass
class Phone:
    """The CodeSender: remembers the last code sent to each number."""

    codes: dict[tuple[str, str], str] = field(default_factory=dict)
    sent: int = 0

    async def send_code(self, *, app: AppName, phone: str, code: str) -> None:
        self.codes[(app, phone)] = code
        self.sent += 1

    def code(self, app: str, phone: str) -> str:
        return self.codes[(app, phone)]


@dataclass
class Notices:
    """The DeviceNotices port, recorded."""

    added: list[tuple[AccountId, DeviceId]] = field(default_factory=list)
    removed: list[tuple[AccountId, DeviceId]] = field(default_factory=list)

    async def device_added(self, account: AccountId, device: DeviceId) -> None:
        self.added.append((account, device))

    async def device_removed(self, account: AccountId, device: DeviceId) -> None:
        self.removed.append((account, device))


@dataclass
class KeysLow:
    calls: list[tuple[DeviceId, int]] = field(default_factory=list)

    async def __call__(self, device: DeviceId, count: int) -> None:
        self.calls.append((device, count))


class TestDevice:
    """A client device: an Ed25519 identity key that signs, and a Curve25519 key."""

    __test__ = False

    def __init__(self, name: str = "Alice's phone") -> None:
        self.name = name
        self.signing = Ed25519PrivateKey.generate()
        self.ed25519 = b64(self.signing.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        curve = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.curve25519 = b64(curve)
        self._next_key = 0

    def sign(self, message: bytes) -> str:
        return b64(self.signing.sign(message))

    def keys_json(self) -> dict[str, str]:
        message = device_keys_message(name=self.name, curve25519=self.curve25519, ed25519=self.ed25519)
        return {
            "name": self.name,
            "curve25519": self.curve25519,
            "ed25519": self.ed25519,
            "signature": self.sign(message),
        }

    def new_device(self) -> NewDevice:
        return NewDevice(**self.keys_json())

    def login_signature(self, device_id: str, challenge: str) -> str:
        return self.sign(login_message(device_id=device_id, challenge=challenge))

    def one_time_keys(self, count: int, *, fallback: bool = False) -> list[OneTimeKey]:
        keys = []
        for _ in range(count):
            self._next_key += 1
            key = b64(X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
            key_id = f"AAAA{self._next_key:04d}"
            keys.append(
                OneTimeKey(key_id=key_id, key=key, signature=self.sign(key_message(key)), fallback=fallback)
            )
        return keys
