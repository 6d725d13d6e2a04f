"""End-to-end encryption for Passerelle clients. The only package that imports vodozemac.

It exports values (dataclasses, str, bytes, JSON-ready dicts) and ``DeviceCrypto``; vodozemac objects
never leave it. Never log what passes through here: keys, pickles and plaintext.
"""

from __future__ import annotations

from passerelle.crypto.device import CryptoChanges, DeviceCrypto
from passerelle.crypto.encoding import b64decode, b64encode, canonical_json
from passerelle.crypto.envelope import OLM_ALGORITHM, DecryptedEvent, LocalDevice
from passerelle.crypto.errors import (
    BadSignature,
    BindingMismatch,
    CryptoError,
    DecryptionFailed,
    NoSession,
    PickleError,
    SealedDataInvalid,
)
from passerelle.crypto.keys import (
    ClaimedKey,
    IdentityKeys,
    PeerDevice,
    verify_device_keys,
    verify_one_time_key,
    verify_signature,
)
from passerelle.crypto.keystore import StoreKey
from passerelle.crypto.safety import safety_number, safety_qr_payload, verify_safety_qr
from passerelle.crypto.sessions import PickledSession

__all__ = [
    "OLM_ALGORITHM",
    "BadSignature",
    "BindingMismatch",
    "ClaimedKey",
    "CryptoChanges",
    "CryptoError",
    "DecryptedEvent",
    "DecryptionFailed",
    "DeviceCrypto",
    "IdentityKeys",
    "LocalDevice",
    "NoSession",
    "PeerDevice",
    "PickleError",
    "PickledSession",
    "SealedDataInvalid",
    "StoreKey",
    "b64decode",
    "b64encode",
    "canonical_json",
    "safety_number",
    "safety_qr_payload",
    "verify_device_keys",
    "verify_one_time_key",
    "verify_safety_qr",
    "verify_signature",
]
