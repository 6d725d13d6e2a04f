"""Public device keys and the signatures that bind them (docs/protocol.md §4.2, §4.5, §4.7).

Everything here works on public values only: a device's published curve25519 and ed25519 keys, its
self-signature over them, and signed one-time keys claimed from the server. A peer's keys are only
trusted after ``verify_device_keys`` (and, for a claimed key, ``verify_one_time_key``): the server is
not trusted to hand out the right keys unaltered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import vodozemac as vz

from passerelle.crypto.encoding import canonical_json
from passerelle.crypto.errors import BadSignature
from passerelle.domain.ids import AccountId, DeviceId

LOGIN_PURPOSE = "passerelle-login"


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityKeys:
    """A device's long-term public keys, unpadded base64 (43 characters each)."""

    curve25519: str
    ed25519: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerDevice:
    """Another device (of another account, or another device of mine) whose keys were verified."""

    account: AccountId
    device_id: DeviceId
    curve25519: str
    ed25519: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedKey:
    """A one-time (or fallback) key claimed for a peer device, signature already verified."""

    key_id: str
    key: str
    fallback: bool = False


def device_keys_payload(*, name: str, curve25519: str, ed25519: str) -> bytes:
    """The canonical bytes a device signs to publish its keys (§4.2)."""
    return canonical_json({"curve25519": curve25519, "ed25519": ed25519, "name": name})


def one_time_key_payload(key: str) -> bytes:
    """The canonical bytes a device signs for each one-time or fallback key (§4.7)."""
    return canonical_json({"key": key})


def login_payload(*, challenge: str, device_id: str) -> bytes:
    """The canonical bytes a device signs to log in with its key (§4.5)."""
    return canonical_json({"challenge": challenge, "device_id": device_id, "purpose": LOGIN_PURPOSE})


def verify_signature(ed25519: str, message: bytes, signature: str) -> None:
    """Raise BadSignature unless ``signature`` is ``ed25519``'s signature over ``message``."""
    try:
        key = vz.Ed25519PublicKey.from_base64(ed25519)
        sig = vz.Ed25519Signature.from_base64(signature)
        key.verify_signature(message, sig)
    except (vz.KeyException, vz.SignatureException, vz.DecodeException, TypeError) as exc:
        raise BadSignature("signature does not verify") from exc


def _curve25519_is_valid(key: str) -> bool:
    try:
        vz.Curve25519PublicKey.from_base64(key)
    except (vz.KeyException, vz.DecodeException, TypeError):
        return False
    return True


def verify_device_keys(account: AccountId, device: Mapping[str, object]) -> PeerDevice:
    """Check a published device object (``device_id``, ``name``, ``curve25519``, ``ed25519``,
    ``signature``) and return it as a PeerDevice.

    Raises:
        BadSignature: a member is missing or malformed, or the self-signature does not verify.
    """
    fields = {k: device.get(k) for k in ("device_id", "name", "curve25519", "ed25519", "signature")}
    if not all(isinstance(v, str) for v in fields.values()):
        raise BadSignature("device keys are incomplete")
    name, curve, ed, sig = (str(fields[k]) for k in ("name", "curve25519", "ed25519", "signature"))
    if not _curve25519_is_valid(curve):
        raise BadSignature("malformed curve25519 key")
    verify_signature(ed, device_keys_payload(name=name, curve25519=curve, ed25519=ed), sig)
    return PeerDevice(
        account=account, device_id=DeviceId(str(fields["device_id"])), curve25519=curve, ed25519=ed
    )


def verify_one_time_key(peer: PeerDevice, otk: Mapping[str, object]) -> ClaimedKey:
    """Check a claimed key object (``key_id``, ``key``, ``signature``, ``fallback``?) against the
    peer's ed25519 key.

    Raises:
        BadSignature: missing members, a malformed key, or a signature that does not verify.
    """
    key_id, key, sig = otk.get("key_id"), otk.get("key"), otk.get("signature")
    if not (isinstance(key_id, str) and isinstance(key, str) and isinstance(sig, str)):
        raise BadSignature("one-time key is incomplete")
    if not _curve25519_is_valid(key):
        raise BadSignature("malformed one-time key")
    verify_signature(peer.ed25519, one_time_key_payload(key), sig)
    return ClaimedKey(key_id=key_id, key=key, fallback=otk.get("fallback") is True)
