"""Encrypting files for upload: a fresh AES-256-GCM key per file, in segments (docs/protocol.md §8.3).

Format ``passerelle.aes-256-gcm.v1``:
- the plaintext is cut into segments of ``SEGMENT_BYTES`` (1 MiB); the last one may be shorter, and
  an empty file is one empty segment;
- segment ``i`` (from 0) is sealed with AES-256-GCM under the file key, with the nonce
  ``nonce[:8] || (nonce[8:] XOR i as 4 big-endian bytes)`` and the associated data
  ``b"passerelle-media\\0" || i as 4 big-endian bytes || 1 byte: 1 for the last segment, else 0``,
  so segments cannot be reordered, dropped or the file cut short without failing authentication;
- the blob is the concatenation of every sealed segment (its ciphertext and 16-byte tag): its size is
  ``size + 16 * segments``;
- ``sha256`` is the SHA-256 of the whole blob. The receiver checks it (and the size) before
  decrypting anything, so a tampered blob is refused without being parsed.

The key (32 bytes) and the base nonce (12 bytes) are random and travel only inside the end-to-end
encrypted message. Never log them, or what passes through here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from passerelle.crypto.errors import CryptoError

ALGORITHM = "passerelle.aes-256-gcm.v1"
SEGMENT_BYTES = 1024 * 1024
TAG_BYTES = 16
KEY_BYTES = 32
NONCE_BYTES = 12
_AAD = b"passerelle-media\x00"


class AttachmentInvalid(CryptoError):
    """The blob is not what the message described: wrong size or hash, or it fails to decrypt."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EncryptedFile:
    """What an upload needs (``blob``) and what the message must carry (everything else)."""

    blob: bytes
    key: bytes
    nonce: bytes
    sha256: bytes
    size: int
    """The plaintext size in bytes."""

    def __repr__(self) -> str:
        return f"EncryptedFile(<{len(self.blob)} bytes, secret key>)"


def segment_count(size: int) -> int:
    return max(1, -(-size // SEGMENT_BYTES))


def encrypted_size(size: int) -> int:
    """The size of the blob for a plaintext of ``size`` bytes."""
    return size + TAG_BYTES * segment_count(size)


def _nonce(base: bytes, index: int) -> bytes:
    tail = int.from_bytes(base[8:], "big") ^ index
    return base[:8] + tail.to_bytes(4, "big")


def _aad(index: int, last: bool) -> bytes:
    return _AAD + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def encrypt_file(plaintext: bytes) -> EncryptedFile:
    """Encrypt under a fresh random key and nonce. CPU-bound: call it in a worker thread."""
    key = secrets.token_bytes(KEY_BYTES)
    nonce = secrets.token_bytes(NONCE_BYTES)
    aead = AESGCM(key)
    count = segment_count(len(plaintext))
    view = memoryview(plaintext)
    sealed: list[bytes] = []
    for i in range(count):
        segment = view[i * SEGMENT_BYTES : (i + 1) * SEGMENT_BYTES]
        sealed.append(aead.encrypt(_nonce(nonce, i), bytes(segment), _aad(i, i == count - 1)))
    blob = b"".join(sealed)
    return EncryptedFile(
        blob=blob, key=key, nonce=nonce, sha256=hashlib.sha256(blob).digest(), size=len(plaintext)
    )


def decrypt_file(blob: bytes, *, key: bytes, nonce: bytes, sha256: bytes, size: int) -> bytes:
    """Check the blob against the message's hash and size, then decrypt it. CPU-bound (thread).

    Raises:
        AttachmentInvalid: wrong size or hash, or a segment fails authentication.
    """
    if len(key) != KEY_BYTES or len(nonce) != NONCE_BYTES or size < 0:
        raise AttachmentInvalid("the attachment's key material is malformed")
    if len(blob) != encrypted_size(size):
        raise AttachmentInvalid("the blob does not have the size the message announced")
    if not hmac.compare_digest(hashlib.sha256(blob).digest(), sha256):
        raise AttachmentInvalid("the blob does not match the hash the message carried")
    aead = AESGCM(key)
    count = segment_count(size)
    step = SEGMENT_BYTES + TAG_BYTES
    view = memoryview(blob)
    parts: list[bytes] = []
    try:
        for i in range(count):
            segment = bytes(view[i * step : (i + 1) * step])
            parts.append(aead.decrypt(_nonce(nonce, i), segment, _aad(i, i == count - 1)))
    except InvalidTag as exc:
        raise AttachmentInvalid("the blob fails to decrypt") from exc
    return b"".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class SealedFile:
    """A file encrypted from one path to another (``encrypt_path``): what a message must carry, and
    the SHA-256 of the plaintext (the Cloud API's ``sha256`` of a media)."""

    key: bytes
    nonce: bytes
    sha256: bytes
    size: int
    plain_sha256: bytes

    def __repr__(self) -> str:
        return f"SealedFile(<{self.size} bytes, secret key>)"


def encrypt_path(source: BinaryIO, target: BinaryIO) -> SealedFile:
    """Encrypt ``source`` into ``target`` in the format above, one segment in memory at a time, under
    a fresh key and nonce. Blocking file I/O and CPU: call it in a worker thread."""
    key = secrets.token_bytes(KEY_BYTES)
    nonce = secrets.token_bytes(NONCE_BYTES)
    aead = AESGCM(key)
    blob_hash, plain_hash = hashlib.sha256(), hashlib.sha256()
    size, index = 0, 0
    segment = source.read(SEGMENT_BYTES)
    while True:
        following = source.read(SEGMENT_BYTES) if len(segment) == SEGMENT_BYTES else b""
        last = not following
        sealed = aead.encrypt(_nonce(nonce, index), segment, _aad(index, last))
        target.write(sealed)
        blob_hash.update(sealed)
        plain_hash.update(segment)
        size += len(segment)
        if last:
            break
        segment, index = following, index + 1
    return SealedFile(
        key=key, nonce=nonce, sha256=blob_hash.digest(), size=size, plain_sha256=plain_hash.digest()
    )


def check_blob(blob: BinaryIO, *, sha256: bytes, size: int) -> None:
    """Check a stored blob's size and hash before decrypting it in segments (``decrypt_segment``).

    Raises:
        AttachmentInvalid: wrong size or hash.
    """
    digest, total = hashlib.sha256(), 0
    while chunk := blob.read(SEGMENT_BYTES):
        digest.update(chunk)
        total += len(chunk)
    if total != encrypted_size(size) or not hmac.compare_digest(digest.digest(), sha256):
        raise AttachmentInvalid("the blob does not match the size and hash it was stored with")


def decrypt_segment(sealed: bytes, *, key: bytes, nonce: bytes, index: int, size: int) -> bytes:
    """Decrypt segment ``index`` of a blob of a ``size``-byte plaintext (``SEGMENT_BYTES + TAG_BYTES``
    of it; less for the last). Raises AttachmentInvalid when it fails authentication."""
    try:
        return AESGCM(key).decrypt(
            _nonce(nonce, index), sealed, _aad(index, index == segment_count(size) - 1)
        )
    except InvalidTag as exc:
        raise AttachmentInvalid("the blob fails to decrypt") from exc
