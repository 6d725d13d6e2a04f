"""Aliases are normalised before any lookup or uniqueness check."""

from __future__ import annotations

import pytest

from passerelle.domain.addresses import (
    Address,
    normalize_alias,
    normalize_display_name,
    normalize_handle,
    normalize_phone,
    normalize_username,
    parse_address,
)
from passerelle.domain.apps import App, IdentityKind
from passerelle.domain.errors import InvalidInput
from passerelle.domain.ids import AppName


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+33612345678", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        (" +33 (0)6-12-34-56-78 ", "+33612345678"),
        ("+1 415 555 2671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_numbers_become_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["0612345678", "hello", "", "+", "33612345678"])
def test_phone_numbers_must_be_international(raw: str) -> None:
    with pytest.raises(InvalidInput, match="international format"):
        normalize_phone(raw)


@pytest.mark.parametrize("raw", ["+3361234", "+999 123 456 789", "+33 1"])
def test_phone_numbers_must_be_valid(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_phone(raw)


@pytest.mark.parametrize(
    ("raw", "handle"), [("Alice", "alice"), ("@Bob_99", "bob_99"), ("  x.y.z  ", "x.y.z"), ("abc", "abc")]
)
def test_handles_are_case_insensitive(raw: str, handle: str) -> None:
    assert normalize_handle(raw) == handle


@pytest.mark.parametrize("raw", ["ab", "a" * 31, "alice.", ".alice", "al ice", "al-ice", "élise", ""])
def test_bad_handles_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="handle"):
        normalize_handle(raw)


@pytest.mark.parametrize(
    ("raw", "username"), [("Marie.D", "marie.d"), ("jean-luc", "jean-luc"), ("@X_1", "x_1")]
)
def test_usernames_are_case_insensitive(raw: str, username: str) -> None:
    assert normalize_username(raw) == username


@pytest.mark.parametrize("raw", ["ab", "a" * 33, "-marie", "marie-", "ma rie"])
def test_bad_usernames_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="username"):
        normalize_username(raw)


def test_the_app_decides_how_an_alias_is_normalised() -> None:
    def app(identity: IdentityKind) -> App:
        return App(name=AppName("x" + identity.value), display_name="X", identity=identity)

    assert normalize_alias(app(IdentityKind.PHONE), "+33 6 12 34 56 78") == "+33612345678"
    assert normalize_alias(app(IdentityKind.HANDLE), "@Alice") == "alice"
    assert normalize_alias(app(IdentityKind.PROFILE), "Marie.D") == "marie.d"
    with pytest.raises(InvalidInput):
        normalize_alias(app(IdentityKind.PHONE), "alice")


def test_display_names_are_nfc_and_trimmed() -> None:
    assert normalize_display_name("  Zoe\u0301 ") == "Zoé"
    assert normalize_display_name("Marie Dupont 🌻") == "Marie Dupont 🌻"


@pytest.mark.parametrize("raw", ["", "   ", "a" * 65, "bad\nname", "bell\x07"])
def test_bad_display_names_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="name"):
        normalize_display_name(raw)


def test_addresses_split_on_the_first_colon() -> None:
    assert parse_address("Photo:Alice") == ("photo", "Alice")
    assert parse_address("chat:+33612345678") == ("chat", "+33612345678")
    assert str(Address(AppName("photo"), "alice")) == "photo:alice"


@pytest.mark.parametrize("raw", ["alice", ":alice", "photo:", ""])
def test_malformed_addresses_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="address"):
        parse_address(raw)
