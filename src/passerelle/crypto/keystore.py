"""StoreKey: the key that protects a device's state at rest (its local store and its pickles).

Either a random 32-byte key kept in a file created with mode 0600 (``O_CREAT | O_EXCL``, so an
existing file is never silently replaced), or a key derived from a passphrase with scrypt
(n=2**15, r=8, p=1) and a random 16-byte salt kept in a 0600 file next to the store. Data is sealed
with AES-256-GCM and a random 96-bit nonce; the associated data binds a ciphertext to where it is
stored, so rows cannot be swapped unnoticed. Sub-keys (the vodozemac pickle key) come from HKDF.

These functions read and write files: async callers run them in a thread.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from passerelle.crypto.errors import SealedDataInvalid

KEY_BYTES = 32
NONCE_BYTES = 12
SALT_BYTES = 16
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_VERSION = b"\x01"


class StoreKey:
    """A 32-byte key that seals and opens data at rest. Never printed, never logged."""

    __slots__ = ("_aead", "_key")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("a store key has 32 bytes")
        self._key = key
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "StoreKey(<secret>)"

    @classmethod
    def generate(cls) -> StoreKey:
        """A random key that lives only in memory."""
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def create_file(cls, path: Path) -> StoreKey:
        """Create ``path`` (mode 0600; fails if it exists) holding a new random key."""
        key = secrets.token_bytes(KEY_BYTES)
        _write_new_private_file(path, key)
        return cls(key)

    @classmethod
    def load_file(cls, path: Path) -> StoreKey:
        """Read a key file; refuse one that other users could read."""
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise PermissionError(f"{path} must be readable by its owner only (chmod 600)")
        return cls(path.read_bytes())

    @classmethod
    def from_passphrase(cls, passphrase: str, salt_path: Path) -> StoreKey:
        """Derive the key with scrypt; the salt file is created (0600) on first use."""
        if not passphrase:
            raise ValueError("the passphrase is empty")
        try:
            salt = salt_path.read_bytes()
        except FileNotFoundError:
            salt = secrets.token_bytes(SALT_BYTES)
            _write_new_private_file(salt_path, salt)
        key = hashlib.scrypt(
            passphrase.encode(),
            salt=salt,
            n=SCRYPT_N,
            r=SCRYPT_R,
            p=SCRYPT_P,
            maxmem=_SCRYPT_MAXMEM,
            dklen=32,
        )
        return cls(key)

    def subkey(self, label: str) -> bytes:
        """An independent 32-byte key for one purpose (HKDF-SHA256, info = ``label``)."""
        hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=label.encode())
        return hkdf.derive(self._key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """``version || nonce || AES-256-GCM(plaintext, aad)``."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        """Raises SealedDataInvalid when the key or ``aad`` is wrong or the data was altered."""
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != _VERSION:
            raise SealedDataInvalid("sealed data is truncated or of an unknown version")
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, aad)
        except InvalidTag as exc:
            raise SealedDataInvalid("sealed data failed authentication") from exc


def _write_new_private_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask may have removed bits, never added them; be explicit anyway
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
