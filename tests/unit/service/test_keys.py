"""One-time and fallback keys: signed uploads, a capped stock, claims handed out once."""

from __future__ import annotations

import pytest

from passerelle.domain.errors import InvalidInput, NotFound, RateLimited
from passerelle.domain.limits import Limits
from passerelle.domain.privacy import Findability
from passerelle.service.accounts.keys import CLAIMS_PER_PAIR_PER_MINUTE
from passerelle.service.records import OneTimeKey
from tests.unit.service.fakes import TestDevice
from tests.unit.service.world import World


async def test_upload_and_count(world: World) -> None:
    alice = await world.photo("alice")
    count = await world.keys.upload(
        alice.token, one_time_keys=alice.device.one_time_keys(5), fallback_key=None
    )
    assert count == 5
    assert await world.keys.count(alice.token) == 5
    count = await world.keys.upload(
        alice.token, one_time_keys=alice.device.one_time_keys(3), fallback_key=None
    )
    assert count == 8


async def test_one_bad_signature_rejects_the_whole_upload(world: World) -> None:
    alice = await world.photo("alice")
    keys = alice.device.one_time_keys(4)
    forged = TestDevice().one_time_keys(1)[0]
    keys[2] = OneTimeKey(key_id="AAAAforged", key=forged.key, signature=forged.signature)
    with pytest.raises(InvalidInput, match=r"one_time_keys\[2\]: the signature"):
        await world.keys.upload(alice.token, one_time_keys=keys, fallback_key=None)
    assert await world.keys.count(alice.token) == 0
    fallback = TestDevice().one_time_keys(1, fallback=True)[0]
    with pytest.raises(InvalidInput, match="fallback_key"):
        await world.keys.upload(
            alice.token, one_time_keys=alice.device.one_time_keys(1), fallback_key=fallback
        )
    assert await world.keys.count(alice.token) == 0


async def test_malformed_keys_are_refused(world: World) -> None:
    alice = await world.photo("alice")
    good = alice.device.one_time_keys(1)[0]
    for bad, match in (
        (OneTimeKey(key_id="", key=good.key, signature=good.signature), "key_id"),
        (OneTimeKey(key_id="x" * 65, key=good.key, signature=good.signature), "key_id"),
        (OneTimeKey(key_id="ok", key=good.key + "AA", signature=good.signature), "43 characters"),
    ):
        with pytest.raises(InvalidInput, match=match):
            await world.keys.upload(alice.token, one_time_keys=[bad], fallback_key=None)
    twice = [good, good]
    with pytest.raises(InvalidInput, match="twice"):
        await world.keys.upload(alice.token, one_time_keys=twice, fallback_key=None)


class TestStockCap:
    @pytest.fixture
    def limits(self) -> Limits:
        return Limits(max_one_time_keys=5, logins_per_window=100)

    async def test_a_device_holds_at_most_the_cap(self, world: World) -> None:
        alice = await world.photo("alice")
        with pytest.raises(InvalidInput, match="at most 5"):
            await world.keys.upload(
                alice.token, one_time_keys=alice.device.one_time_keys(6), fallback_key=None
            )
        await world.keys.upload(alice.token, one_time_keys=alice.device.one_time_keys(3), fallback_key=None)
        with pytest.raises(InvalidInput, match="it has 3, upload 2 or fewer"):
            await world.keys.upload(
                alice.token, one_time_keys=alice.device.one_time_keys(3), fallback_key=None
            )
        assert (
            await world.keys.upload(
                alice.token, one_time_keys=alice.device.one_time_keys(2), fallback_key=None
            )
            == 5
        )


async def test_each_key_is_claimed_once_then_the_fallback(world: World) -> None:
    alice = await world.photo("alice")
    bob = await world.photo("bobby")
    keys = alice.device.one_time_keys(3)
    fallback = alice.device.one_time_keys(1, fallback=True)[0]
    await world.keys.upload(alice.token, one_time_keys=keys, fallback_key=fallback)
    handed: list[OneTimeKey] = []
    for _ in range(3):
        claim = await world.keys.claim(bob.token, alice.session.account)
        assert claim.account == alice.session.account
        [device] = claim.devices
        assert device.device.ed25519 == alice.device.ed25519
        assert device.one_time_key is not None
        assert not device.one_time_key.fallback
        handed.append(device.one_time_key)
    assert sorted(k.key_id for k in handed) == sorted(k.key_id for k in keys)
    assert await world.keys.count(alice.token) == 0
    for _ in range(2):
        [device] = (await world.keys.claim(bob.token, alice.session.account)).devices
        assert device.one_time_key == fallback


async def test_a_device_with_no_keys_is_claimed_without_one(world: World) -> None:
    alice = await world.photo("alice")
    bob = await world.photo("bobby")
    [device] = (await world.keys.claim(bob.token, alice.session.account)).devices
    assert device.one_time_key is None
    assert world.keys_low.calls == [(alice.session.device, 0)]


async def test_the_claimed_device_is_told_when_its_stock_runs_low(world: World) -> None:
    alice = await world.photo("alice")
    bob = await world.photo("bobby")
    threshold = world.limits.keys_low_threshold
    await world.keys.upload(
        alice.token, one_time_keys=alice.device.one_time_keys(threshold + 1), fallback_key=None
    )
    await world.keys.claim(bob.token, alice.session.account)
    assert world.keys_low.calls == []  # threshold keys left: not below it
    await world.keys.claim(bob.token, alice.session.account)
    assert world.keys_low.calls == [(alice.session.device, threshold - 1)]


async def test_claims_and_device_lists_obey_the_directory(world: World) -> None:
    alice = await world.photo("alice")
    bob = await world.photo("bobby")
    await world.keys.upload(alice.token, one_time_keys=alice.device.one_time_keys(2), fallback_key=None)
    await world.accounts.update_settings(alice.token, findability=Findability.NOBODY)
    with pytest.raises(NotFound) as hidden:
        await world.keys.claim(bob.token, alice.session.account)
    with pytest.raises(NotFound) as missing:
        await world.keys.claim(bob.token, "a_nosuchaccount")
    assert str(hidden.value) == str(missing.value)
    with pytest.raises(NotFound):
        await world.keys.devices(bob.token, alice.session.account)
    assert await world.keys.count(alice.token) == 2  # nothing was spent


async def test_own_devices_can_be_listed_and_claimed(world: World) -> None:
    alice = await world.photo("alice")
    await world.accounts.update_settings(alice.token, findability=Findability.NOBODY)
    listed = await world.keys.devices(alice.token, alice.session.account)
    assert [d.id for d in listed.devices] == [alice.session.device]
    claim = await world.keys.claim(alice.token, alice.session.account)
    assert [d.device.id for d in claim.devices] == [alice.session.device]


async def test_claims_of_one_account_by_one_device_are_limited(world: World) -> None:
    alice = await world.photo("alice")
    bob = await world.photo("bobby")
    for _ in range(CLAIMS_PER_PAIR_PER_MINUTE):
        await world.keys.claim(bob.token, alice.session.account)
    with pytest.raises(RateLimited):
        await world.keys.claim(bob.token, alice.session.account)
    carol = await world.photo("carol")  # another claimer has its own budget
    await world.keys.claim(carol.token, alice.session.account)
