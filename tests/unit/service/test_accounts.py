"""Registering, adding devices, logging in with a device key, tokens, removing devices, settings."""

from __future__ import annotations

import hashlib

import pytest

from passerelle.domain.errors import AliasTaken, InvalidInput, NotFound, RateLimited, Unauthorized
from passerelle.domain.ids import AppName, DeviceId
from passerelle.domain.limits import Limits
from passerelle.domain.privacy import Findability
from passerelle.service.accounts.accounts import NewDevice, PasswordProof, PhoneProof
from passerelle.service.limiter import ClientKey
from tests.unit.service.fakes import TestDevice
from tests.unit.service.world import CLIENT, PASSWORD, World

PHONE = "+33612345678"


# --- registering ---------------------------------------------------------------------------------


async def test_register_on_each_app(world: World) -> None:
    bob = await world.chat("+33 6 12 34 56 78", "Bob")
    alice = await world.photo("@Alice")
    marie = await world.social("Marie.D", "Marie Dupont")
    assert str(bob.session.address) == "chat:+33612345678"
    assert str(alice.session.address) == "photo:alice"
    assert str(marie.session.address) == "social:marie.d"
    assert len({bob.session.account, alice.session.account, marie.session.account}) == 3
    for person in (bob, alice, marie):
        owner = await world.accounts.caller(person.session.token)
        assert (owner.account, owner.device) == (person.session.account, person.session.device)
        assert person.session.expires_at == world.clock.ms + world.limits.token_ttl_s * 1000
    assert (await world.record(alice)).display_name == "alice"  # a handle app's name defaults to the handle
    assert (await world.record(marie)).display_name == "Marie Dupont"


async def test_only_the_hash_of_a_token_is_stored(world: World) -> None:
    alice = await world.photo("alice")
    now = world.clock.now_ms()
    assert await world.store.resolve_token(alice.session.token, now=now) is None
    digest = hashlib.sha256(alice.session.token.encode()).hexdigest()
    assert await world.store.resolve_token(digest, now=now) is not None


async def test_a_password_is_stored_as_an_argon2_hash(world: World) -> None:
    alice = await world.photo("alice")
    stored = (await world.record(alice)).password_hash
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_aliases_are_unique_per_app_whatever_the_case(world: World) -> None:
    await world.photo("alice")
    with pytest.raises(AliasTaken):
        await world.photo("ALICE")
    await world.social("alice")  # another app, another namespace


@pytest.mark.parametrize(
    ("app", "proof", "refusal"),
    [
        ("chat", PasswordProof(alias="bob", password=PASSWORD), "phone number and a code"),
        ("photo", PhoneProof(phone=PHONE, code="123456"), "name and a password"),
        ("nope", PhoneProof(phone=PHONE, code="1"), "unknown app"),
    ],
)
async def test_the_proof_must_match_the_app(
    world: World, app: str, proof: PasswordProof | PhoneProof, refusal: str
) -> None:
    with pytest.raises(InvalidInput, match=refusal):
        await world.accounts.register(
            app=app, proof=proof, display_name="Bob", device=TestDevice().new_device(), client=CLIENT
        )


@pytest.mark.parametrize("password", ["short", "x" * 257])
async def test_passwords_have_8_to_256_characters(world: World, password: str) -> None:
    with pytest.raises(InvalidInput, match="8 to 256"):
        await world.with_password("photo", "alice", display_name=None, password=password)


async def test_a_profile_needs_a_display_name(world: World) -> None:
    with pytest.raises(InvalidInput, match="display_name"):
        await world.with_password("social", "marie", display_name=None)


async def test_device_keys_must_be_signed_by_the_device(world: World) -> None:
    device, impostor = TestDevice(), TestDevice()
    good = device.keys_json()
    cases = {
        "signature": {**good, "signature": impostor.keys_json()["signature"]},
        "renamed": {**good, "name": "Someone else's phone"},
        "curve25519": {**good, "curve25519": good["curve25519"][:-2]},
        "device name": {**good, "name": ""},
    }
    for expected, keys in cases.items():
        match = "signature" if expected == "renamed" else expected
        with pytest.raises(InvalidInput, match=match):
            await world.accounts.register(
                app="photo",
                proof=PasswordProof(alias="alice", password=PASSWORD),
                display_name=None,
                device=NewDevice(**keys),
                client=CLIENT,
            )
    assert await world.store.find_account(AppName("photo"), "alice") is None


# --- adding a device with a password -------------------------------------------------------------


async def test_add_a_device_with_the_password(world: World) -> None:
    alice = await world.photo("alice")
    laptop = TestDevice("Alice's laptop")
    session = await world.accounts.add_device(
        app="photo",
        proof=PasswordProof(alias="ALICE", password=PASSWORD),
        device=laptop.new_device(),
        client=CLIENT,
    )
    assert session.account == alice.session.account
    assert session.device != alice.session.device
    assert world.notices.added == [(session.account, session.device)]
    assert len(await world.store.list_devices(session.account)) == 2


async def test_wrong_password_and_unknown_name_look_the_same(world: World) -> None:
    await world.photo("alice")
    errors = []
    for alias, password in (("alice", "wrong password"), ("nobody", PASSWORD), ("nobody", "wrong password")):
        with pytest.raises(Unauthorized) as caught:
            await world.accounts.add_device(
                app="photo",
                proof=PasswordProof(alias=alias, password=password),
                device=TestDevice().new_device(),
                client=CLIENT,
            )
        errors.append((type(caught.value), caught.value.message))
    assert len(set(errors)) == 1
    assert world.notices.added == []


class TestLoginLimits:
    @pytest.fixture
    def limits(self) -> Limits:
        return Limits(logins_per_window=3)

    async def test_password_logins_per_account(self, world: World) -> None:
        await world.photo("alice")  # one login for this client
        for i in range(3):
            with pytest.raises(Unauthorized):
                await world.accounts.add_device(
                    app="photo",
                    proof=PasswordProof(alias="alice", password="nope nope"),
                    device=TestDevice().new_device(),
                    client=ClientKey(f"198.51.100.{i}"),
                )
        with pytest.raises(RateLimited):
            await world.accounts.add_device(
                app="photo",
                proof=PasswordProof(alias="alice", password=PASSWORD),
                device=TestDevice().new_device(),
                client=ClientKey("198.51.100.99"),
            )

    async def test_logins_per_client(self, world: World) -> None:
        for name in ("alice", "bobby", "carol"):
            await world.photo(name)
        with pytest.raises(RateLimited):
            await world.photo("david")


# --- logging in with the device key --------------------------------------------------------------


async def test_challenge_login(world: World) -> None:
    alice = await world.photo("alice")
    device_id = alice.session.device
    challenge = await world.accounts.challenge(device_id, client=CLIENT)
    assert challenge.expires_in_s == world.limits.challenge_ttl_s
    signature = alice.device.login_signature(device_id, challenge.challenge)
    session = await world.accounts.token_from_signature(
        device_id, challenge.challenge, signature, client=CLIENT
    )
    assert session.token != alice.session.token
    owner = await world.accounts.caller(session.token)
    assert owner.device == device_id
    with pytest.raises(Unauthorized):  # used once
        await world.accounts.token_from_signature(device_id, challenge.challenge, signature, client=CLIENT)


async def test_a_bad_signature_burns_the_challenge(world: World) -> None:
    alice = await world.photo("alice")
    device_id = alice.session.device
    challenge = (await world.accounts.challenge(device_id, client=CLIENT)).challenge
    forged = TestDevice().login_signature(device_id, challenge)
    with pytest.raises(Unauthorized) as forged_error:
        await world.accounts.token_from_signature(device_id, challenge, forged, client=CLIENT)
    good = alice.device.login_signature(device_id, challenge)
    with pytest.raises(Unauthorized) as replay_error:
        await world.accounts.token_from_signature(device_id, challenge, good, client=CLIENT)
    assert forged_error.value.message == replay_error.value.message


async def test_a_challenge_expires(world: World) -> None:
    alice = await world.photo("alice")
    device_id = alice.session.device
    challenge = (await world.accounts.challenge(device_id, client=CLIENT)).challenge
    world.clock.advance(world.limits.challenge_ttl_s + 1)
    with pytest.raises(Unauthorized):
        await world.accounts.token_from_signature(
            device_id, challenge, alice.device.login_signature(device_id, challenge), client=CLIENT
        )


async def test_an_unknown_device_gets_a_challenge_that_never_verifies(world: World) -> None:
    alice = await world.photo("alice")
    ghost = DeviceId("dnosuchdevice")
    challenge = await world.accounts.challenge(ghost, client=CLIENT)
    assert len(challenge.challenge) >= 43
    with pytest.raises(Unauthorized):
        await world.accounts.token_from_signature(
            ghost,
            challenge.challenge,
            alice.device.login_signature(ghost, challenge.challenge),
            client=CLIENT,
        )
    # Nor can the challenge be spent by a real device.
    with pytest.raises(Unauthorized):
        await world.accounts.token_from_signature(
            alice.session.device,
            challenge.challenge,
            alice.device.login_signature(alice.session.device, challenge.challenge),
            client=CLIENT,
        )


async def test_only_a_challenge_the_server_made_verifies(world: World) -> None:
    """Challenges are stateless (a MAC under the server's secret over the device, the expiry and a
    nonce): one altered in any part, or made up, never verifies, even signed by the device."""
    alice = await world.photo("alice")
    device_id = alice.session.device
    challenge = (await world.accounts.challenge(device_id, client=CLIENT)).challenge
    expires, nonce, mac = challenge.split(".")
    later = str(int(expires) + 3_600_000)
    other_nonce = ("A" if nonce[0] != "A" else "B") + nonce[1:]
    other_mac = ("0" if mac[0] != "0" else "1") + mac[1:]
    for forged in (
        f"{later}.{nonce}.{mac}",
        f"{expires}.{other_nonce}.{mac}",
        f"{expires}.{nonce}.{other_mac}",
        f"{expires}.{nonce}",
        "x" * 43,
    ):
        with pytest.raises(Unauthorized):
            await world.accounts.token_from_signature(
                device_id, forged, alice.device.login_signature(device_id, forged), client=CLIENT
            )
    # The genuine one still does (nothing above spent it).
    session = await world.accounts.token_from_signature(
        device_id, challenge, alice.device.login_signature(device_id, challenge), client=CLIENT
    )
    assert (await world.accounts.caller(session.token)).device == device_id


# --- tokens and devices --------------------------------------------------------------------------


async def test_a_token_expires(world: World) -> None:
    alice = await world.photo("alice")
    world.clock.advance(world.limits.token_ttl_s - 1)
    await world.accounts.caller(alice.session.token)
    world.clock.advance(2)
    with pytest.raises(Unauthorized):
        await world.accounts.caller(alice.session.token)


@pytest.mark.parametrize("token", ["", "nope", "x" * 10_000])
async def test_garbage_tokens_are_unauthorized(world: World, token: str) -> None:
    with pytest.raises(Unauthorized):
        await world.accounts.caller(token)


async def test_remove_a_device(world: World) -> None:
    alice = await world.photo("alice")
    laptop = await world.accounts.add_device(
        app="photo",
        proof=PasswordProof(alias="alice", password=PASSWORD),
        device=TestDevice().new_device(),
        client=CLIENT,
    )
    await world.accounts.remove_device(alice.token, laptop.device)
    assert world.notices.removed == [(alice.session.account, laptop.device)]
    with pytest.raises(Unauthorized):
        await world.accounts.caller(laptop.token)
    await world.accounts.caller(alice.session.token)
    assert [d.id for d in await world.store.list_devices(alice.session.account)] == [alice.session.device]


async def test_a_device_of_another_account_reads_as_nonexistent(world: World) -> None:
    alice = await world.photo("alice")
    bob = await world.photo("bobby")
    with pytest.raises(NotFound) as other:
        await world.accounts.remove_device(alice.token, bob.session.device)
    with pytest.raises(NotFound) as missing:
        await world.accounts.remove_device(alice.token, "dnosuchdevice")
    assert other.value.message == missing.value.message
    await world.accounts.caller(bob.session.token)
    assert world.notices.removed == []


# --- me and settings -----------------------------------------------------------------------------


async def test_me_shows_the_account_its_devices_and_effective_settings(world: World) -> None:
    marie = await world.social("marie.d")
    me = await world.accounts.me(marie.token)
    assert str(me.address) == "social:marie.d"
    assert me.device == marie.session.device
    assert me.settings.findability is Findability.APP  # the social app's default
    assert me.settings.read_receipts is True
    assert [d.ed25519 for d in me.devices] == [marie.device.ed25519]


async def test_settings_change_one_at_a_time(world: World) -> None:
    alice = await world.photo("alice")
    settings = await world.accounts.update_settings(alice.token, findability=Findability.NOBODY)
    assert (settings.findability, settings.read_receipts) == (Findability.NOBODY, True)
    settings = await world.accounts.update_settings(alice.token, read_receipts=False)
    assert (settings.findability, settings.read_receipts) == (Findability.NOBODY, False)
    me = await world.accounts.me(alice.token)
    assert (me.settings.findability, me.settings.read_receipts) == (Findability.NOBODY, False)
    unchanged = await world.accounts.update_settings(alice.token)
    assert unchanged == me.settings
