"""Argon2id password hashes, computed off the event loop."""

from __future__ import annotations

from passerelle.service.accounts.passwords import dummy_verify, hash_password, needs_rehash, verify_password


async def test_a_password_verifies_against_its_hash_only() -> None:
    stored = await hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert await verify_password(stored, "correct horse battery staple")
    assert not await verify_password(stored, "Correct horse battery staple")
    assert not needs_rehash(stored)


async def test_a_malformed_hash_is_a_failed_verification() -> None:
    assert not await verify_password("not a hash", "whatever")
    assert needs_rehash("not a hash")


async def test_the_dummy_verification_returns_quietly() -> None:
    await dummy_verify("anything")


async def test_two_hashes_of_one_password_differ() -> None:
    assert await hash_password("same password") != await hash_password("same password")
