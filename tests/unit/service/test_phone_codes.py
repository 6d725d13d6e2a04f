"""One-time phone codes: sent, hashed, spent by attempts, expired, used once, rate limited."""

from __future__ import annotations

import asyncio

import pytest

from passerelle.domain.errors import AliasTaken, InvalidInput, NotFound, RateLimited, Unauthorized
from passerelle.domain.ids import AppName
from passerelle.domain.limits import Limits
from passerelle.service.accounts.accounts import PhoneProof
from passerelle.service.limiter import ClientKey
from tests.unit.service.fakes import TestDevice
from tests.unit.service.world import CLIENT, World

PHONE = "+33612345678"


async def test_codes_are_only_for_phone_apps_and_valid_numbers(world: World) -> None:
    with pytest.raises(InvalidInput, match="does not use phone numbers"):
        await world.accounts.request_code(app="photo", phone=PHONE, client=CLIENT)
    with pytest.raises(InvalidInput, match="international"):
        await world.accounts.request_code(app="chat", phone="0612345678", client=CLIENT)
    assert world.phone.sent == 0


async def test_a_code_is_six_digits_stored_hashed(world: World) -> None:
    expires_in = await world.accounts.request_code(app="chat", phone=PHONE, client=CLIENT)
    assert expires_in == world.limits.code_ttl_s
    code = world.phone.code("chat", PHONE)
    assert len(code) == 6
    assert code.isdigit()
    record = await world.store.get_code(AppName("chat"), PHONE)
    assert record is not None
    assert code not in record.code_hash


async def _register_chat(world: World, code: str, device: TestDevice | None = None) -> None:
    await world.accounts.register(
        app="chat",
        proof=PhoneProof(phone=PHONE, code=code),
        display_name="Bob",
        device=(device or TestDevice()).new_device(),
        client=CLIENT,
    )


async def test_a_wrong_code_spends_an_attempt_until_none_are_left(world: World) -> None:
    await world.accounts.request_code(app="chat", phone=PHONE, client=CLIENT)
    right = world.phone.code("chat", PHONE)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(world.limits.code_attempts):
        with pytest.raises(Unauthorized, match="code"):
            await _register_chat(world, wrong)
    with pytest.raises(Unauthorized, match="code"):
        await _register_chat(world, right)


async def test_concurrent_guesses_cannot_exceed_the_attempts(world: World) -> None:
    await world.accounts.request_code(app="chat", phone=PHONE, client=CLIENT)
    right = world.phone.code("chat", PHONE)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    guesses = [wrong] * (world.limits.code_attempts * 3) + [right]
    results = await asyncio.gather(*(_register_chat(world, g) for g in guesses), return_exceptions=True)
    assert all(isinstance(r, Unauthorized) for r in results), results[-1]


async def test_the_last_attempt_may_be_the_right_one(world: World) -> None:
    await world.accounts.request_code(app="chat", phone=PHONE, client=CLIENT)
    right = world.phone.code("chat", PHONE)
    for _ in range(world.limits.code_attempts - 1):
        with pytest.raises(Unauthorized):
            await _register_chat(world, "abc")
    await _register_chat(world, right)


async def test_a_code_expires(world: World) -> None:
    await world.accounts.request_code(app="chat", phone=PHONE, client=CLIENT)
    world.clock.advance(world.limits.code_ttl_s + 1)
    with pytest.raises(Unauthorized, match="expired"):
        await _register_chat(world, world.phone.code("chat", PHONE))


async def test_a_code_is_used_once(world: World) -> None:
    await world.accounts.request_code(app="chat", phone=PHONE, client=CLIENT)
    code = world.phone.code("chat", PHONE)
    await _register_chat(world, code)
    with pytest.raises(Unauthorized):
        await world.accounts.add_device(
            app="chat",
            proof=PhoneProof(phone=PHONE, code=code),
            device=TestDevice().new_device(),
            client=CLIENT,
        )


async def test_a_new_code_replaces_the_old_one(world: World) -> None:
    await world.accounts.request_code(app="chat", phone=PHONE, client=CLIENT)
    first = world.phone.code("chat", PHONE)
    await world.accounts.request_code(app="chat", phone=PHONE, client=CLIENT)
    second = world.phone.code("chat", PHONE)
    if first != second:
        with pytest.raises(Unauthorized):
            await _register_chat(world, first)
    await _register_chat(world, second)


async def test_a_taken_number_keeps_its_code_for_adding_a_device(world: World) -> None:
    await world.chat(PHONE)
    await world.accounts.request_code(app="chat", phone=PHONE, client=CLIENT)
    code = world.phone.code("chat", PHONE)
    with pytest.raises(AliasTaken):
        await _register_chat(world, code)
    session = await world.accounts.add_device(
        app="chat", proof=PhoneProof(phone=PHONE, code=code), device=TestDevice().new_device(), client=CLIENT
    )
    assert world.notices.added == [(session.account, session.device)]


async def test_a_right_code_for_a_number_without_account_cannot_add_a_device(world: World) -> None:
    await world.accounts.request_code(app="chat", phone=PHONE, client=CLIENT)
    with pytest.raises(NotFound, match="register"):
        await world.accounts.add_device(
            app="chat",
            proof=PhoneProof(phone=PHONE, code=world.phone.code("chat", PHONE)),
            device=TestDevice().new_device(),
            client=CLIENT,
        )


class TestCodeLimits:
    @pytest.fixture
    def limits(self) -> Limits:
        return Limits(codes_per_phone=3, codes_per_client_per_hour=5)

    async def test_codes_per_phone(self, world: World) -> None:
        for _ in range(3):
            await world.accounts.request_code(app="chat", phone=PHONE, client=CLIENT)
        with pytest.raises(RateLimited) as caught:
            await world.accounts.request_code(app="chat", phone=PHONE, client=ClientKey("198.51.100.7"))
        assert caught.value.retry_after_s > 0
        world.clock.advance(world.limits.codes_per_phone_window_s)
        await world.accounts.request_code(app="chat", phone=PHONE, client=ClientKey("198.51.100.7"))

    async def test_codes_per_client(self, world: World) -> None:
        for i in range(5):
            await world.accounts.request_code(app="chat", phone=f"+3361234567{i}", client=CLIENT)
        with pytest.raises(RateLimited):
            await world.accounts.request_code(app="chat", phone="+33612345679", client=CLIENT)
        assert world.phone.sent == 5
