"""Olm between two in-memory devices: set-up, both directions, pre-key repeats, several sessions,
recovery after a lost session, binding checks, pickles."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
import pytest

from passerelle.crypto import (
    BindingMismatch,
    DecryptionFailed,
    DeviceCrypto,
    NoSession,
    PeerDevice,
    PickleError,
)
from passerelle.crypto.encoding import b64decode
from passerelle.domain.ids import AccountId, DeviceId
from tests.unit.crypto.parties import Party, make_party


def msg(text: str, conv: str = "d_conv") -> dict[str, Any]:
    return {"type": "p.msg", "conv": conv, "content": {"id": text, "ts": 1, "msgtype": "text", "body": text}}


def send(sender: Party, receiver: Party, text: str) -> dict[str, Any]:
    return sender.crypto.encrypt(receiver.peer, msg(text), one_time_key=None)


def receive(receiver: Party, sender: Party, env: dict[str, Any]) -> str:
    event = receiver.crypto.decrypt(msgspec.json.encode(env), sender.peer)
    assert event.sender == sender.peer.account
    assert event.sender_device == sender.peer.device_id
    body = event.content["body"]
    assert isinstance(body, str)
    return body


def msg_type(env: dict[str, Any], to: Party) -> int:
    part = env["ciphertext"][to.peer.curve25519]
    assert isinstance(part["type"], int)
    return part["type"]


def test_envelope_has_the_matrix_shape(alice: Party, bob: Party) -> None:
    env = alice.crypto.encrypt(bob.peer, msg("hi"), one_time_key=bob.claim())
    assert env["algorithm"] == "m.olm.v1.curve25519-aes-sha2"
    assert env["sender_key"] == alice.peer.curve25519
    part = env["ciphertext"][bob.peer.curve25519]
    assert part["type"] == 0
    assert "=" not in part["body"]
    assert b64decode(part["body"])[:1] == b"\x03"


def test_both_directions_after_setup(alice: Party, bob: Party) -> None:
    first = alice.crypto.encrypt(bob.peer, msg("hello bob ✓"), one_time_key=bob.claim())
    assert receive(bob, alice, first) == "hello bob ✓"
    reply = send(bob, alice, "hello alice 🐍")
    assert msg_type(reply, alice) == 1
    assert receive(alice, bob, reply) == "hello alice 🐍"
    after = send(alice, bob, "now normal")
    assert msg_type(after, bob) == 1
    assert receive(bob, alice, after) == "now normal"
    assert alice.crypto.session_ids(bob.peer) == bob.crypto.session_ids(alice.peer)


def test_repeated_prekey_messages_use_one_session(alice: Party, bob: Party) -> None:
    envs = [alice.crypto.encrypt(bob.peer, msg("m0"), one_time_key=bob.claim())]
    envs += [send(alice, bob, f"m{i}") for i in range(1, 4)]
    assert [msg_type(e, bob) for e in envs] == [0, 0, 0, 0]
    # Delivered out of order, too: 0, 2, 1, 3.
    assert [receive(bob, alice, envs[i]) for i in (0, 2, 1, 3)] == ["m0", "m2", "m1", "m3"]
    assert len(bob.crypto.session_ids(alice.peer)) == 1


def test_no_session_and_no_key_is_a_typed_error(alice: Party, bob: Party) -> None:
    with pytest.raises(NoSession):
        send(alice, bob, "nope")


def test_sessions_started_at_once_by_both_ends_work_and_converge(alice: Party, bob: Party) -> None:
    from_alice = alice.crypto.encrypt(bob.peer, msg("a"), one_time_key=bob.claim())
    from_bob = bob.crypto.encrypt(alice.peer, msg("b"), one_time_key=alice.claim())
    assert receive(bob, alice, from_alice) == "a"
    assert receive(alice, bob, from_bob) == "b"
    assert len(alice.crypto.session_ids(bob.peer)) == 2
    for i in range(3):
        assert receive(bob, alice, send(alice, bob, f"a{i}")) == f"a{i}"
        assert receive(alice, bob, send(bob, alice, f"b{i}")) == f"b{i}"
    # Each end sends on the session the other end last used: they agree.
    assert alice.crypto.session_ids(bob.peer)[0] == bob.crypto.session_ids(alice.peer)[0]


def test_lost_session_then_recovery_gives_a_new_working_session(alice: Party, bob: Party) -> None:
    assert receive(bob, alice, alice.crypto.encrypt(bob.peer, msg("one"), one_time_key=bob.claim())) == "one"
    assert receive(alice, bob, send(bob, alice, "two")) == "two"
    old_session = alice.crypto.session_ids(bob.peer)[0]

    bob.crypto.forget_sessions(alice.peer)  # bob lost his state
    with pytest.raises(NoSession):
        receive(bob, alice, send(alice, bob, "lost"))

    # Bob's recovery: a new outbound session from a claimed key of Alice's, and a dummy on it.
    new_id = bob.crypto.create_outbound_session(alice.peer, alice.claim())
    dummy = bob.crypto.encrypt(alice.peer, {"type": "p.dummy", "conv": "d_conv", "content": {}})
    assert msg_type(dummy, alice) == 0
    event = alice.crypto.decrypt(dummy, bob.peer)
    assert event.type == "p.dummy"
    assert event.new_session
    assert alice.crypto.session_ids(bob.peer)[0] == new_id != old_session
    assert receive(bob, alice, send(alice, bob, "resent")) == "resent"
    assert receive(alice, bob, send(bob, alice, "and back")) == "and back"


def test_new_session_replaces_a_broken_one_on_the_sender_side(alice: Party, bob: Party) -> None:
    receive(bob, alice, alice.crypto.encrypt(bob.peer, msg("x"), one_time_key=bob.claim()))
    alice.crypto.create_outbound_session(bob.peer, bob.claim())
    env = send(alice, bob, "on the new one")
    assert msg_type(env, bob) == 0
    assert receive(bob, alice, env) == "on the new one"
    assert len(bob.crypto.session_ids(alice.peer)) == 2


def test_replayed_envelope_fails(alice: Party, bob: Party) -> None:
    receive(bob, alice, alice.crypto.encrypt(bob.peer, msg("x"), one_time_key=bob.claim()))
    receive(alice, bob, send(bob, alice, "y"))
    env = send(alice, bob, "once")
    assert receive(bob, alice, env) == "once"
    with pytest.raises(DecryptionFailed):
        receive(bob, alice, env)


def test_tampered_ciphertext_fails_and_leaves_the_session_usable(alice: Party, bob: Party) -> None:
    receive(bob, alice, alice.crypto.encrypt(bob.peer, msg("x"), one_time_key=bob.claim()))
    receive(alice, bob, send(bob, alice, "y"))
    env = send(alice, bob, "target")
    part = env["ciphertext"][bob.peer.curve25519]
    body = part["body"]
    part["body"] = body[:-6] + ("AAAAAA" if body[-6:] != "AAAAAA" else "BBBBBB")
    with pytest.raises(DecryptionFailed):
        receive(bob, alice, env)
    assert receive(bob, alice, send(alice, bob, "next")) == "next"


def test_envelope_for_another_device_is_not_decrypted(alice: Party, bob: Party) -> None:
    carol = make_party("acc_carol", "dev_c1")
    env = alice.crypto.encrypt(carol.peer, msg("for carol"), one_time_key=carol.claim())
    with pytest.raises(DecryptionFailed):
        bob.crypto.decrypt(env, alice.peer)


def test_sender_key_must_be_the_claimed_devices(alice: Party, bob: Party) -> None:
    env = alice.crypto.encrypt(bob.peer, msg("x"), one_time_key=bob.claim())
    mallory = make_party("acc_mallory", "dev_m1")
    with pytest.raises(BindingMismatch):
        bob.crypto.decrypt(env, mallory.peer)


def test_binding_mismatch_on_wrong_claimed_account(alice: Party, bob: Party) -> None:
    """The server says the envelope is from another account's device with Alice's keys."""
    env = alice.crypto.encrypt(bob.peer, msg("x"), one_time_key=bob.claim())
    liar = PeerDevice(
        account=AccountId("acc_other"),
        device_id=alice.peer.device_id,
        curve25519=alice.peer.curve25519,
        ed25519=alice.peer.ed25519,
    )
    with pytest.raises(BindingMismatch):
        bob.crypto.decrypt(env, liar)
    # The rejected pre-key message did not leave a session behind.
    assert bob.crypto.session_ids(alice.peer) == []


def test_binding_mismatch_when_addressed_to_someone_else(alice: Party, bob: Party) -> None:
    """Alice encrypted for Bob's curve key but bound the plaintext to another recipient account."""
    impostor_view = PeerDevice(
        account=AccountId("acc_carol"),
        device_id=DeviceId("dev_c1"),
        curve25519=bob.peer.curve25519,
        ed25519=bob.peer.ed25519,
    )
    env = alice.crypto.encrypt(impostor_view, msg("x"), one_time_key=bob.claim())
    with pytest.raises(BindingMismatch):
        bob.crypto.decrypt(env, alice.peer)


def test_binding_mismatch_on_existing_session_restores_it(alice: Party, bob: Party) -> None:
    receive(bob, alice, alice.crypto.encrypt(bob.peer, msg("x"), one_time_key=bob.claim()))
    receive(alice, bob, send(bob, alice, "y"))
    wrong = PeerDevice(
        account=bob.peer.account,
        device_id=bob.peer.device_id,
        curve25519=bob.peer.curve25519,
        ed25519=alice.peer.ed25519,
    )
    bad = alice.crypto.encrypt(wrong, msg("bad"))
    with pytest.raises(BindingMismatch):
        bob.crypto.decrypt(bad, alice.peer)
    # The session was rolled back: the same message key decrypts again, the binding still fails.
    with pytest.raises(BindingMismatch):
        bob.crypto.decrypt(bad, alice.peer)
    assert receive(bob, alice, send(alice, bob, "fine")) == "fine"


def test_malformed_envelopes_are_decryption_failures(alice: Party, bob: Party) -> None:
    for env in (
        b"not json",
        b"{}",
        {"algorithm": "m.megolm.v1.aes-sha2", "sender_key": "x", "ciphertext": {}},
    ):
        with pytest.raises(DecryptionFailed):
            bob.crypto.decrypt(env, alice.peer)
    bad_body = {
        "algorithm": "m.olm.v1.curve25519-aes-sha2",
        "sender_key": alice.peer.curve25519,
        "ciphertext": {bob.peer.curve25519: {"type": 1, "body": "$$$"}},
    }
    with pytest.raises(DecryptionFailed):
        bob.crypto.decrypt(bad_body, alice.peer)


def test_pickles_round_trip_with_the_key_and_fail_with_another(alice: Party, bob: Party) -> None:
    receive(bob, alice, alice.crypto.encrypt(bob.peer, msg("before"), one_time_key=bob.claim()))
    receive(alice, bob, send(bob, alice, "reply"))
    changes = bob.crypto.take_changes()
    assert changes.account_pickle is not None
    assert len(changes.sessions) == 1
    assert bob.crypto.take_changes().empty

    restored = DeviceCrypto.from_pickle(changes.account_pickle, bob.key, sessions=changes.sessions)
    restored.set_owner(bob.peer.account, bob.peer.device_id)
    assert restored.identity_keys == bob.crypto.identity_keys
    env = send(alice, bob, "after restore")
    assert restored.decrypt(env, alice.peer).content["body"] == "after restore"

    with pytest.raises(PickleError):
        DeviceCrypto.from_pickle(changes.account_pickle, secrets.token_bytes(32))
    foreign = alice.crypto.take_changes().sessions[0]  # pickled with Alice's key, not Bob's
    with pytest.raises(PickleError):
        DeviceCrypto.from_pickle(changes.account_pickle, bob.key, sessions=[foreign])
    with pytest.raises(ValueError, match="32 bytes"):
        DeviceCrypto.new(b"short")


def test_pickle_does_not_contain_private_keys_in_clear(alice: Party) -> None:
    pickle = alice.crypto.pickle()
    assert alice.peer.ed25519 not in pickle
    assert alice.peer.curve25519 not in pickle
