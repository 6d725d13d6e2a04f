"""Signed device keys, one-time keys, login signatures (docs/protocol.md §4.2, §4.5, §4.7)."""

from __future__ import annotations

import pytest

from passerelle.crypto import (
    BadSignature,
    DeviceCrypto,
    canonical_json,
    verify_device_keys,
    verify_one_time_key,
    verify_signature,
)
from passerelle.crypto.encoding import b64decode, b64encode
from passerelle.domain.ids import AccountId
from tests.unit.crypto.parties import Party


def test_canonical_json_and_unpadded_base64() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    assert b64encode(b"\xff" * 32) == "/" * 42 + "8"
    assert b64decode(b64encode(b"abc")) == b"abc"
    with pytest.raises(ValueError, match="base64"):
        b64decode("-_")


def test_device_keys_are_signed_over_the_canonical_object(alice: Party) -> None:
    keys = alice.crypto.device_keys("Alice's phone")
    assert set(keys) == {"name", "curve25519", "ed25519", "signature"}
    assert len(keys["curve25519"]) == 43
    assert len(keys["ed25519"]) == 43
    assert len(keys["signature"]) == 86
    payload = canonical_json({k: keys[k] for k in ("curve25519", "ed25519", "name")})
    verify_signature(keys["ed25519"], payload, keys["signature"])
    peer = verify_device_keys(AccountId("acc"), keys | {"device_id": "dev"})
    assert peer.ed25519 == keys["ed25519"]


def test_tampered_device_keys_are_rejected(alice: Party, bob: Party) -> None:
    keys = alice.crypto.device_keys("phone") | {"device_id": "dev"}
    for bad in (
        keys | {"name": "other"},
        keys | {"curve25519": bob.peer.curve25519},
        keys | {"ed25519": bob.peer.ed25519},
        {k: v for k, v in keys.items() if k != "signature"},
        keys | {"curve25519": "short"},
    ):
        with pytest.raises(BadSignature):
            verify_device_keys(AccountId("acc"), bad)


def test_one_time_keys_are_signed_and_fresh(alice: Party, bob: Party) -> None:
    keys = alice.crypto.generate_one_time_keys(5)
    assert len({k["key_id"] for k in keys}) == 5
    for k in keys:
        verify_signature(alice.peer.ed25519, canonical_json({"key": k["key"]}), k["signature"])
        assert verify_one_time_key(alice.peer, k).key == k["key"]
    # Published keys are not handed out again.
    again = alice.crypto.generate_one_time_keys(1)
    assert again[0]["key"] not in {k["key"] for k in keys}
    with pytest.raises(BadSignature):
        verify_one_time_key(bob.peer, keys[0])
    with pytest.raises(ValueError, match="between"):
        alice.crypto.generate_one_time_keys(alice.crypto.max_one_time_keys + 1)


def test_fallback_key_can_start_several_sessions(alice: Party, bob: Party) -> None:
    fallback = verify_one_time_key(bob.peer, bob.crypto.generate_fallback_key() | {"fallback": True})
    assert fallback.fallback
    for text in ("first", "second"):
        alice.crypto.forget_sessions(bob.peer)
        env = alice.crypto.encrypt(
            bob.peer, {"type": "p.msg", "conv": "c", "content": {"body": text}}, one_time_key=fallback
        )
        assert bob.crypto.decrypt(env, alice.peer).content["body"] == text


def test_login_signature_covers_challenge_device_and_purpose() -> None:
    crypto = DeviceCrypto.new(b"k" * 32)
    sig = crypto.login_signature(challenge="abc", device_id="dev1")
    payload = canonical_json({"challenge": "abc", "device_id": "dev1", "purpose": "passerelle-login"})
    verify_signature(crypto.ed25519, payload, sig)
    with pytest.raises(BadSignature):
        verify_signature(crypto.ed25519, canonical_json({"challenge": "abc", "device_id": "dev2"}), sig)
