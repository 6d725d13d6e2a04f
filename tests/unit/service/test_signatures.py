"""Canonical JSON and Ed25519 verification (docs/protocol.md section 1)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from passerelle.service.accounts.signatures import (
    canonical_json,
    decode_unpadded_b64,
    is_public_key,
    verify_ed25519,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


@pytest.fixture
def signer() -> tuple[Ed25519PrivateKey, str]:
    key = Ed25519PrivateKey.generate()
    return key, b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def test_canonical_json_sorts_keys_drops_spaces_and_keeps_unicode() -> None:
    assert canonical_json({"name": "Zoé", "a": [1, {"z": 1, "b": True}]}) == (
        '{"a":[1,{"b":true,"z":1}],"name":"Zoé"}'.encode()
    )


def test_a_good_signature_verifies(signer: tuple[Ed25519PrivateKey, str]) -> None:
    key, public = signer
    message = canonical_json({"key": "abc"})
    signature = b64(key.sign(message))
    assert len(public) == 43
    assert len(signature) == 86
    assert verify_ed25519(public, message, signature)


def test_another_message_or_key_does_not(signer: tuple[Ed25519PrivateKey, str]) -> None:
    key, public = signer
    signature = b64(key.sign(b"one"))
    assert not verify_ed25519(public, b"two", signature)
    other = b64(Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    assert not verify_ed25519(other, b"one", signature)


@pytest.mark.parametrize(
    ("mangle_key", "mangle_sig"),
    [
        (lambda k: k + "=", lambda s: s),  # padding is not allowed
        (lambda k: k[:-1], lambda s: s),  # wrong length
        (lambda k: "!" * 43, lambda s: s),  # not base64
        (lambda k: k, lambda s: s + "=="),
        (lambda k: k, lambda s: s[:40]),
        (lambda k: k, lambda s: "é" * 86),
        (lambda k: "", lambda s: ""),
        (lambda k: k.replace(k[0], "-"), lambda s: s),  # URL-safe alphabet is not standard base64
    ],
)
def test_garbage_never_verifies_and_never_raises(
    signer: tuple[Ed25519PrivateKey, str], mangle_key: Callable[[str], str], mangle_sig: Callable[[str], str]
) -> None:
    key, public = signer
    signature = b64(key.sign(b"m"))
    assert not verify_ed25519(mangle_key(public), b"m", mangle_sig(signature))


def test_a_public_key_is_43_characters_of_32_bytes(signer: tuple[Ed25519PrivateKey, str]) -> None:
    _, public = signer
    assert is_public_key(public)
    assert not is_public_key(public[:42])
    assert not is_public_key(b64(bytes(33)))
    assert decode_unpadded_b64(b64(b"abcd"), size=4) == b"abcd"
    assert decode_unpadded_b64("a", size=0) is None


def test_a_small_order_key_verifies_nothing() -> None:
    # The identity point as a "device key", and R = the base point, S = 1: S·B = R + k·A holds for
    # every message, so a cofactorless verifier that takes any key (OpenSSL's) accepts it for all.
    identity = b64(b"\x01" + bytes(31))
    forged = b64(bytes.fromhex("58" + "66" * 31) + b"\x01" + bytes(31))

    assert not verify_ed25519(identity, b"any message", forged)
    assert not verify_ed25519(identity, b"another one", forged)
