"""StoreKey: a 0600 key file or a passphrase, AES-256-GCM sealing with associated data."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from passerelle.crypto import SealedDataInvalid, StoreKey


def test_key_file_is_private_and_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "store.key"
    key = StoreKey.create_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == 32
    with pytest.raises(FileExistsError):
        StoreKey.create_file(path)
    loaded = StoreKey.load_file(path)
    assert loaded.open(key.seal(b"data", b"aad"), b"aad") == b"data"
    assert "secret" in repr(key)
    assert path.read_bytes().hex() not in repr(key)


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.key"
    StoreKey.create_file(path)
    path.chmod(0o644)
    with pytest.raises(PermissionError):
        StoreKey.load_file(path)


def test_passphrase_key_needs_the_same_passphrase_and_salt(tmp_path: Path) -> None:
    salt = tmp_path / "store.salt"
    key = StoreKey.from_passphrase("correct horse", salt)
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600
    sealed = key.seal(b"secret history", b"msg:1")
    assert StoreKey.from_passphrase("correct horse", salt).open(sealed, b"msg:1") == b"secret history"
    with pytest.raises(SealedDataInvalid):
        StoreKey.from_passphrase("wrong horse", salt).open(sealed, b"msg:1")
    with pytest.raises(SealedDataInvalid):
        StoreKey.from_passphrase("correct horse", tmp_path / "other.salt").open(sealed, b"msg:1")


def test_tampering_wrong_aad_and_truncation_are_detected() -> None:
    key = StoreKey.generate()
    sealed = key.seal(b"hello", b"row:1")
    assert b"hello" not in sealed
    assert key.seal(b"hello", b"row:1") != sealed  # a fresh nonce every time
    flipped = bytearray(sealed)
    flipped[20] ^= 1
    for bad, aad in ((bytes(flipped), b"row:1"), (sealed, b"row:2"), (sealed[:10], b"row:1")):
        with pytest.raises(SealedDataInvalid):
            key.open(bad, aad)
    with pytest.raises(SealedDataInvalid):
        StoreKey.generate().open(sealed, b"row:1")


def test_subkeys_are_independent_and_stable() -> None:
    key = StoreKey.generate()
    assert key.subkey("pickle") == key.subkey("pickle")
    assert key.subkey("pickle") != key.subkey("other")
    assert len(key.subkey("pickle")) == 32
