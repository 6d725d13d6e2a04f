"""Who may find whom: the findability matrix, hidden equals nonexistent, phone numbers stay home."""

from __future__ import annotations

import pytest

from passerelle.domain.conversations import direct_conversation_id
from passerelle.domain.errors import InvalidInput, NotFound, RateLimited
from passerelle.domain.limits import Limits
from passerelle.domain.privacy import Findability
from passerelle.service.directory.directory import NOT_FOUND
from tests.unit.service.world import Person, World

BOB_PHONE = "+33612345678"


async def lookup_error(world: World, viewer: Person, address: str) -> tuple[type[Exception], str]:
    record = await world.record(viewer)
    with pytest.raises(NotFound) as caught:
        await world.directory.lookup(record, address, device=viewer.session.device)
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize(
    ("setting", "same_app_finds", "other_app_finds"),
    [
        (Findability.EVERYONE, True, True),
        (Findability.APP, True, False),
        (Findability.NOBODY, False, False),
    ],
)
async def test_findability_matrix(
    world: World, setting: Findability, same_app_finds: bool, other_app_finds: bool
) -> None:
    alice = await world.photo("alice")
    neighbour = await world.photo("bobby")
    stranger = await world.social("marie.d")
    await world.accounts.update_settings(alice.token, findability=setting)
    for viewer, expected in ((neighbour, same_app_finds), (stranger, other_app_finds)):
        record = await world.record(viewer)
        if expected:
            found = await world.directory.lookup(record, "photo:Alice", device=viewer.session.device)
            assert found.account == alice.session.account
            assert found.display_name == "alice"
            assert await world.directory.visible(record, alice.session.account) is not None
        else:
            assert await lookup_error(world, viewer, "photo:alice") == (NotFound, NOT_FOUND)
            assert await world.directory.visible(record, alice.session.account) is None
    # Everyone finds themselves.
    me = await world.directory.lookup(await world.record(alice), "photo:alice", device=alice.session.device)
    assert me.account == alice.session.account


async def test_the_app_default_applies_until_the_person_chooses(world: World) -> None:
    marie = await world.social("marie.d")  # the social app's default is "app"
    alice = await world.photo("alice")
    assert await lookup_error(world, alice, "social:marie.d") == (NotFound, NOT_FOUND)
    await world.accounts.update_settings(marie.token, findability=Findability.EVERYONE)
    found = await world.directory.lookup(
        await world.record(alice), "social:marie.d", device=alice.session.device
    )
    assert str(found.address) == "social:marie.d"


async def test_hidden_and_nonexistent_are_the_same(world: World) -> None:
    alice = await world.photo("alice")
    hidden = await world.photo("hidden")
    await world.accounts.update_settings(hidden.token, findability=Findability.NOBODY)
    answers = {
        await lookup_error(world, alice, "photo:hidden"),
        await lookup_error(world, alice, "photo:nobody"),
        await lookup_error(world, alice, "chat:+33699999999"),
        await lookup_error(world, alice, "noapp:someone"),
    }
    assert answers == {(NotFound, NOT_FOUND)}


async def test_sharing_a_conversation_keeps_a_person_visible(world: World) -> None:
    alice = await world.photo("alice")
    marie = await world.social("marie.d")
    await world.accounts.update_settings(marie.token, findability=Findability.NOBODY)
    a, m = alice.session.account, marie.session.account
    await world.store.ensure_direct(direct_conversation_id(a, m), a, m, now=world.clock.now_ms())
    found = await world.directory.lookup(
        await world.record(alice), "social:marie.d", device=alice.session.device
    )
    assert found.account == m
    assert await world.directory.visible(await world.record(alice), m) is not None


async def test_a_phone_number_is_never_shown_to_another_app(world: World) -> None:
    bob = await world.chat(BOB_PHONE)
    carol = await world.chat("+33698765432", "Carol")
    alice = await world.photo("alice")
    from_photo = await world.directory.lookup(
        await world.record(alice), f"chat:{BOB_PHONE}", device=alice.session.device
    )
    assert from_photo.account == bob.session.account
    assert from_photo.address is None
    from_chat = await world.directory.lookup(
        await world.record(carol), "chat:+33 6 12 34 56 78", device=carol.session.device
    )
    assert str(from_chat.address) == f"chat:{BOB_PHONE}"
    # Handles and usernames are public: shown to every app.
    from_chat_to_photo = await world.directory.lookup(
        await world.record(carol), "photo:alice", device=carol.session.device
    )
    assert str(from_chat_to_photo.address) == "photo:alice"


async def test_malformed_addresses_are_invalid_input(world: World) -> None:
    alice = await world.photo("alice")
    record = await world.record(alice)
    for address in ("alice", "photo:a", "chat:0612345678"):
        with pytest.raises(InvalidInput):
            await world.directory.lookup(record, address, device=alice.session.device)


class TestLookupLimit:
    @pytest.fixture
    def limits(self) -> Limits:
        return Limits(lookups_per_minute=3, logins_per_window=100)

    async def test_lookups_per_device(self, world: World) -> None:
        alice = await world.photo("alice")
        await world.photo("bobby")
        record = await world.record(alice)
        for address in ("photo:bobby", "photo:nobody", "photo:bobby"):
            try:
                await world.directory.lookup(record, address, device=alice.session.device)
            except NotFound:
                pass
        with pytest.raises(RateLimited):
            await world.directory.lookup(record, "photo:bobby", device=alice.session.device)
        world.clock.advance(20)
        await world.directory.lookup(record, "photo:bobby", device=alice.session.device)
