"""Client.profile and the names of people who write first, against the real server (docs/protocol.md
section 4.8): a client shows who wrote to it without ever having looked them up."""

from __future__ import annotations

from pathlib import Path

import pytest

from passerelle.domain.ids import AppName
from passerelle.sdk import Client, Contact, NotFound
from tests.conftest import ServerHandle
from tests.watch import Watcher

PW = "correct horse battery"
BOB_PHONE = "+33612345678"
CAROL_PHONE = "+33698765432"


async def test_a_profile_is_fetched_kept_and_hides_a_phone_from_other_apps(
    server: ServerHandle, tmp_path: Path
) -> None:
    bob = await server.register_phone(tmp_path / "bob", BOB_PHONE, display_name="Bob")
    carol = await server.register_phone(tmp_path / "carol", CAROL_PHONE, display_name="Carol")
    alice = await Client.register(server.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    try:
        assert alice.server_url == server.url
        assert await alice.contact(bob.account_id) is None
        seen = await alice.profile(bob.account_id)
        assert seen == Contact(
            account_id=bob.account_id, app=AppName("chat"), display_name="Bob", address=None
        )
        assert await alice.contact(bob.account_id) == seen
        # The same app sees the number; handles are shown to every app.
        assert (await carol.profile(bob.account_id)).address == f"chat:{BOB_PHONE}"
        assert (await bob.profile(alice.account_id)).address == "photo:alice"
        assert (await alice.profile(alice.account_id)).display_name == "alice"
    finally:
        for client in (alice, bob, carol):
            await client.close()
    # Kept in the local store: a resumed device knows it without asking, and knows its server.
    reopened = await Client.open(tmp_path / "alice")
    try:
        assert reopened.server_url == server.url
        assert await reopened.contact(bob.account_id) == seen
    finally:
        await reopened.close()


async def test_a_hidden_or_missing_profile_is_not_found(server: ServerHandle, tmp_path: Path) -> None:
    alice = await Client.register(server.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    marie = await Client.register(
        server.url, tmp_path / "marie", app="social", username="marie.d", password=PW, display_name="Marie"
    )
    try:
        with pytest.raises(NotFound) as hidden:  # the social app's default findability is "app"
            await alice.profile(marie.account_id)
        with pytest.raises(NotFound) as missing:
            await alice.profile("a_nobody")
        assert hidden.value.message == missing.value.message
        assert await alice.contact(marie.account_id) is None
    finally:
        await alice.close()
        await marie.close()


async def test_someone_who_writes_first_gets_a_name(server: ServerHandle, tmp_path: Path) -> None:
    alice = await Client.register(server.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    bob = await server.register_phone(tmp_path / "bob", BOB_PHONE, display_name="Bob")
    dave = await Client.register(server.url, tmp_path / "dave", app="photo", handle="dave", password=PW)
    try:
        async with alice, bob:
            await bob.settings(findability="nobody")  # no one can look him up ...
            alice_sees = Watcher(alice)
            await bob.send_text((await bob.lookup("photo:alice")).account_id, "c'est Bob")
            message = await alice_sees.text("c'est Bob")
            # ... but alice, who never looked him up, learns who wrote: they share a conversation now.
            who = await alice.contact(message.sender)
            assert who == Contact(
                account_id=bob.account_id, app=AppName("chat"), display_name="Bob", address=None
            )
            await bob.send_text(alice.account_id, "encore moi")
            await alice_sees.text("encore moi")
            assert await alice.contact(bob.account_id) == who
            with pytest.raises(NotFound):  # to someone who shares nothing with him, he is not there
                await dave.profile(bob.account_id)
    finally:
        for client in (alice, bob, dave):
            await client.close()
    reopened = await Client.open(tmp_path / "alice")
    try:
        assert await reopened.contact(bob.account_id) == who  # it was stored, not just remembered
    finally:
        await reopened.close()
