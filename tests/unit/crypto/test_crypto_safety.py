"""Safety numbers and their QR payloads."""

from __future__ import annotations

import re

from passerelle.crypto import DeviceCrypto, safety_number, safety_qr_payload, verify_safety_qr


def keys(n: int) -> list[str]:
    return [DeviceCrypto.new(b"k" * 32).ed25519 for _ in range(n)]


def test_safety_number_is_60_digits_in_12_groups_and_symmetric() -> None:
    alice, bob = keys(2), keys(1)
    mine = safety_number("acc_a", alice, "acc_b", bob)
    assert re.fullmatch(r"(\d{5} ){11}\d{5}", mine)
    assert safety_number("acc_b", bob, "acc_a", alice) == mine
    # The order the server lists keys in does not matter.
    assert safety_number("acc_a", list(reversed(alice)), "acc_b", bob) == mine


def test_safety_number_changes_when_a_key_or_account_changes() -> None:
    alice, bob = keys(1), keys(1)
    base = safety_number("acc_a", alice, "acc_b", bob)
    assert safety_number("acc_a", alice, "acc_b", keys(1)) != base
    assert safety_number("acc_a", [*alice, *keys(1)], "acc_b", bob) != base
    assert safety_number("acc_a", alice, "acc_c", bob) != base


def test_qr_payload_verifies_only_for_the_same_keys() -> None:
    alice, bob = keys(1), keys(1)
    shown_by_bob = safety_qr_payload("acc_b", bob, "acc_a", alice)
    assert verify_safety_qr(shown_by_bob, "acc_a", alice, "acc_b", bob)
    assert not verify_safety_qr(shown_by_bob, "acc_a", alice, "acc_b", keys(1))
    assert not verify_safety_qr(shown_by_bob, "acc_a", keys(1), "acc_b", bob)
