"""DeviceCrypto: one device's Olm account (its identity keys and one-time keys) and its Olm sessions.

This is the only stateful object passerelle.crypto exports. It takes and returns str, bytes, dicts
and dataclasses; vodozemac objects never leave the package. State leaves it only as encrypted
pickles: ``pickle()`` for the account and ``take_changes()`` for what changed since the last call,
which the caller must persist *before* acting on the result (uploading keys it just generated,
sending an envelope it just encrypted), so that a crash can never reuse a message key or lose the
private half of a published one-time key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import vodozemac as vz

from passerelle.crypto import olm
from passerelle.crypto.envelope import PREKEY, DecryptedEvent, LocalDevice, parse_envelope
from passerelle.crypto.errors import CryptoError, PickleError
from passerelle.crypto.keys import (
    ClaimedKey,
    IdentityKeys,
    PeerDevice,
    device_keys_payload,
    login_payload,
    one_time_key_payload,
)
from passerelle.crypto.sessions import PickledSession, SessionBook
from passerelle.domain.ids import AccountId, DeviceId

PICKLE_KEY_BYTES = 32


class _WithFallbackKey(Protocol):
    """vodozemac 0.10 has these on Account, but its type stub does not list them."""

    @property
    def fallback_key(self) -> dict[str, vz.Curve25519PublicKey]: ...

    def generate_fallback_key(self) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CryptoChanges:
    """What to persist after an operation: the account pickle if it changed, changed session pickles,
    and ids of sessions that were dropped."""

    account_pickle: str | None = None
    sessions: list[PickledSession] = field(default_factory=list)
    removed_sessions: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.account_pickle is None and not self.sessions and not self.removed_sessions


class DeviceCrypto:
    """One device's keys and Olm sessions."""

    __slots__ = ("_account", "_account_dirty", "_book", "_key", "_owner")

    def __init__(self, account: vz.Account, pickle_key: bytes, book: SessionBook) -> None:
        self._account = account
        self._key = pickle_key
        self._book = book
        self._account_dirty = False
        self._owner: LocalDevice | None = None

    @classmethod
    def new(cls, pickle_key: bytes) -> DeviceCrypto:
        """A fresh device: new identity keys, no one-time keys, no sessions."""
        _check_key(pickle_key)
        crypto = cls(vz.Account(), pickle_key, SessionBook())
        crypto._account_dirty = True
        return crypto

    @classmethod
    def from_pickle(
        cls, pickle: str, pickle_key: bytes, *, sessions: Iterable[PickledSession] = ()
    ) -> DeviceCrypto:
        """Restore a device from its account pickle and its session pickles.

        Raises:
            PickleError: the pickle key is wrong or a pickle is corrupted.
        """
        _check_key(pickle_key)
        try:
            account = vz.Account.from_pickle(pickle, pickle_key)
        except vz.PickleException as exc:
            raise PickleError("the account pickle cannot be opened with this key") from exc
        book = SessionBook()
        book.load(sessions, pickle_key)
        return cls(account, pickle_key, book)

    def pickle(self) -> str:
        """The account (identity and one-time keys), encrypted with the pickle key."""
        return self._account.pickle(self._key)

    # --- identity ---------------------------------------------------------------------------

    @property
    def identity_keys(self) -> IdentityKeys:
        return IdentityKeys(curve25519=self.curve25519, ed25519=self.ed25519)

    @property
    def curve25519(self) -> str:
        return self._account.curve25519_key.to_base64()

    @property
    def ed25519(self) -> str:
        return self._account.ed25519_key.to_base64()

    def set_owner(self, account: AccountId, device_id: DeviceId) -> None:
        """Who this device is on the server (known after registration); needed to encrypt and decrypt."""
        self._owner = LocalDevice(account=account, device_id=device_id, ed25519=self.ed25519)

    @property
    def owner(self) -> LocalDevice:
        if self._owner is None:
            raise CryptoError("set_owner() must be called before encrypting or decrypting")
        return self._owner

    def sign(self, message: bytes) -> str:
        """The device's Ed25519 signature over ``message`` (canonical JSON bytes), unpadded base64."""
        return self._account.sign(message).to_base64()

    def device_keys(self, name: str) -> dict[str, str]:
        """The signed ``device`` object published at registration (docs/protocol.md §4.2)."""
        curve, ed = self.curve25519, self.ed25519
        signature = self.sign(device_keys_payload(name=name, curve25519=curve, ed25519=ed))
        return {"name": name, "curve25519": curve, "ed25519": ed, "signature": signature}

    def login_signature(self, *, challenge: str, device_id: str) -> str:
        """The signature that answers a login challenge (§4.5)."""
        return self.sign(login_payload(challenge=challenge, device_id=device_id))

    # --- one-time and fallback keys ---------------------------------------------------------

    @property
    def max_one_time_keys(self) -> int:
        """How many one-time keys vodozemac advises to keep published (50)."""
        return self._account.max_number_of_one_time_keys

    def generate_one_time_keys(self, count: int) -> list[dict[str, str]]:
        """Generate ``count`` one-time keys, mark them published and return them signed (§4.7) as
        ``{"key_id", "key", "signature"}``. Persist ``pickle()`` before uploading them."""
        if not 0 < count <= self.max_one_time_keys:
            raise ValueError(f"generate between 1 and {self.max_one_time_keys} one-time keys at a time")
        self._account.generate_one_time_keys(count)
        keys = [self._signed(key_id, key) for key_id, key in self._account.one_time_keys.items()]
        self._account.mark_keys_as_published()
        self._account_dirty = True
        return keys

    def generate_fallback_key(self) -> dict[str, str]:
        """A new fallback key, signed (§4.7); the previous one stays usable until the next rotation."""
        account = cast(_WithFallbackKey, self._account)
        account.generate_fallback_key()
        (key_id, key), *_ = account.fallback_key.items()
        self._account.mark_keys_as_published()
        self._account_dirty = True
        return self._signed(key_id, key)

    def _signed(self, key_id: str, key: vz.Curve25519PublicKey) -> dict[str, str]:
        text = key.to_base64()
        return {"key_id": key_id, "key": text, "signature": self.sign(one_time_key_payload(text))}

    # --- Olm sessions -----------------------------------------------------------------------

    def has_session(self, peer: PeerDevice) -> bool:
        return self._book.newest(peer.curve25519) is not None

    def session_ids(self, peer: PeerDevice) -> list[str]:
        """Ids of the sessions with that device, the one we send on first."""
        return self._book.session_ids(peer.curve25519)

    def create_outbound_session(self, peer: PeerDevice, one_time_key: ClaimedKey) -> str:
        """Start a new session to ``peer`` (even if one exists: used to recover from a broken one);
        the next ``encrypt`` for that device uses it. Returns the session id."""
        return olm.create_outbound(self._account, self._book, peer, one_time_key)

    def encrypt(
        self, peer: PeerDevice, plaintext: Mapping[str, Any], *, one_time_key: ClaimedKey | None = None
    ) -> dict[str, Any]:
        """Encrypt ``{"type", "conv", "content"}`` for one device; the binding members are added.

        Returns:
            The envelope ``{"algorithm", "sender_key", "ciphertext": {curve25519: {"type", "body"}}}``.

        Raises:
            NoSession: no session with that device and no ``one_time_key`` to start one.
        """
        return olm.encrypt(self._account, self._book, self.owner, peer, plaintext, one_time_key=one_time_key)

    def decrypt(self, envelope: Mapping[str, Any] | bytes | str, sender: PeerDevice) -> DecryptedEvent:
        """Decrypt an envelope the server says ``sender`` sent to this device, and verify its binding.

        Raises:
            NoSession: a normal message from a device we have no session with.
            DecryptionFailed: malformed, not for this device, or no session can decrypt it.
            BindingMismatch: it decrypted, but names another sender, sender key or recipient.
        """
        env = parse_envelope(envelope)
        try:
            return olm.decrypt(self._account, self._book, self.owner, self.curve25519, env, sender, self._key)
        finally:
            # A pre-key message may have consumed a one-time key, even when decryption then failed.
            part = env.ciphertext.get(self.curve25519)
            if part is not None and part.type == PREKEY:
                self._account_dirty = True

    def forget_sessions(self, peer: PeerDevice) -> None:
        """Drop every session with that device (it was removed, or its sessions are known broken)."""
        self._book.forget_peer(peer.curve25519)

    def take_changes(self) -> CryptoChanges:
        """Everything that changed since the last call, as pickles to persist."""
        sessions, removed = self._book.take_changes(self._key)
        account = self.pickle() if self._account_dirty else None
        self._account_dirty = False
        return CryptoChanges(account_pickle=account, sessions=sessions, removed_sessions=removed)


def _check_key(pickle_key: bytes) -> None:
    if len(pickle_key) != PICKLE_KEY_BYTES:
        raise ValueError("a pickle key has 32 bytes")
