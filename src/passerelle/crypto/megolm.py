"""Megolm group sessions (Matrix ``m.megolm.v1.aes-sha2``), docs/protocol.md section 10.4.

Rules
1. One outbound session per group for this device. Its key is shared over Olm (``p.room_key``, the
   signed v2 ``session_key``) with every member device that lacks it. A fresh outbound session also
   gets an inbound copy here, so this device can later export it (v1 key) for a member's request.
2. Inbound sessions are keyed by (sender device curve25519, session id) and bound, when received, to
   the sender account and device that shared them over Olm and to one group. A message decrypts only
   if it comes from that device in that group: a member cannot speak in another's name.
3. Megolm does not detect replays, so (sender key, session id, message index) seen here are kept and
   a second message with the same triple is refused.
4. State leaves only as pickles encrypted with the pickle key (``take_changes``), to be persisted
   before acting on what an operation produced (sending the envelope it encrypted).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import vodozemac as vz

from passerelle.crypto.errors import BindingMismatch, DecryptionFailed, PickleError
from passerelle.crypto.keys import PeerDevice

MEGOLM_ALGORITHM = "m.megolm.v1.aes-sha2"
_VZ_ERRORS = (
    vz.DecodeException,
    vz.KeyException,
    vz.MegolmDecryptionException,
    vz.SessionKeyDecodeException,
    ValueError,
)


class UnknownSession(DecryptionFailed):
    """No inbound session for this (sender key, session id): ask the sender for its key."""


class Replayed(DecryptionFailed):
    """This (sender key, session id, message index) was decrypted here before."""


class GroupEnvelope(msgspec.Struct, frozen=True):
    algorithm: str
    sender_key: str
    device_id: str
    session_id: str
    ciphertext: str


class _Plain(msgspec.Struct, frozen=True):
    type: str
    conv: str
    content: dict[str, Any]


_envelope = msgspec.json.Decoder(GroupEnvelope)
_plain = msgspec.json.Decoder(_Plain)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundState:
    conv: str
    session_id: str
    created_at: int
    sent: int
    """Messages encrypted with it (the rotation counter)."""
    shared: frozenset[str]
    """Device ids that were given its key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PickledOutbound:
    state: OutboundState
    pickle: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PickledInbound:
    sender_key: str
    session_id: str
    conv: str
    sender: str
    sender_device: str
    pickle: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupChanges:
    outbound: list[PickledOutbound] = field(default_factory=list)
    dropped_outbound: list[str] = field(default_factory=list)
    inbound: list[PickledInbound] = field(default_factory=list)
    seen: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.outbound or self.dropped_outbound or self.inbound or self.seen)


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupDecrypted:
    type: str
    conv: str
    content: dict[str, Any]
    session_id: str
    index: int


class _Inbound:
    __slots__ = ("conv", "sender", "sender_device", "session")

    def __init__(self, session: vz.InboundGroupSession, conv: str, sender: str, sender_device: str) -> None:
        self.session = session
        self.conv = conv
        self.sender = sender
        self.sender_device = sender_device


def parse_group_envelope(data: bytes | str) -> GroupEnvelope:
    try:
        env = _envelope.decode(data)
    except (msgspec.MsgspecError, RecursionError) as exc:  # RecursionError: absurdly deep JSON
        raise DecryptionFailed("malformed group envelope") from exc
    if env.algorithm != MEGOLM_ALGORITHM:
        raise DecryptionFailed("not a Megolm envelope")
    return env


class GroupCrypto:
    """This device's Megolm sessions. Its owner (account, device, curve25519) is fixed."""

    def __init__(self, pickle_key: bytes, *, account: str, device_id: str, curve25519: str) -> None:
        self._key = pickle_key
        self._account = account
        self._device_id = device_id
        self._curve = curve25519
        self._outbound: dict[str, tuple[vz.GroupSession, OutboundState]] = {}
        self._inbound: dict[tuple[str, str], _Inbound] = {}
        self._seen: set[tuple[str, str, int]] = set()
        self._changes = GroupChanges()

    def load(
        self,
        outbound: Iterable[PickledOutbound],
        inbound: Iterable[PickledInbound],
        seen: Iterable[tuple[str, str, int]],
    ) -> None:
        try:
            for o in outbound:
                self._outbound[o.state.conv] = (vz.GroupSession.from_pickle(o.pickle, self._key), o.state)
            for i in inbound:
                session = vz.InboundGroupSession.from_pickle(i.pickle, self._key)
                self._inbound[(i.sender_key, i.session_id)] = _Inbound(
                    session, i.conv, i.sender, i.sender_device
                )
        except vz.PickleException as exc:
            raise PickleError("a Megolm session pickle cannot be opened with this key") from exc
        self._seen.update(seen)

    # --- outbound ---------------------------------------------------------------------------------

    def outbound(self, conv: str) -> OutboundState | None:
        found = self._outbound.get(conv)
        return found[1] if found else None

    def session_key(self, conv: str) -> tuple[str, str]:
        """(session id, session key at the current index) of the group's outbound session."""
        session, _ = self._outbound[conv]
        return session.session_id, session.session_key.to_base64()

    def new_outbound(self, conv: str, now_ms: int) -> OutboundState:
        """Start a new outbound session for ``conv`` (the previous one is forgotten for sending)."""
        session = vz.GroupSession()
        state = OutboundState(
            conv=conv, session_id=session.session_id, created_at=now_ms, sent=0, shared=frozenset()
        )
        inbound = vz.InboundGroupSession(session.session_key)
        self._inbound[(self._curve, session.session_id)] = _Inbound(
            inbound, conv, self._account, self._device_id
        )
        self._changes.inbound.append(self._pickled_inbound(self._curve, session.session_id))
        self._set_outbound(session, state)
        return state

    def discard_outbound(self, conv: str) -> None:
        """Stop sending on the group's session (a member or device left): the next send rotates."""
        if self._outbound.pop(conv, None) is not None:
            self._changes.dropped_outbound.append(conv)

    def mark_shared(self, conv: str, device_ids: Iterable[str]) -> None:
        session, state = self._outbound[conv]
        self._set_outbound(session, _replace(state, shared=state.shared | frozenset(device_ids)))

    def encrypt(self, conv: str, kind: str, content: Mapping[str, Any]) -> dict[str, str]:
        """The envelope ``{algorithm, sender_key, device_id, session_id, ciphertext}`` of one event."""
        session, state = self._outbound[conv]
        plaintext = json.dumps({"type": kind, "conv": conv, "content": content}, ensure_ascii=False).encode()
        ciphertext = session.encrypt(plaintext).to_base64()
        self._set_outbound(session, _replace(state, sent=state.sent + 1))
        return {
            "algorithm": MEGOLM_ALGORITHM,
            "sender_key": self._curve,
            "device_id": self._device_id,
            "session_id": session.session_id,
            "ciphertext": ciphertext,
        }

    def _set_outbound(self, session: vz.GroupSession, state: OutboundState) -> None:
        self._outbound[state.conv] = (session, state)
        self._changes.outbound.append(PickledOutbound(state=state, pickle=session.pickle(self._key)))

    # --- inbound ----------------------------------------------------------------------------------

    def has_inbound(self, sender_key: str, session_id: str) -> bool:
        return (sender_key, session_id) in self._inbound

    def add_room_key(self, sender: PeerDevice, conv: str, session_id: str, session_key: str) -> bool:
        """A ``p.room_key`` that ``sender`` sent over Olm. False when it is malformed or its id lies."""
        try:
            session = vz.InboundGroupSession(vz.SessionKey(session_key))
        except _VZ_ERRORS:
            return False
        return self._add_inbound(sender, conv, session_id, session)

    def add_exported_key(self, sender: PeerDevice, conv: str, session_id: str, exported_key: str) -> bool:
        """A ``p.forwarded_room_key`` from the session's own sender device (the answer to a request)."""
        try:
            session = vz.InboundGroupSession.import_session(vz.ExportedSessionKey(exported_key))
        except _VZ_ERRORS:
            return False
        return self._add_inbound(sender, conv, session_id, session)

    def _add_inbound(
        self, sender: PeerDevice, conv: str, session_id: str, session: vz.InboundGroupSession
    ) -> bool:
        if session.session_id != session_id:
            return False
        key = (sender.curve25519, session_id)
        known = self._inbound.get(key)
        if known is not None:
            if (known.conv, known.sender, known.sender_device) != (conv, sender.account, sender.device_id):
                return False
            if known.session.first_known_index <= session.first_known_index:
                return True  # what we hold already opens at least as much
        self._inbound[key] = _Inbound(session, conv, sender.account, sender.device_id)
        self._changes.inbound.append(self._pickled_inbound(*key))
        return True

    def export_own(self, conv: str, session_id: str, index: int) -> str | None:
        """A v1 export of one of this device's own sessions of ``conv`` from ``index`` on (for a
        member that asked); None when this device never sent on such a session."""
        found = self._inbound.get((self._curve, session_id))
        if found is None or found.conv != conv:
            return None
        exported = found.session.export_at(max(index, found.session.first_known_index))
        return exported.to_base64() if exported is not None else None

    def decrypt(self, envelope: bytes | str, sender: PeerDevice, conv: str) -> GroupDecrypted:
        """Decrypt a group body the server says ``sender`` sent in ``conv``.

        Raises:
            UnknownSession: no key for this session yet (ask the sender).
            Replayed: this message was decrypted here before.
            DecryptionFailed: malformed, or the session cannot decrypt it.
            BindingMismatch: the session or the plaintext belongs to another sender or group.
        """
        env = parse_group_envelope(envelope)
        if env.sender_key != sender.curve25519 or env.device_id != sender.device_id:
            raise BindingMismatch("the envelope names another sender device")
        found = self._inbound.get((env.sender_key, env.session_id))
        if found is None:
            raise UnknownSession("no key for this group session yet")
        if (found.conv, found.sender, found.sender_device) != (conv, sender.account, sender.device_id):
            raise BindingMismatch("the group session belongs to another sender or group")
        try:
            decrypted = found.session.decrypt(vz.MegolmMessage.from_base64(env.ciphertext))
        except _VZ_ERRORS as exc:
            raise DecryptionFailed("this group session cannot decrypt the message") from exc
        mark = (env.sender_key, env.session_id, decrypted.message_index)
        if mark in self._seen:
            raise Replayed("this group message was seen before")
        try:
            plain = _plain.decode(decrypted.plaintext)
        except (msgspec.MsgspecError, RecursionError) as exc:  # RecursionError: absurdly deep JSON
            raise DecryptionFailed("malformed group plaintext") from exc
        if plain.conv != conv:
            raise BindingMismatch("the group message was encrypted for another group")
        self._seen.add(mark)
        self._changes.seen.append(mark)
        return GroupDecrypted(
            type=plain.type,
            conv=plain.conv,
            content=plain.content,
            session_id=env.session_id,
            index=decrypted.message_index,
        )

    def _pickled_inbound(self, sender_key: str, session_id: str) -> PickledInbound:
        entry = self._inbound[(sender_key, session_id)]
        return PickledInbound(
            sender_key=sender_key,
            session_id=session_id,
            conv=entry.conv,
            sender=entry.sender,
            sender_device=entry.sender_device,
            pickle=entry.session.pickle(self._key),
        )

    def take_changes(self) -> GroupChanges:
        """What changed since the last call, as pickles to persist (the latest pickle of each wins)."""
        changes, self._changes = self._changes, GroupChanges()
        return changes


def _replace(state: OutboundState, **changes: Any) -> OutboundState:
    return dataclasses.replace(state, **changes)
