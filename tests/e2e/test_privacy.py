"""Privacy and safety through the real server and the real SDK, across apps: message requests, blocks
in both directions, reports and the moderation API, export, erasure, contacts-only and last seen.

alice is on `photo`, bob on `chat` (a phone number), carol on `social`.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from passerelle.domain.ids import AccountId
from passerelle.domain.safety import PairFacts
from passerelle.sdk import (
    Client,
    Event,
    Forbidden,
    Message,
    NotFound,
    ReceiptEvent,
    RequestEvent,
    TypingEvent,
    Unauthorized,
)
from passerelle.server.runner import running_server
from passerelle.server.wiring import Wired
from tests.conftest import CodeInbox, ServerHandle, SettableClock, assert_absent, make_settings
from tests.watch import Watcher

PW = "correct horse battery"
BOB_PHONE = "+33612345678"
ADMIN = "operator-secret-token-0123456789"


@pytest_asyncio.fixture
async def server(tmp_path: Path, log_file: Path) -> AsyncIterator[ServerHandle]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    inbox = CodeInbox()
    clock = SettableClock()
    settings = make_settings(data_dir, admin_token=ADMIN)
    async with running_server(settings, clock=clock, code_sender=inbox) as running:
        yield ServerHandle(running, data_dir, log_file, inbox, clock)


def services(server: ServerHandle) -> Wired:
    return server.running.services


class People:
    def __init__(self, server: ServerHandle, stores: Path) -> None:
        self.server = server
        self.stores = stores
        self.clients: list[Client] = []

    async def photo(self, handle: str) -> Client:
        client = await Client.register(
            self.server.url, self.stores / handle, app="photo", handle=handle, password=PW
        )
        return await self._connected(client)

    async def chat(self, phone: str = BOB_PHONE, name: str = "Bob") -> Client:
        client = await self.server.register_phone(self.stores / f"{phone}-{name}", phone, display_name=name)
        return await self._connected(client)

    async def social(self, username: str, name: str) -> Client:
        client = await Client.register(
            self.server.url,
            self.stores / username,
            app="social",
            username=username,
            display_name=name,
            password=PW,
        )
        client = await self._connected(client)
        await client.settings(findability="everyone")
        return client

    async def _connected(self, client: Client) -> Client:
        self.clients.append(client)
        await client.connect()
        return client


@pytest_asyncio.fixture
async def people(server: ServerHandle, tmp_path: Path) -> AsyncIterator[People]:
    found = People(server, tmp_path / "clients")
    yield found
    for client in found.clients:
        await client.close()


def watch(client: Client) -> Watcher:
    watcher = Watcher(client)
    client.privacy.on_request(watcher.queue.put_nowait)
    return watcher


def so_far(watcher: Watcher) -> list[Event]:
    """Everything the watcher has received up to now, without waiting."""
    while not watcher.queue.empty():
        watcher.backlog.append(watcher.queue.get_nowait())
    return list(watcher.backlog)


async def test_a_message_from_another_app_waits_as_a_request_until_accepted(people: People) -> None:
    alice, bob = await people.photo("alice"), await people.chat()
    alice_sees, bob_sees = watch(alice), watch(bob)
    bob_id = (await alice.lookup(f"chat:{BOB_PHONE}")).account_id

    first = await alice.send_text(bob_id, "Bonjour Bob, on s'est vus au salon ?")
    got = await bob_sees.text("Bonjour Bob, on s'est vus au salon ?")
    request = await bob_sees.next(RequestEvent)
    assert (request.conv, request.sender, request.message.id) == (got.conv, alice.account_id, first.id)
    [waiting] = await bob.privacy.requests()
    assert (waiting.conv, waiting.sender, waiting.state) == (got.conv, alice.account_id, "request")

    # Delivery receipts flow; read receipts and typing do not reach a requester.
    await alice_sees.next(ReceiptEvent, lambda r: r.kind == "delivered")
    await bob.mark_read(got.conv, [got.id or 0])
    await bob.set_typing(got.conv, True)

    await bob.privacy.accept(alice.account_id)
    assert await bob.privacy.requests() == []
    assert [c.account_id for c in await bob.privacy.contacts()] == [alice.account_id]
    second = await alice.send_text(bob_id, "Oui, au stand photo")
    got_second = await bob_sees.text("Oui, au stand photo")
    await bob.mark_read(got.conv, [got_second.id or 0])
    read = await alice_sees.next(ReceiptEvent, lambda r: r.kind == "read")
    assert read.ids == (second.id,)  # receipts come in order: the one before accepting never came
    assert not [e for e in so_far(alice_sees) if isinstance(e, TypingEvent)]
    assert not [e for e in so_far(bob_sees) if isinstance(e, RequestEvent) and e.message.id == second.id]


async def test_decline_and_block_stops_everything_from_that_person(people: People) -> None:
    # Bob's name has a space: ciphertexts and keys are base64, so it cannot turn up there by chance.
    alice, bob = await people.photo("alice"), await people.chat(name="Bob Lefèvre")
    carol = await people.social("marie.d", "Marie Dupont")
    bob_sees = watch(bob)
    bob_id = (await carol.lookup(f"chat:{BOB_PHONE}")).account_id
    await carol.send_text(bob_id, "Achetez mes cryptos !")
    await bob_sees.next(RequestEvent, lambda r: r.sender == carol.account_id)

    await bob.privacy.decline_and_block(carol.account_id)
    assert await bob.privacy.requests() == []
    assert [r.sender for r in await bob.privacy.requests(declined=True)] == [carol.account_id]
    assert [b.account_id for b in await bob.privacy.blocks()] == [carol.account_id]

    sent = await carol.send_text(bob_id, "Dernière chance !")  # answered like any message
    assert sent.id is not None
    with pytest.raises(NotFound):
        await carol.lookup(f"chat:{BOB_PHONE}")
    await alice.send_text(bob_id, "marqueur")  # committed after carol's: it would come after it
    await bob_sees.text("marqueur")
    texts = [e.text for e in so_far(bob_sees) if isinstance(e, Message)]
    assert "Dernière chance !" not in texts


async def test_a_block_works_both_ways_at_once(people: People) -> None:
    # Bob's name has a space: ciphertexts and keys are base64, so it cannot turn up there by chance.
    alice, bob = await people.photo("alice"), await people.chat(name="Bob Lefèvre")
    carol = await people.social("marie.d", "Marie Dupont")
    alice_sees, bob_sees = watch(alice), watch(bob)
    bob_id = (await alice.lookup(f"chat:{BOB_PHONE}")).account_id
    hello = await alice.send_text(bob_id, "Salut Bob")
    await bob_sees.text("Salut Bob")
    await bob.send_text(alice.account_id, "Salut Alice")  # replying accepts the request
    await alice_sees.text("Salut Alice")

    await bob.privacy.block(alice.account_id)
    # alice's messages look sent to her, and bob gets nothing: not the message, not her typing.
    ghost = await alice.send_text(bob_id, "Tu m'as bloqué ?")
    assert ghost.id is not None and ghost.conv == hello.conv
    await alice.set_typing(hello.conv, True)
    await carol.send_text(bob_id, "marqueur de carol")
    await bob_sees.text("marqueur de carol")
    seen = so_far(bob_sees)
    assert "Tu m'as bloqué ?" not in [e.text for e in seen if isinstance(e, Message)]
    assert not [e for e in seen if isinstance(e, TypingEvent)]
    # bob cannot write to alice; alice can no longer find bob, by address or by id.
    with pytest.raises(Forbidden):
        await bob.send_text(alice.account_id, "un dernier mot")
    with pytest.raises(NotFound):
        await alice.lookup(f"chat:{BOB_PHONE}")
    with pytest.raises(NotFound):
        await alice.profile(bob_id)
    assert (await bob.lookup("photo:alice")).account_id == alice.account_id  # the blocker still can

    await bob.privacy.unblock(alice.account_id)
    await alice.send_text(bob_id, "On se réconcilie ?")
    await bob_sees.text("On se réconcilie ?")
    await bob.send_text(alice.account_id, "D'accord")
    await alice_sees.text("D'accord")


async def test_a_report_reveals_exactly_the_chosen_messages_to_the_moderators(
    people: People, server: ServerHandle
) -> None:
    alice, bob = await people.photo("alice"), await people.chat()
    alice_sees = watch(alice)
    bob_id = (await alice.lookup(f"chat:{BOB_PHONE}")).account_id
    await alice.send_text(bob_id, "Bonjour")
    texts = ["Tu vas le regretter", "Je sais où tu habites", "Rien de grave ici"]
    for text in texts:
        await bob.send_text(alice.account_id, text)
    got = [await alice_sees.text(t) for t in texts]
    chosen = got[:2]

    report_id = await alice.privacy.report(bob_id, chosen, reason="menaces")

    async with httpx.AsyncClient(base_url=server.url) as http:
        for headers in ({}, {"authorization": "Bearer wrong"}):
            refused = await http.get("/v1/admin/reports", headers=headers)
            assert refused.status_code == 401
        answer = await http.get("/v1/admin/reports", headers={"authorization": f"Bearer {ADMIN}"})
    assert answer.status_code == 200
    [listed] = answer.json()["reports"]
    assert (listed["report_id"], listed["reporter"], listed["reported"]) == (
        report_id,
        alice.account_id,
        bob_id,
    )
    assert listed["reason"] == "menaces"
    assert listed["conv"] == chosen[0].conv
    assert listed["messages"] == [
        {"mid": m.id, "id": m.client_id, "sender": bob_id, "ts": m.ts, "text": m.text} for m in chosen
    ]
    # Only what alice chose left the encryption; the admin token is never logged.
    assert_absent(["Rien de grave ici", "Bonjour"], server.database_files())
    assert_absent([ADMIN], server.server_files())


async def test_export_holds_exactly_the_persons_data(people: People) -> None:
    # Bob's name has a space: ciphertexts and keys are base64, so it cannot turn up there by chance.
    alice, bob = await people.photo("alice"), await people.chat(name="Bob Lefèvre")
    carol = await people.social("marie.d", "Marie Dupont")
    alice_sees = watch(alice)
    bob_id = (await alice.lookup(f"chat:{BOB_PHONE}")).account_id
    await alice.send_text(bob_id, "Coucou")
    await bob.send_text(alice.account_id, "Salut")
    salut = await alice_sees.text("Salut")
    await alice.privacy.add_contact(bob_id)
    await alice.privacy.block(carol.account_id)
    mine = await alice.privacy.report(bob_id, [salut], reason="alice's own report")
    # bob's private data, which must not appear in alice's export:
    await bob.privacy.add_contact(carol.account_id)
    await bob.privacy.settings(message_from="contacts", last_seen="nobody")
    theirs = await bob.privacy.report(alice.account_id, [salut], reason="bob's secret report")

    data = await alice.privacy.export()
    assert set(data) == {
        "format", "exported_at", "account", "settings", "devices", "contacts", "blocks",
        "conversations", "mailbox", "sent", "reports", "pending_code", "uploads", "stories",
        "group_bars", "business_consents", "orders", "linked_accounts", "shared_with",
    }  # fmt: skip
    assert data["account"]["account_id"] == alice.account_id
    assert data["account"]["address"] == "photo:alice"
    assert [d["device_id"] for d in data["devices"]] == [alice.device_id]
    assert data["devices"][0]["one_time_keys"]  # her published one-time keys
    assert [c["account_id"] for c in data["contacts"]] == [bob_id]
    assert [b["account_id"] for b in data["blocks"]] == [carol.account_id]
    [conv] = data["conversations"]
    assert set(conv["members"]) == {alice.account_id, bob_id} and conv["state"] == "accepted"
    assert [r["report_id"] for r in data["reports"]] == [mine]
    assert data["settings"]["message_from"] == "everyone"
    text = json.dumps(data, ensure_ascii=False)
    bob_devices = await bob.devices()
    for foreign in [BOB_PHONE, "Bob Lefèvre", theirs, "bob's secret report", "Marie Dupont", "marie.d"]:
        assert foreign not in text
    for device in bob_devices:
        assert device.curve25519 not in text and device.ed25519 not in text


async def drain(events: AsyncIterator[Event]) -> None:
    async for _ in events:
        pass


def rows_naming(db: Path, needles: list[str]) -> list[tuple[str, tuple[object, ...]]]:
    """Every row of every table of the SQLite file that holds one of ``needles``."""
    found: list[tuple[str, tuple[object, ...]]] = []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for cell in row:
                    data = cell if isinstance(cell, bytes) else str(cell).encode()
                    if any(n.encode() in data for n in needles):
                        found.append((table, row))
                        break
    return found


async def test_erasure_leaves_no_row_naming_the_person(people: People, server: ServerHandle) -> None:
    # Bob's name has a space: ciphertexts and keys are base64, so it cannot turn up there by chance.
    alice, bob = await people.photo("alice"), await people.chat(name="Bob Lefèvre")
    carol = await people.social("marie.d", "Marie Dupont")
    alice_sees, bob_sees = watch(alice), watch(bob)
    bob_id = (await alice.lookup(f"chat:{BOB_PHONE}")).account_id
    bob_devices = [d.device_id for d in await bob.devices()]
    await alice.send_text(bob_id, "Bonjour Bob")
    got = await bob_sees.text("Bonjour Bob")
    await bob.send_text(alice.account_id, "Bonjour Alice")
    reply = await alice_sees.text("Bonjour Alice")
    await carol.send_text(bob_id, "Coucou Bob")  # a request waiting for bob
    await alice.privacy.add_contact(bob_id)
    await bob.privacy.add_contact(alice.account_id)
    await bob.privacy.block(carol.account_id)
    await alice.privacy.report(bob_id, [reply])
    await bob.privacy.report(alice.account_id, [got])
    # Everything else a person leaves on a server: a group he created (admin) with an invite link
    # and a message, a file he uploaded, and a story.
    group = await bob.groups.create("Les voisins", [alice.account_id])
    await bob.groups.create_invite(group.conv)
    await bob.groups.send_text(group.conv, "Réunion jeudi")
    await bob.media.send_file(alice.account_id, b"bob's file", name="plan.txt")
    await bob.stories.post_text("Bob's story")
    export = await bob.privacy.export()
    assert len(export["uploads"]) == 1
    assert len(export["stories"]) == 1
    await services(server).privacy.presence.idle()
    db = server.data_dir / "passerelle.db"
    assert rows_naming(db, [bob_id, *bob_devices])  # the scan does find him before

    events = bob.events()
    with pytest.raises(Unauthorized):
        await bob.privacy.erase(code="000000")
    await Client.request_code(server.url, "chat", BOB_PHONE)
    await bob.privacy.erase(code=server.inbox.code_for(BOB_PHONE))

    with pytest.raises(Unauthorized):  # his connection is closed and his device can no longer log in
        await asyncio.wait_for(drain(events), timeout=10)
    await services(server).privacy.presence.idle()
    assert rows_naming(db, [bob_id, *bob_devices, BOB_PHONE]) == []
    blobs = server.data_dir / "blobs"
    assert not blobs.exists() or not [p for p in blobs.rglob("*") if p.is_file()]  # his upload's file too
    with pytest.raises(NotFound):
        await alice.lookup(f"chat:{BOB_PHONE}")
    assert [c.account_id for c in await alice.privacy.contacts()] == []
    # On the server: the direct conversation is gone; the group goes on without him.
    left = await services(server).store.list_conversations(alice.account_id)
    assert [(c.id, c.members) for c in left] == [(group.conv, (alice.account_id,))]
    assert (await alice.groups.info(group.conv)).admins == (alice.account_id,)  # it keeps an admin
    again = await people.chat(name="Robert")  # the phone number is free again
    assert again.account_id != bob_id


async def test_contacts_only_refuses_strangers_and_stores_nothing(people: People) -> None:
    alice = await people.photo("alice")
    carol = await people.social("marie.d", "Marie Dupont")
    carol_sees = watch(carol)
    assert (await carol.privacy.settings(message_from="contacts")).message_from == "contacts"
    carol_id = (await alice.lookup("social:marie.d")).account_id
    with pytest.raises(Forbidden):
        await alice.send_text(carol_id, "Je peux te parler ?")

    await carol.privacy.add_contact(alice.account_id)
    await alice.send_text(carol_id, "Et maintenant ?")
    first = await carol_sees.next(Message)
    assert first.text == "Et maintenant ?"  # the refused one was never stored
    assert not [e for e in so_far(carol_sees) if isinstance(e, RequestEvent)]  # a contact: no request


async def test_last_seen_follows_the_setting(people: People, server: ServerHandle) -> None:
    alice, bob = await people.photo("alice"), await people.chat()
    bob_id = (await alice.lookup(f"chat:{BOB_PHONE}")).account_id
    await services(server).privacy.presence.idle()
    assert (await bob.privacy.settings()).last_seen == "contacts"
    assert await alice.privacy.last_seen(bob_id) is None  # not his contact
    await bob.privacy.add_contact(alice.account_id)
    assert await alice.privacy.last_seen(bob_id) is not None
    await bob.privacy.settings(last_seen="nobody")
    assert await alice.privacy.last_seen(bob_id) is None
    await bob.privacy.settings(last_seen="everyone")
    seen = await alice.privacy.last_seen(bob_id)
    assert seen is not None and seen <= server.clock.now_ms()
    assert await bob.privacy.last_seen(bob_id) == seen


async def test_the_send_path_checks_the_rules_in_memory_until_they_change(
    people: People, server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, dan = await people.photo("alice"), await people.photo("dan")
    dan_sees = watch(dan)
    store = services(server).store
    reads: list[tuple[str, str]] = []
    real = store.pair_facts

    async def counted(a: AccountId, b: AccountId) -> PairFacts:
        reads.append((a, b))
        return await real(a, b)

    monkeypatch.setattr(store, "pair_facts", counted)
    await alice.send_text(dan.account_id, "un")  # same app, a stranger: delivered directly
    await dan_sees.text("un")
    assert not [e for e in so_far(dan_sees) if isinstance(e, RequestEvent)]
    reads.clear()
    for n in range(5):
        await alice.send_text(dan.account_id, f"message {n}")
    await dan_sees.text("message 4")
    assert reads == []  # five sends, no query: the verdict is in the cached route

    await dan.privacy.block(alice.account_id)  # the change drops the cached facts and routes
    await alice.send_text(dan.account_id, "après le blocage")
    assert len(reads) == 1
    await alice.send_text(dan.account_id, "encore")
    assert len(reads) == 1


async def test_report_block_and_lookup_answer_a_hidden_account_as_an_unknown_one(
    people: People, server: ServerHandle
) -> None:
    """Issue 9: a report or a block answered 201/204 for a hidden account and 404 for an unknown id,
    which told anyone whether an account exists. Now both are the same 404, byte for byte; and the
    one who blocked her cannot escape alice's report or block that way."""
    alice = await people.photo("alice")
    erin = await Client.register(
        server.url, people.stores / "erin", app="social", username="erin.x", display_name="Erin", password=PW
    )
    people.clients.append(erin)  # social's default findability is `app`: hidden from alice
    hidden = erin.account_id
    unknown = "a_" + ("z" * (len(hidden) - 2) if not hidden.endswith("z") else "y" * (len(hidden) - 2))
    bearer = {"authorization": f"Bearer {alice._rest.token}"}

    def report(target: str) -> dict[str, object]:
        message = {"id": "m1", "sender": target, "ts": 1, "text": "spam"}
        return {"account_id": target, "messages": [message], "reason": "spam"}

    async with httpx.AsyncClient(base_url=server.url, headers=bearer) as http:
        asks: dict[str, Callable[[str], Awaitable[httpx.Response]]] = {
            "block": lambda t: http.put(f"/v1/blocks/{t}"),
            "report": lambda t: http.post("/v1/reports", json=report(t)),
            "profile": lambda t: http.get(f"/v1/accounts/{t}"),
            "devices": lambda t: http.get(f"/v1/accounts/{t}/devices"),
            "claim": lambda t: http.post("/v1/keys/claim", json={"account_id": t}),
            "contact": lambda t: http.put(f"/v1/contacts/{t}"),
            "conversation": lambda t: http.post("/v1/conversations", json={"with": t}),
        }
        for name, ask in asks.items():
            for_hidden, for_unknown = await ask(hidden), await ask(unknown)
            assert for_hidden.status_code == for_unknown.status_code == 404, name
            assert for_hidden.content == for_unknown.content, name
            assert for_hidden.headers["content-type"] == for_unknown.headers["content-type"]
        by_address = await http.get("/v1/lookup", params={"address": "social:erin.x"})
        nobody = await http.get("/v1/lookup", params={"address": "social:nobody.here"})
        assert by_address.status_code == nobody.status_code == 404
        assert by_address.content == nobody.content
        # Nothing was stored about erin: no block, no report.
        assert (await http.get("/v1/blocks")).json() == {"blocks": []}
        listed = await http.get("/v1/admin/reports", headers={"authorization": f"Bearer {ADMIN}"})
        assert listed.json() == {"reports": []}

        # mallory writes to alice, then blocks her: he is hidden from her now, but she can still
        # report and block him (they share a conversation), so blocking is no way to silence her.
        mallory = await people.chat("+33611111111", "Mallory")
        alice_sees = watch(alice)
        await mallory.send_text(alice.account_id, "Tu vas le regretter")
        [got] = [await alice_sees.text("Tu vas le regretter")]
        await mallory.privacy.block(alice.account_id)
        with pytest.raises(NotFound):
            await alice.profile(mallory.account_id)
        report_id = await alice.privacy.report(mallory.account_id, [got], reason="menaces")
        assert (await http.put(f"/v1/blocks/{mallory.account_id}")).status_code == 204
        listed = await http.get("/v1/admin/reports", headers={"authorization": f"Bearer {ADMIN}"})
        [only] = listed.json()["reports"]
        assert (only["report_id"], only["reported"]) == (report_id, mallory.account_id)
