"""Business ids, slugs, display numbers and the per-business person ids."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passerelle.domain.business.ids import (
    derive_user_id,
    derive_wa_id,
    is_numeric_id,
    is_user_id,
    normalize_display_number,
    normalize_slug,
    numeric_id_from,
    token_hash,
)
from passerelle.domain.errors import InvalidInput
from passerelle.domain.ids import AccountId

PYWA_BSUID = re.compile(r"^[A-Z]{2}\.\d+$")
secrets = st.binary(min_size=32, max_size=32)
accounts = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=5, max_size=30).map(AccountId)


@pytest.mark.parametrize(
    ("raw", "slug"), [("velo-paris", "velo-paris"), ("  Velo-Paris ", "velo-paris"), ("biz:abc", "abc")]
)
def test_slugs(raw: str, slug: str) -> None:
    assert normalize_slug(raw) == slug


@pytest.mark.parametrize("raw", ["ab", "-abc", "abc-", "1abc", "a_bc", "a" * 33, "é-shop"])
def test_bad_slugs(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_slug(raw)


def test_display_numbers_keep_only_digits() -> None:
    assert normalize_display_number("+33 1 23-45-67-89") == "33123456789"
    assert normalize_display_number("(1) 555.078.3881") == "15550783881"
    for bad in ["+33", "0033123456789", "+1 555 CALL NOW", "1" * 16]:
        with pytest.raises(InvalidInput):
            normalize_display_number(bad)


@given(secrets, accounts, st.integers(0, 5))
def test_person_ids_have_the_cloud_api_forms(secret: bytes, account: AccountId, attempt: int) -> None:
    wa_id = derive_wa_id(secret, account, attempt)
    user_id = derive_user_id(secret, account, attempt)
    assert len(wa_id) == 15 and wa_id.isdigit() and wa_id[0] != "0"
    assert PYWA_BSUID.match(user_id) and user_id.startswith("ZZ.") and is_user_id(user_id)
    assert derive_wa_id(secret, account, attempt) == wa_id  # deterministic


@given(secrets, secrets, accounts)
def test_two_businesses_get_unrelated_ids(one: bytes, other: bytes, account: AccountId) -> None:
    if one != other:
        assert derive_wa_id(one, account) != derive_wa_id(other, account)
        assert derive_user_id(one, account) != derive_user_id(other, account)


@given(secrets, accounts)
def test_another_attempt_gives_another_id(secret: bytes, account: AccountId) -> None:
    assert derive_wa_id(secret, account, 0) != derive_wa_id(secret, account, 1)


@given(st.binary(min_size=8, max_size=8))
def test_numeric_ids(entropy: bytes) -> None:
    assert is_numeric_id(numeric_id_from(entropy))


def test_a_token_hash_is_the_sha256_hex() -> None:
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_no_app_may_be_called_biz() -> None:
    from passerelle.domain.apps import App, IdentityKind
    from passerelle.domain.ids import AppName

    with pytest.raises(ValueError, match="reserved"):
        App(name=AppName("biz"), display_name="Biz", identity=IdentityKind.HANDLE)
