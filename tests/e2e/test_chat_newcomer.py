"""``passerelle chat`` along a newcomer's path (issue 8): what a first-time user types and must see.

The server and every client are child processes (``tests/e2e/terminals.py``), driven through their
standard input as a person types; the chat app's one-time code is read from the server's console.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.terminals import ALICE, ALICE_LAPTOP, Proc, Terminals
from tests.ports import reserved_port

BOB_PHONE = "+33612345678"
PASSWORD = "correct horse battery staple"
NUMBER = re.compile(r"^\((\d+)\) ")


def number_of(line: str) -> str:
    found = NUMBER.match(line)
    assert found is not None, line
    return found[1]


async def alice_on_photo(terminals: Terminals) -> Proc:
    alice = await terminals.chat("alice", *ALICE, password=PASSWORD)
    await alice.line("Connected as [photo] photo:alice")
    return alice


async def bob_on_chat(terminals: Terminals) -> Proc:
    bob = await terminals.chat("bob", "--app", "chat", "--phone", BOB_PHONE, "--name", "Bob")
    await bob.type(await terminals.code_for(BOB_PHONE))
    await bob.line(f"Connected as [chat] chat:{BOB_PHONE}")
    return bob


@pytest.mark.timeout(240)
async def test_the_readme_group_across_three_apps(terminals: Terminals) -> None:
    alice = await alice_on_photo(terminals)
    bob = await bob_on_chat(terminals)
    carol = await terminals.chat(
        "carol", "--app", "social", "--username", "carol.b", "--name", "Carol B.", password=PASSWORD
    )
    await carol.line("Connected as [social] social:carol.b")

    # social's people are findable from social only, by default: the tour's group fails as written...
    await alice.type(f"/group new Vélo du dimanche chat:{BOB_PHONE} social:carol.b")
    hidden = await alice.line("nobody can be found at social:carol.b")
    assert hidden.endswith("(they can change that with /settings findable everyone)")
    # ... until carol changes her setting.
    await carol.type("/settings")
    await carol.line(re.compile(r"^  findable   app +who can find you by your address"))
    await carol.line(re.compile(r"^  receipts   on "))
    await carol.type("/settings findable everyone")
    await carol.line("✓ findable: everyone — anyone, on any app, can find you at social:carol.b")
    await carol.line(re.compile(r"^  findable   everyone "))

    await alice.type(f"/group new Vélo du dimanche chat:{BOB_PHONE} social:carol.b")
    await alice.line(
        "👥 you created #Vélo du dimanche with [chat] Bob and [social] Carol B. — now talking there"
    )
    # Told by name, with who else is in it (never the group's id).
    await bob.line("👥 [photo] alice added you to #Vélo du dimanche with [social] Carol B.")
    await carol.line("👥 [photo] alice added you to #Vélo du dimanche with [chat] Bob")

    await alice.type("On part à 9 h devant la boulangerie 🥐")
    first = await bob.line("#Vélo du dimanche › [photo] alice: On part à 9 h devant la boulangerie 🥐")
    await carol.line("#Vélo du dimanche › [photo] alice: On part à 9 h devant la boulangerie 🥐")

    # A reply is shown with what it answers, to everyone, live...
    await bob.type(f"/reply {number_of(first)} J'apporte le café ☕")
    await bob.line("↩ you replied to")
    reply = await alice.line("#Vélo du dimanche › [chat] Bob: J'apporte le café ☕")
    await alice.line(re.compile(r"^    ↩ replying to \(\d+\) you: “On part à 9 h devant la boulangerie 🥐”$"))
    await carol.line("#Vélo du dimanche › [chat] Bob: J'apporte le café ☕")
    await carol.line(re.compile(r"^    ↩ replying to \(\d+\) \[photo\] alice: “On part à 9 h"))
    await alice.type(f"/react {number_of(reply)} 👍")
    await bob.line(re.compile(r"^\(\d+\) \[photo\] alice reacted 👍 to \"J'apporte le café ☕\"$"))

    # ... and in /history, as live.
    await bob.type("/history")
    await bob.line(re.compile(r"^\(\d+\) \d\d:\d\d #Vélo du dimanche › \[photo\] alice: On part à 9 h"))
    await bob.line(re.compile(r"^\(\d+\) \d\d:\d\d #Vélo du dimanche › you: J'apporte le café ☕"))
    await bob.line(re.compile(r"^    ↩ replying to \(\d+\) \[photo\] alice: “On part à 9 h"))
    await bob.line("    👍 [photo] alice")

    # Removing carol: everyone sees her name, not an id.
    await alice.type("/group remove social:carol.b")
    await alice.line("👥 you removed [social] Carol B. from #Vélo du dimanche")
    await bob.line("👥 [photo] alice removed [social] Carol B. from #Vélo du dimanche")
    await carol.line("👥 [photo] alice removed you from #Vélo du dimanche")
    await carol.type("/groups")
    await carol.line("no groups yet")

    # Added again later: told at once, by name, before anyone writes.
    await alice.type("/group add social:carol.b")
    await alice.line("👥 you added [social] Carol B. to #Vélo du dimanche")
    await carol.line("👥 [photo] alice added you to #Vélo du dimanche with [chat] Bob")
    await bob.line("👥 [photo] alice added [social] Carol B. to #Vélo du dimanche")
    await alice.type("Re-bonjour Carol")
    await carol.line("#Vélo du dimanche › [photo] alice: Re-bonjour Carol")
    await bob.line("#Vélo du dimanche › [photo] alice: Re-bonjour Carol")

    for person in (alice, bob, carol):
        await person.type("/quit")
        assert await person.exit_status() == 0, person.output()
    assert "someone you cannot see" not in bob.output() + carol.output()
    assert "named the group" not in bob.output() + carol.output()  # the name sent again says nothing
    assert "g_" not in bob.output() + carol.output()


@pytest.mark.timeout(240)
async def test_a_failed_to_selects_nobody_a_block_can_be_undone_and_numbers_are_checked(
    terminals: Terminals,
) -> None:
    alice = await alice_on_photo(terminals)
    bob = await bob_on_chat(terminals)

    await alice.type(f"/to chat:{BOB_PHONE}")
    await alice.line("Now talking to [chat] Bob")
    await alice.type("Salut Bob")
    await bob.line("[photo] alice: Salut Bob")

    # A /to that fails leaves nobody selected: the next line goes nowhere, and says so.
    await alice.type("/to photo:nobody_here")
    await alice.line("nobody can be found at photo:nobody_here")
    await alice.line("nobody is selected now")
    await alice.type("Pour personne")
    await alice.line("not sent: pick someone first")
    await alice.type("/to bob")
    await alice.line("an address is app:name, like photo:bob or chat:+33612345678")
    await alice.line("nobody is selected now")
    await alice.type(f"/to chat:{BOB_PHONE}")
    await alice.line("Now talking to [chat] Bob")
    await alice.type("/to #nulle part")
    await alice.line("you are in no group called 'nulle part'")
    await alice.line("nobody is selected now")
    await alice.type("Pour personne non plus")
    await alice.line("not sent: pick someone first")

    # Numbers that name no message.
    await alice.type("/react 99 👍")
    await alice.line("there is no message (99)")
    await alice.type("/save 99 somewhere")
    await alice.line("there is no message (99)")
    await alice.type("/reply 99 quoi ?")
    await alice.line("there is no message (99)")

    # Blocking, then unblocking: the error message's advice works.
    await alice.type(f"/block chat:{BOB_PHONE}")
    await alice.line("⛔ you blocked [chat] Bob")
    await alice.type(f"/to chat:{BOB_PHONE}")
    await alice.line(f"you blocked [chat] Bob: /unblock chat:{BOB_PHONE} to write to them again")
    await alice.line("nobody is selected now")
    await alice.type("Toujours pas")
    await alice.line("not sent: pick someone first")
    await alice.type("/blocked")
    await alice.line(re.compile(r"^ 1\. \[chat\] Bob  blocked "))
    await alice.type("/unblock 1")
    await alice.line("✓ you unblocked [chat] Bob: you can write to each other again")
    await alice.type(f"/to chat:{BOB_PHONE}")
    await alice.line("Now talking to [chat] Bob")
    await alice.type("De retour")
    await bob.line("[photo] alice: De retour")

    # The text limit (docs/protocol.md section 3): said, and nothing sent.
    await alice.type("é" * 16_385)  # 32 770 bytes of UTF-8
    await alice.line("✗ a text message has at most 32768 bytes: not sent")

    # A new device of hers is named by its name.
    laptop = await terminals.chat(
        "alice-laptop",
        *ALICE_LAPTOP,
        "--receive",
        "1",
        "--timeout",
        "1",
        password=PASSWORD,
    )
    await laptop.line("this device was added to [photo] photo:alice")
    await laptop.exit_status()
    await alice.line("🔐 a new device, “laptop”, was added to your account")

    # A group she makes on her phone shows on her laptop as hers, not as "you added you".
    laptop = await terminals.chat("alice-laptop")
    await laptop.line("Connected as [photo] photo:alice")
    await alice.type(f"/group new Duo chat:{BOB_PHONE}")
    await alice.line("👥 you created #Duo with [chat] Bob")
    await laptop.line("👥 you are in #Duo (from another of your devices) with [chat] Bob")
    await bob.line("👥 [photo] alice added you to #Duo")
    await laptop.type("/quit")
    assert await laptop.exit_status() == 0, laptop.output()

    await alice.type("/quit")
    assert await alice.exit_status() == 0, alice.output()
    await bob.type("/quit")
    assert await bob.exit_status() == 0, bob.output()
    assert "Pour personne" not in bob.output()  # neither line
    assert "Toujours pas" not in bob.output()
    assert "éé" not in bob.output()


@pytest.mark.timeout(180)
async def test_sign_up_asks_again_and_leaves_nothing_behind(terminals: Terminals, tmp_path: Path) -> None:
    # A wrong code is asked for again.
    bob = await terminals.chat(
        "bob", "--app", "chat", "--phone", BOB_PHONE, "--name", "Bob", "--receive", "1"
    )
    code = await terminals.code_for(BOB_PHONE)
    wrong = f"{code[:-1]}{(int(code[-1]) + 1) % 10}"
    await bob.type(wrong)
    await bob.line("✗ that code was not accepted: type the code again (2 more tries)")
    await bob.type(code)
    await bob.line(f"registered on [chat] as chat:{BOB_PHONE}")
    await bob.stop()

    # A password too short at sign-up (typed, not from the environment) is asked for again.
    carol = await terminals.chat("carol", "--app", "social", "--username", "carol.b", "--name", "Carol B.")
    await carol.type("short")  # typed at the prompt (which ends no line)
    retry = await carol.line("a password has 8 to")
    assert retry.startswith("Password (or set PASSERELLE_PASSWORD): ✗ ")
    assert retry.endswith(": type the password again (2 more tries)")
    await carol.type(PASSWORD)
    await carol.line("registered on [social] as social:carol.b")
    await carol.stop()

    # Three wrong passwords for a new device: it gives up and leaves no store folder behind.
    store = tmp_path / "nested" / "carol-laptop"
    laptop = await terminals.run(
        "carol-laptop",
        "chat",
        "--server",
        terminals.url,
        "--store",
        str(store),
        "--app",
        "social",
        "--username",
        "carol.b",
        "--new-device",
    )
    for attempt in range(3):
        await laptop.type(f"not the password {attempt}")
    assert await laptop.exit_status() == 1
    assert laptop.output().count("type the password again") == 2
    assert "✗ wrong name or password" in laptop.lines[-1]
    assert not (tmp_path / "nested").exists()


@pytest.mark.timeout(120)
async def test_an_unknown_app_is_said_before_any_question(terminals: Terminals) -> None:
    proc = await terminals.chat("dave", "--app", "fooo", "--handle", "dave")
    assert await proc.exit_status() == 2
    assert proc.lines == [
        f"✗ the server at {terminals.url} has no app 'fooo'; its apps: chat (phone), photo (handle), "
        "social (profile)"
    ]


@pytest.mark.timeout(180)
async def test_a_server_that_is_down_is_named_at_once_and_tried_again(no_server: Terminals) -> None:
    port = reserved_port()
    no_server.url = f"http://127.0.0.1:{port}"

    # One message to send: it gives up after --timeout, saying where it looked.
    once = await no_server.chat(
        "dave", "--send", "hi", "--to", "photo:alice", "--app", "photo", "--handle", "d", "--timeout", "3"
    )
    first = await once.line(f"✗ cannot reach the server at {no_server.url} (connection refused")
    assert first.endswith("; trying again for 3 s")
    assert await once.exit_status() == 1
    assert re.search(r"after \d tries in 3 s; is `passerelle serve` running there\?", once.lines[-1])
    assert "Traceback" not in once.output()

    # An interactive session says so at once and keeps its promise: it connects once the server is up.
    bob = await no_server.chat("bob", "--app", "chat", "--phone", BOB_PHONE, "--name", "Bob")
    first = await bob.line(f"✗ cannot reach the server at {no_server.url} (connection refused")
    assert first.endswith("; trying again until it answers (Ctrl-C to stop)")
    await bob.line("… try 2 in 1 s")
    await no_server.serve(port=port)
    await bob.line(f"✓ the server at {no_server.url} answers")
    await bob.type(await no_server.code_for(BOB_PHONE))
    await bob.line(f"Connected as [chat] chat:{BOB_PHONE}")
    await bob.type(f"/to chat:{BOB_PHONE}")
    await bob.line("that is you")

    alice = await no_server.chat("alice", *ALICE, "--receive", "1", "--timeout", "1", password=PASSWORD)
    await alice.line("registered on [photo] as photo:alice")
    await alice.exit_status()
    await bob.type("/to photo:alice")
    await bob.line("Now talking to [photo] alice")

    # The server goes away mid-session: said at once; a line is not sent, and says so;
    # a /to fails visibly and selects nobody.
    server = no_server.server
    assert server is not None
    await server.stop()
    await bob.line(f"⚠ lost the connection to {no_server.url}; reconnecting by itself")
    await bob.type("Tu es là ?")
    await bob.line(f"✗ not sent: no connection to {no_server.url} right now")
    await bob.type("/to photo:alice")
    failed = await bob.line("✗ cannot reach the server")
    assert f"(at {no_server.url})" in failed
    await bob.line("nobody is selected now")
    # It comes back (same port, same data): the session says so and works again.
    await no_server.serve(port=port)
    await bob.line(f"✓ connected again to {no_server.url}")
    await bob.type(f"/to chat:{BOB_PHONE}")
    await bob.line("that is you")
    await bob.type("/quit")
    assert await bob.exit_status() == 0, bob.output()

    # A resumed device whose server is down: the same, from the URL kept in its store.
    server = no_server.server
    assert server is not None
    await server.stop()
    again = await no_server.run("bob-again", "chat", "--store", str(no_server.tmp_path / "bob"))
    await again.line(f"✗ cannot reach the server at {no_server.url} (connection refused")
    await no_server.serve(port=port)
    await again.line(f"✓ the server at {no_server.url} answers")
    await again.line(f"Connected as [chat] chat:{BOB_PHONE}")
    await again.type("/quit")
    assert await again.exit_status() == 0, again.output()
