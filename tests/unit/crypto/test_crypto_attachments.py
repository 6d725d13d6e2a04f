"""The attachment format (docs/protocol.md §8.3): a fresh key per file, segments that cannot be
altered, reordered, dropped or cut, and a hash checked before anything is decrypted."""

from __future__ import annotations

import hashlib
import io
import secrets

import pytest

from passerelle.crypto.attachments import (
    SEGMENT_BYTES,
    TAG_BYTES,
    AttachmentInvalid,
    EncryptedFile,
    check_blob,
    decrypt_file,
    decrypt_segment,
    encrypt_file,
    encrypt_path,
    encrypted_size,
    segment_count,
)


def opened(sealed: EncryptedFile, blob: bytes | None = None, *, rehash: bool = False) -> bytes:
    data = sealed.blob if blob is None else blob
    digest = hashlib.sha256(data).digest() if rehash else sealed.sha256
    return decrypt_file(data, key=sealed.key, nonce=sealed.nonce, sha256=digest, size=sealed.size)


@pytest.mark.parametrize(
    "size", [0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 3 * SEGMENT_BYTES + 7]
)
def test_round_trip_at_segment_boundaries(size: int) -> None:
    plain = bytes(range(256)) * (size // 256) + bytes(size % 256)
    sealed = encrypt_file(plain)
    assert len(sealed.blob) == encrypted_size(size)
    assert sealed.sha256 == hashlib.sha256(sealed.blob).digest()
    assert opened(sealed) == plain


def test_every_file_gets_a_fresh_key_and_nonce() -> None:
    a, b = encrypt_file(b"same"), encrypt_file(b"same")
    assert a.key != b.key and a.nonce != b.nonce and a.blob != b.blob
    assert len(a.key) == 32 and len(a.nonce) == 12
    assert "same" not in repr(a) and a.key.hex() not in repr(a)


def test_a_changed_byte_fails_the_hash_and_the_tag() -> None:
    sealed = encrypt_file(b"x" * 5000)
    flipped = bytearray(sealed.blob)
    flipped[10] ^= 1
    with pytest.raises(AttachmentInvalid, match="hash"):
        opened(sealed, bytes(flipped))
    # Even with a hash recomputed by whoever altered it, authentication fails.
    with pytest.raises(AttachmentInvalid, match="decrypt"):
        opened(sealed, bytes(flipped), rehash=True)


def test_segments_cannot_be_reordered_dropped_or_cut() -> None:
    sealed = encrypt_file(bytes(3 * SEGMENT_BYTES))
    step = SEGMENT_BYTES + TAG_BYTES
    segs = [sealed.blob[i * step : (i + 1) * step] for i in range(3)]
    swapped = segs[1] + segs[0] + segs[2]
    with pytest.raises(AttachmentInvalid):
        opened(sealed, swapped, rehash=True)
    # Dropping the last segment while claiming a shorter file: the new last one is not marked last.
    shorter = EncryptedFile(
        blob=segs[0] + segs[1],
        key=sealed.key,
        nonce=sealed.nonce,
        sha256=hashlib.sha256(segs[0] + segs[1]).digest(),
        size=2 * SEGMENT_BYTES,
    )
    with pytest.raises(AttachmentInvalid, match="decrypt"):
        opened(shorter)
    with pytest.raises(AttachmentInvalid, match="size"):
        opened(sealed, sealed.blob[:-1], rehash=True)


def test_the_wrong_key_fails() -> None:
    sealed = encrypt_file(b"secret")
    other = encrypt_file(b"secret")
    with pytest.raises(AttachmentInvalid):
        decrypt_file(sealed.blob, key=other.key, nonce=sealed.nonce, sha256=sealed.sha256, size=6)
    with pytest.raises(AttachmentInvalid):
        decrypt_file(sealed.blob, key=b"short", nonce=sealed.nonce, sha256=sealed.sha256, size=6)


@pytest.mark.parametrize(
    "size", [0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 2 * SEGMENT_BYTES + 7]
)
def test_a_file_encrypted_from_a_stream_decrypts_whole_and_by_segment(size: int) -> None:
    data = secrets.token_bytes(size)
    out = io.BytesIO()
    sealed = encrypt_path(io.BytesIO(data), out)
    blob = out.getvalue()
    assert sealed.size == size and sealed.plain_sha256 == hashlib.sha256(data).digest()
    assert len(blob) == encrypted_size(size) and sealed.sha256 == hashlib.sha256(blob).digest()
    assert decrypt_file(blob, key=sealed.key, nonce=sealed.nonce, sha256=sealed.sha256, size=size) == data
    check_blob(io.BytesIO(blob), sha256=sealed.sha256, size=size)
    step = SEGMENT_BYTES + TAG_BYTES
    parts = [
        decrypt_segment(
            blob[i * step : (i + 1) * step], key=sealed.key, nonce=sealed.nonce, index=i, size=size
        )
        for i in range(segment_count(size))
    ]
    assert b"".join(parts) == data


def test_a_stored_blob_that_changed_is_refused_before_decrypting() -> None:
    out = io.BytesIO()
    sealed = encrypt_path(io.BytesIO(b"x" * 100), out)
    blob = bytearray(out.getvalue())
    blob[5] ^= 1
    with pytest.raises(AttachmentInvalid):
        check_blob(io.BytesIO(bytes(blob)), sha256=sealed.sha256, size=100)
    with pytest.raises(AttachmentInvalid):
        decrypt_segment(bytes(blob), key=sealed.key, nonce=sealed.nonce, index=0, size=100)
    with pytest.raises(AttachmentInvalid):
        check_blob(io.BytesIO(out.getvalue()[:-1]), sha256=sealed.sha256, size=100)
