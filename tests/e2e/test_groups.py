"""A group of people from three apps, through the real server and the real SDK: what each of them
would see, and what the server keeps (never a plaintext, never a group name).

alice is on `photo` (the group's admin), bob on `chat` (a phone and a laptop), carol on `social`,
dave on `photo` (joins by an invite link).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from passerelle.crypto.megolm import UnknownSession, parse_group_envelope
from passerelle.domain.ids import ConversationId
from passerelle.sdk import Client, Forbidden, Message, NotFound
from passerelle.sdk.events import GroupEvent
from passerelle.sdk.groups.keys import KEY_REQUEST
from tests.conftest import ServerHandle, assert_absent
from tests.watch import Watcher

PW = "correct horse battery"
BOB_PHONE = "+33698765432"
NAME = "Les copains du dimanche 🚲"


@dataclass
class People:
    alice: Client
    bob: Client
    laptop: Client
    carol: Client
    dave: Client


class GroupWatch:
    """Group events a client dispatches, waited on with a timeout."""

    def __init__(self, client: Client) -> None:
        self.queue: asyncio.Queue[GroupEvent] = asyncio.Queue()
        client._dispatch.subscribe(GroupEvent, self.queue.put_nowait)

    async def next(self, event: str, within: float = 10) -> GroupEvent:
        async with asyncio.timeout(within):
            while True:
                found = await self.queue.get()
                if found.event == event:
                    return found


@pytest_asyncio.fixture
async def people(server: ServerHandle, tmp_path: Path) -> AsyncIterator[People]:
    stores = tmp_path / "clients"
    alice = await Client.register(server.url, stores / "alice", app="photo", handle="alice", password=PW)
    bob = await server.register_phone(stores / "bob", BOB_PHONE, display_name="Bob")
    laptop = await server.add_phone_device(stores / "bob-laptop", BOB_PHONE)
    carol = await Client.register(
        server.url, stores / "carol", app="social", username="marie.d", display_name="Marie", password=PW
    )
    dave = await Client.register(server.url, stores / "dave", app="photo", handle="dave", password=PW)
    everyone = (alice, bob, laptop, carol, dave)
    for client in everyone:
        await client.connect()
    await carol.settings(findability="everyone")
    yield People(alice, bob, laptop, carol, dave)
    for client in everyone:
        await client.close()


def newest_body(server: ServerHandle, sender: Client) -> bytes:
    """The last group message of ``sender`` the server stored (it stores each body once, beside the
    member notices), read from its database."""
    [db] = [p for p in server.database_files() if p.suffix == ".db"]
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT body FROM bodies ORDER BY id DESC").fetchall()
    for (body,) in rows:
        if b"m.megolm.v1" in body and parse_group_envelope(body).device_id == sender.device_id:
            return bytes(body)
    raise AssertionError("no group message of that sender is stored")


async def test_a_cross_app_group_talks_and_a_removed_member_reads_nothing_new(
    people: People, server: ServerHandle
) -> None:
    alice, bob, laptop, carol = people.alice, people.bob, people.laptop, people.carol
    sees = {c.device_id: Watcher(c) for c in (alice, bob, laptop, carol)}
    carol_groups = GroupWatch(carol)

    group = await alice.groups.create(NAME, [bob.account_id, carol.account_id])
    assert group.name == NAME and group.admins == (alice.account_id,)
    assert set(group.members) == {alice.account_id, bob.account_id, carol.account_id}

    plaintexts = [NAME, "Rendez-vous à 9 h devant la boulangerie 🥐", "J'apporte le café ☕", "Moi les pneus"]
    sent = await alice.groups.send_text(group.conv, plaintexts[1])
    for client in (bob, laptop, carol):
        got = await sees[client.device_id].text(plaintexts[1])
        assert got.conv == group.conv and got.sender == alice.account_id and got.id == sent.id
    await bob.groups.send_text(group.conv, plaintexts[2])
    for client in (alice, carol):
        assert (await sees[client.device_id].text(plaintexts[2])).sender == bob.account_id
    assert (await sees[laptop.device_id].text(plaintexts[2])).outgoing
    await carol.groups.send_text(group.conv, plaintexts[3])
    for client in (alice, bob, laptop):
        assert (await sees[client.device_id].text(plaintexts[3])).sender == carol.account_id
    # Everyone knows the name, which only ever travelled encrypted; history has the conversation.
    assert (await carol.groups.info(group.conv)).name == NAME
    assert [m.text for m in await bob.history(group.conv)] == plaintexts[1:]
    before = parse_group_envelope(newest_body(server, alice))

    # carol is removed: her SDK hears it, then sees nothing more.
    await alice.groups.remove(group.conv, carol.account_id)
    removed = await carol_groups.next("removed")
    assert removed.account == carol.account_id and removed.by == alice.account_id
    secret = "Surprise pour Marie samedi 🎂"
    plaintexts.append(secret)
    await alice.groups.send_text(group.conv, secret)
    for client in (bob, laptop):
        await sees[client.device_id].text(secret)
    with pytest.raises(TimeoutError):
        await sees[carol.device_id].next(Message, within=1.0)

    # The message was sent on a new session carol never got: even with the ciphertext in hand, her
    # SDK cannot read it, and the server refuses her asking a member for the key.
    body = newest_body(server, alice)
    after = parse_group_envelope(body)
    assert after.session_id != before.session_id and after.sender_key == before.sender_key
    alice_device = await carol.groups.keys.devices.device(alice.account_id, alice.device_id)
    assert alice_device is not None
    megolm = await carol.groups.keys.megolm()
    with pytest.raises(UnknownSession):
        megolm.decrypt(body, alice_device.peer, group.conv)
    request = {"conv": group.conv, "session_id": after.session_id, "sender_key": after.sender_key, "index": 0}
    with pytest.raises(NotFound):
        await carol.groups.keys.olm_send(ConversationId(group.conv), [alice_device], KEY_REQUEST, request)

    assert_absent(plaintexts, server.server_files())


async def test_invite_links_admins_and_late_joiners(people: People, server: ServerHandle) -> None:
    alice, bob, carol, dave = people.alice, people.bob, people.carol, people.dave
    group = await alice.groups.create(NAME, [bob.account_id])
    dave_sees = Watcher(dave)

    # Only admins change members.
    with pytest.raises(Forbidden):
        await bob.groups.add(group.conv, [carol.account_id])
    with pytest.raises(Forbidden):
        await bob.groups.remove(group.conv, alice.account_id)
    with pytest.raises(Forbidden):
        await bob.groups.create_invite(group.conv)

    link = await alice.groups.create_invite(group.conv)
    spare = await alice.groups.create_invite(group.conv)
    assert link.token and {i.invite_id for i in await alice.groups.invites(group.conv)} == {
        link.invite_id,
        spare.invite_id,
    }
    assert link.token is not None and spare.token is not None
    joined = await dave.groups.join(link.token)
    assert dave.account_id in joined.members and joined.conv == group.conv

    text = "Bienvenue Dave 👋"
    await alice.groups.send_text(group.conv, text)
    got = await dave_sees.text(text)
    assert got.conv == group.conv and got.sender == alice.account_id
    # The name came with the key, encrypted: dave never saw the message that set it.
    assert (await dave.groups.info(group.conv)).name == NAME

    await alice.groups.revoke_invite(group.conv, spare.invite_id)
    with pytest.raises(NotFound):
        await carol.groups.join(spare.token)
    with pytest.raises(NotFound):
        await carol.groups.info(group.conv)

    # An admin can hand over: bob becomes an admin and adds carol, who reads what follows.
    await alice.groups.promote(group.conv, bob.account_id)
    await bob.groups.add(group.conv, [carol.account_id])
    carol_sees = Watcher(carol)
    await bob.groups.send_text(group.conv, "Salut Marie")
    assert (await carol_sees.text("Salut Marie")).sender == bob.account_id

    # dave leaves; alice's next message is on a new session.
    await dave.groups.leave(group.conv)
    await alice.groups.send_text(group.conv, "Dave est parti")
    with pytest.raises(TimeoutError):
        await dave_sees.next(Message, lambda m: m.text == "Dave est parti", within=1.0)
    assert_absent([NAME, text, "Salut Marie", "Dave est parti", link.token], server.server_files())


async def raw_join(server: ServerHandle, client: Client, token: str) -> httpx.Response:
    """``POST /v1/groups/join`` as the client, answered as it is on the wire."""
    bearer = await client._credentials.token(False)
    async with httpx.AsyncClient(base_url=server.url) as http:
        return await http.post(
            "/v1/groups/join", json={"token": token}, headers={"Authorization": f"Bearer {bearer}"}
        )


async def test_a_removed_member_cannot_rejoin_by_the_old_link_but_one_who_left_can(
    people: People, server: ServerHandle
) -> None:
    """Issue 9: after an admin removed her, carol's old invite link answered 200 and let her back
    in. Now it answers her exactly as a revoked link does, and she receives nothing new; dave, who
    left of his own accord, rejoins by the same link; an admin's add lifts carol's bar."""
    alice, bob, carol, dave = people.alice, people.bob, people.carol, people.dave
    group = await alice.groups.create(NAME, [bob.account_id, carol.account_id, dave.account_id])
    link = await alice.groups.create_invite(group.conv)
    revoked = await alice.groups.create_invite(group.conv)
    assert link.token is not None and revoked.token is not None
    await alice.groups.revoke_invite(group.conv, revoked.invite_id)
    carol_sees, carol_groups = Watcher(carol), GroupWatch(carol)

    await alice.groups.remove(group.conv, carol.account_id)
    await carol_groups.next("removed")

    # The old link answers carol byte for byte as a revoked one, and changes nothing.
    refused = await raw_join(server, carol, link.token)
    like_revoked = await raw_join(server, carol, revoked.token)
    assert refused.status_code == like_revoked.status_code == 404
    assert refused.content == like_revoked.content
    assert refused.json()["error"]["code"] == "not_found"
    with pytest.raises(NotFound):
        await carol.groups.join(link.token)
    assert carol.account_id not in (await alice.groups.info(group.conv)).members
    assert [b["conv"] for b in (await carol.privacy.export())["group_bars"]] == [group.conv]

    # She receives nothing new: alice's message, then a direct message from bob as a sentinel
    # (a device's mailbox is delivered in order, so once the sentinel is in, nothing came before).
    secret = "On se retrouve sans Marie à 10 h"
    await alice.groups.send_text(group.conv, secret)
    await bob.send_text(carol.account_id, "sentinelle")
    await carol_sees.text("sentinelle")
    seen = [e for e in carol_sees.backlog if isinstance(e, Message)]
    assert all(m.conv != group.conv for m in seen), seen
    notices = [carol_groups.queue.get_nowait().event for _ in range(carol_groups.queue.qsize())]
    assert not {"joined", "added"} & set(notices), notices

    # Leaving is not a removal: dave rejoins by the same link.
    await dave.groups.leave(group.conv)
    assert dave.account_id in (await dave.groups.join(link.token)).members

    # An admin may add carol back; that lifts the bar, and after leaving she may use the link.
    assert carol.account_id in (await alice.groups.add(group.conv, [carol.account_id])).members
    assert (await carol.privacy.export())["group_bars"] == []
    await carol.groups.leave(group.conv)
    assert carol.account_id in (await carol.groups.join(link.token)).members
    assert_absent([secret, link.token], server.server_files())
