"""Olm: pairwise encryption between two devices (docs/protocol.md §6).

Rules
1. Pre-key messages (type 0) go first to an existing session that matches them
   (``session_matches``): the initiator keeps sending type 0 until it has decrypted a reply, and the
   one-time key they name was consumed by the first one. Only when none matches is an inbound session
   created (vodozemac removes the consumed one-time key itself; a fallback key stays).
2. Normal messages (type 1) carry no session id, so every session of that peer device is tried, most
   recently used first. A failed vodozemac decrypt leaves the session unchanged.
3. A decryption is all or nothing: when the plaintext is malformed or its binding is wrong, the
   session is put back as it was (or the new inbound session is dropped) before the error is raised.
4. Replay protection is inherent to Olm: each message key is derived once and deleted after use, so a
   replayed envelope fails to decrypt (``DecryptionFailed``). The SDK still dedupes by server message
   id *before* decrypting, so that a redelivered mailbox item never reaches this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import vodozemac as vz

from passerelle.crypto.encoding import b64decode, b64encode
from passerelle.crypto.envelope import (
    NORMAL,
    OLM_ALGORITHM,
    PREKEY,
    DecryptedEvent,
    Envelope,
    LocalDevice,
    check_binding,
    parse_plaintext,
    plaintext_bytes,
)
from passerelle.crypto.errors import BadSignature, BindingMismatch, CryptoError, DecryptionFailed, NoSession
from passerelle.crypto.keys import ClaimedKey, PeerDevice
from passerelle.crypto.sessions import SessionBook, _Entry
from passerelle.domain.ids import AccountId, ConversationId, DeviceId


def create_outbound(account: vz.Account, book: SessionBook, peer: PeerDevice, otk: ClaimedKey) -> str:
    """Start a new session to ``peer`` from a claimed (and verified) one-time key; it becomes the one
    we send on. Returns its session id."""
    try:
        identity = vz.Curve25519PublicKey.from_base64(peer.curve25519)
        one_time = vz.Curve25519PublicKey.from_base64(otk.key)
    except (vz.KeyException, vz.DecodeException) as exc:
        raise BadSignature("malformed curve25519 key") from exc
    session = account.create_outbound_session(identity, one_time)
    return book.add(peer.curve25519, session).session.session_id


def encrypt(
    account: vz.Account,
    book: SessionBook,
    me: LocalDevice,
    peer: PeerDevice,
    plaintext: Mapping[str, Any],
    *,
    one_time_key: ClaimedKey | None,
) -> dict[str, Any]:
    """Encrypt for one peer device on its newest session, creating one from ``one_time_key`` when
    there is none. Returns the envelope as a JSON-ready dict."""
    entry = book.newest(peer.curve25519)
    if entry is None:
        if one_time_key is None:
            raise NoSession("no Olm session with that device and no one-time key to start one")
        create_outbound(account, book, peer, one_time_key)
        entry = book.newest(peer.curve25519)
        assert entry is not None
    message = entry.session.encrypt(plaintext_bytes(me, peer, plaintext))
    book.changed(entry)
    mtype, raw = message.to_parts()
    return {
        "algorithm": OLM_ALGORITHM,
        "sender_key": account.curve25519_key.to_base64(),
        "ciphertext": {peer.curve25519: {"type": mtype, "body": b64encode(raw)}},
    }


def decrypt(
    account: vz.Account,
    book: SessionBook,
    me: LocalDevice,
    my_curve25519: str,
    env: Envelope,
    sender: PeerDevice,
    pickle_key: bytes,
) -> DecryptedEvent:
    """Decrypt the part of ``env`` addressed to this device and check its binding to ``sender``."""
    if env.sender_key != sender.curve25519:
        raise BindingMismatch("the envelope's sender key is not the sender device's key")
    part = env.ciphertext.get(my_curve25519)
    if part is None:
        raise DecryptionFailed("the envelope has no ciphertext for this device")
    try:
        raw = b64decode(part.body)
    except ValueError as exc:
        raise DecryptionFailed("malformed ciphertext") from exc
    if part.type == PREKEY:
        return _decrypt_prekey(account, book, me, raw, sender, pickle_key)
    if part.type == NORMAL:
        return _decrypt_normal(book, me, raw, sender, pickle_key)
    raise DecryptionFailed(f"unknown Olm message type {part.type}")


def _decrypt_prekey(
    account: vz.Account, book: SessionBook, me: LocalDevice, raw: bytes, sender: PeerDevice, key: bytes
) -> DecryptedEvent:
    try:
        message = vz.AnyOlmMessage.from_parts(PREKEY, raw)
        prekey = message.to_pre_key()
    except vz.DecodeException as exc:
        raise DecryptionFailed("malformed pre-key message") from exc
    if prekey is None:
        raise DecryptionFailed("malformed pre-key message")
    for entry in book.for_peer(sender.curve25519):
        if entry.session.session_matches(prekey):
            return _decrypt_with(book, entry, me, message, sender, key)
    try:
        identity = vz.Curve25519PublicKey.from_base64(sender.curve25519)
        session, plain = account.create_inbound_session(identity, prekey)
    except (vz.SessionCreationException, vz.KeyException, vz.DecodeException) as exc:
        raise DecryptionFailed("cannot create an inbound session from this pre-key message") from exc
    event = _verified(plain, me, sender, session.session_id, new_session=True)
    book.add(sender.curve25519, session)
    return event


def _decrypt_normal(
    book: SessionBook, me: LocalDevice, raw: bytes, sender: PeerDevice, key: bytes
) -> DecryptedEvent:
    try:
        message = vz.AnyOlmMessage.from_parts(NORMAL, raw)
    except vz.DecodeException as exc:
        raise DecryptionFailed("malformed Olm message") from exc
    entries = book.for_peer(sender.curve25519)
    if not entries:
        raise NoSession("no Olm session with the sender device")
    for entry in entries:
        try:
            return _decrypt_with(book, entry, me, message, sender, key)
        except _WrongSession:
            continue
    raise DecryptionFailed("no session with the sender device decrypts this message")


class _WrongSession(Exception):
    pass


def _decrypt_with(
    book: SessionBook,
    entry: _Entry,
    me: LocalDevice,
    message: vz.AnyOlmMessage,
    sender: PeerDevice,
    key: bytes,
) -> DecryptedEvent:
    before = entry.session.pickle(key)
    try:
        plain = entry.session.decrypt(message)
    except vz.OlmDecryptionException as exc:
        if message.to_parts()[0] == PREKEY:
            raise DecryptionFailed("the matching session cannot decrypt this pre-key message") from exc
        raise _WrongSession from exc
    try:
        event = _verified(plain, me, sender, entry.session.session_id, new_session=False)
    except CryptoError:
        entry.session = vz.Session.from_pickle(before, key)
        raise
    book.touch(entry)
    return event


def _verified(
    plain: bytes, me: LocalDevice, sender: PeerDevice, session_id: str, *, new_session: bool
) -> DecryptedEvent:
    parsed = parse_plaintext(plain)
    check_binding(parsed, me=me, sender=sender)
    return DecryptedEvent(
        type=parsed.type,
        conv=ConversationId(parsed.conv),
        content=parsed.content,
        sender=AccountId(parsed.sender),
        sender_device=DeviceId(parsed.sender_device),
        session_id=session_id,
        new_session=new_session,
    )
