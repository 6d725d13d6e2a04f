"""The encrypted envelope and its plaintext (docs/protocol.md §6, Matrix ``m.olm.v1.curve25519-aes-sha2``).

```
{"algorithm": "m.olm.v1.curve25519-aes-sha2", "sender_key": "<sender curve25519>",
 "ciphertext": {"<recipient curve25519>": {"type": 0|1, "body": "<unpadded base64>"}}}
```
The plaintext binds the message to both ends (``sender``, ``sender_device``, ``keys.ed25519``,
``recipient``, ``recipient_keys.ed25519``) so that a message cannot be replayed to, or claimed by,
someone else (the unknown-key-share problem). Parsing is strict on the members we rely on and ignores
members it does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from passerelle.crypto.errors import BindingMismatch, DecryptionFailed
from passerelle.crypto.keys import PeerDevice
from passerelle.domain.ids import AccountId, ConversationId, DeviceId

OLM_ALGORITHM = "m.olm.v1.curve25519-aes-sha2"
PREKEY = 0
NORMAL = 1


class OlmCiphertext(msgspec.Struct, frozen=True):
    type: int
    body: str


class Envelope(msgspec.Struct, frozen=True):
    algorithm: str
    sender_key: str
    ciphertext: dict[str, OlmCiphertext]


class Ed25519Ref(msgspec.Struct, frozen=True):
    ed25519: str


class Plaintext(msgspec.Struct, frozen=True):
    type: str
    sender: str
    sender_device: str
    keys: Ed25519Ref
    recipient: str
    recipient_keys: Ed25519Ref
    conv: str
    content: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalDevice:
    """This device: who it is on the server and its ed25519 key."""

    account: AccountId
    device_id: DeviceId
    ed25519: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DecryptedEvent:
    """A verified plaintext: sender and recipient binding already checked."""

    type: str
    conv: ConversationId
    content: dict[str, Any]
    sender: AccountId
    sender_device: DeviceId
    session_id: str
    new_session: bool
    """True when this envelope created a new inbound session (a pre-key message)."""


_envelope_decoder = msgspec.json.Decoder(Envelope)
_plaintext_decoder = msgspec.json.Decoder(Plaintext)


def parse_envelope(envelope: Mapping[str, Any] | bytes | str) -> Envelope:
    """Parse and shape-check an envelope given as JSON or as an already-decoded object."""
    try:
        if isinstance(envelope, bytes | str):
            env = _envelope_decoder.decode(envelope)
        else:
            env = msgspec.convert(envelope, Envelope)
    except (msgspec.MsgspecError, RecursionError) as exc:  # RecursionError: absurdly deep JSON
        raise DecryptionFailed("malformed envelope") from exc
    if env.algorithm != OLM_ALGORITHM:
        raise DecryptionFailed(f"unsupported algorithm {env.algorithm[:64]!r}")
    return env


def plaintext_bytes(me: LocalDevice, peer: PeerDevice, plaintext: Mapping[str, Any]) -> bytes:
    """The JSON to encrypt: the caller's ``type``, ``conv`` and ``content`` plus the binding members."""
    try:
        body = {"type": plaintext["type"], "conv": plaintext["conv"], "content": plaintext["content"]}
    except KeyError as exc:
        raise ValueError(f"plaintext needs {exc.args[0]!r}") from None
    body |= {
        "sender": me.account,
        "sender_device": me.device_id,
        "keys": {"ed25519": me.ed25519},
        "recipient": peer.account,
        "recipient_keys": {"ed25519": peer.ed25519},
    }
    return msgspec.json.encode(body)


def parse_plaintext(raw: bytes) -> Plaintext:
    try:
        return _plaintext_decoder.decode(raw)
    except (msgspec.MsgspecError, RecursionError) as exc:  # RecursionError: absurdly deep JSON
        raise DecryptionFailed("malformed plaintext") from exc


def check_binding(plain: Plaintext, *, me: LocalDevice, sender: PeerDevice) -> None:
    """docs/protocol.md §6: the plaintext must name the sender the server named and this device.

    Raises:
        BindingMismatch: any of the four bindings differs.
    """
    if plain.sender != sender.account or plain.sender_device != sender.device_id:
        raise BindingMismatch("the plaintext names another sender than the envelope's")
    if plain.keys.ed25519 != sender.ed25519:
        raise BindingMismatch("the plaintext names another sender key than the sender device's")
    if plain.recipient != me.account or plain.recipient_keys.ed25519 != me.ed25519:
        raise BindingMismatch("the plaintext was addressed to someone else")
