"""Safety numbers and their QR payloads."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_the_test_vector_of_the_protocol_holds() -> None:
    """docs/protocol.md section 14 gives this vector for other implementations (the web apps')."""
    alice = ["AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"]
    bob = ["ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8", "//////////////////////////////////////////8"]
    number = "05973 60501 57868 73559 18363 19099 55201 02579 03552 62437 43178 11241"
    assert safety_number("a_alice", alice, "a_bob", bob) == number
    assert safety_number("a_bob", list(reversed(bob)), "a_alice", alice) == number
    assert safety_qr_payload("a_alice", alice, "a_bob", bob) == (
        "passerelle-safety:0:ZM/GQJXoxUa+dXb17gWs3e43Szfnd1zWu5RH2FK7P4g:"
        "3yrB3WGz2zMPczbBFNtgGElexAVTFQITiqa4NF+p8wQ"
    )
    text = Path(__file__).resolve().parents[3].joinpath("docs", "protocol.md").read_text("utf-8")
    assert number in text
