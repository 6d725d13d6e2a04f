"""The crypto package's error family. None of them carries key material or plaintext.

``DecryptionFailed`` (and its ``NoSession``) means "this envelope cannot be read here": the SDK answers
it with session recovery. ``BindingMismatch`` means the envelope decrypted but names another sender or
recipient than the one the server said: it is dropped, never recovered from.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base of every error raised on purpose by passerelle.crypto."""


class DecryptionFailed(CryptoError):
    """The envelope could not be decrypted by any session of that peer device, or is malformed."""


class NoSession(DecryptionFailed):
    """There is no Olm session with that peer device (a normal message arrived, or we want to send
    and no one-time key was supplied)."""


class BindingMismatch(CryptoError):
    """The decrypted plaintext names another sender, sender device or recipient than expected."""


class BadSignature(CryptoError):
    """An Ed25519 signature (device keys, one-time key) did not verify, or a key is malformed."""


class PickleError(CryptoError):
    """A pickle could not be opened: wrong pickle key, or corrupted data."""


class SealedDataInvalid(CryptoError):
    """At-rest data failed authentication: wrong store key, wrong associated data, or tampering."""
