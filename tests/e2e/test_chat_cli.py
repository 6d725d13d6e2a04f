"""``passerelle chat``: two people in two terminals, on two apps, against ``passerelle serve``.

Everything runs as a user would run it: the server and each client are child processes; the chat
app's one-time code is read from the server's console and typed into the client; passwords come
from ``PASSERELLE_PASSWORD``; the interactive sessions are driven through their standard input.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from passerelle.cli.chat.command import ChatOptions, run_chat
from passerelle.sdk import Client
from tests.conftest import ServerHandle
from tests.e2e.terminals import ALICE, ALICE_LAPTOP, Proc, Terminals

BOB_PHONE = "+33612345678"
PASSWORD = "correct horse battery staple"
SAFETY_ROW = re.compile(r"^    \d{5} \d{5} \d{5} \d{5}$")


@pytest.mark.timeout(180)
async def test_two_people_on_two_apps_write_to_each_other(terminals: Terminals) -> None:
    bob = await terminals.chat(
        "bob", "--app", "chat", "--phone", BOB_PHONE, "--name", "Bob", "--receive", "1"
    )
    await bob.type(await terminals.code_for(BOB_PHONE))  # as read on the server's console
    await bob.line(f"registered on [chat] as chat:{BOB_PHONE}")

    alice = await terminals.chat(
        "alice",
        *ALICE,
        "--send",
        "Bonjour Bob ! Ça va ? 🙂",
        "--to",
        f"chat:{BOB_PHONE}",
        password=PASSWORD,
    )
    await alice.line("registered on [photo] as photo:alice")
    await alice.line("✓ sent to [chat] Bob")
    assert await alice.exit_status() == 0, alice.output()
    await bob.line("[photo] alice: Bonjour Bob ! Ça va ? 🙂")  # never looked up: named by her profile
    assert await bob.exit_status() == 0, bob.output()

    # Later runs resume from the store: no registration, no password, no code.
    bob = await terminals.chat("bob", "--send", "Très bien, merci Alice ✨", "--to", "photo:alice")
    await bob.line("✓ sent to [photo] alice")
    assert await bob.exit_status() == 0, bob.output()
    alice = await terminals.chat("alice", "--receive", "1", "--timeout", "20")
    await alice.line("[chat] Bob: Très bien, merci Alice ✨")
    assert await alice.exit_status() == 0, alice.output()
    assert "registered" not in alice.output()


@pytest.mark.timeout(180)
async def test_an_interactive_session_on_each_side(terminals: Terminals) -> None:
    alice = await terminals.chat("alice", *ALICE, password=PASSWORD)
    await alice.line("Connected as [photo] photo:alice")
    bob = await terminals.chat("bob", "--app", "chat", "--phone", BOB_PHONE, "--name", "Bob")
    await bob.type(await terminals.code_for(BOB_PHONE))
    await bob.line(f"Connected as [chat] chat:{BOB_PHONE}")

    await bob.type("hello?")
    await bob.line("pick someone first: /to photo:alice")
    await bob.type("/to photo:alice")
    await bob.line("Now talking to [photo] alice")
    await bob.type("Salut Alice, ça marche ! 🎉 [bold]not markup[/bold]")
    await bob.line("you → [photo] alice: Salut Alice, ça marche ! 🎉 [bold]not markup[/bold] ✓")
    await alice.line(
        "[chat] Bob: Salut Alice, ça marche ! 🎉 [bold]not markup[/bold]"
    )  # live, while she waits
    await bob.line('✓ delivered "Salut Alice, ça marche ! 🎉 [bold]not ma…"')

    await alice.type(f"/to chat:{BOB_PHONE}")
    await alice.line("Now talking to [chat] Bob")
    await alice.type("Bien reçu, Bob 👍")
    await bob.line("[photo] alice: Bien reçu, Bob 👍")
    await alice.type("/read")
    await alice.line("marked 1 message read")
    await bob.line('✓✓ read by [photo] alice "Salut Alice, ça marche ! 🎉 [bold]not ma…"')

    await bob.type("/timer 24h")
    await bob.line("⏱ you set disappearing messages to 24 hours")
    await alice.line("⏱ [chat] Bob set disappearing messages to 24 hours")
    await bob.type("/list")
    await bob.line(re.compile(r"^\*1\. \[photo\] alice  ⏱ 24 hours"))
    await bob.type("/history 5")
    await bob.line("you: Salut Alice, ça marche !")
    await bob.line("[photo] alice: Bien reçu, Bob 👍")
    await bob.type("/devices")
    await bob.line("(this one)")

    await bob.type("/safety")
    await alice.type("/safety")
    on_bob = [await bob.line(SAFETY_ROW) for _ in range(3)]
    on_alice = [await alice.line(SAFETY_ROW) for _ in range(3)]
    assert on_bob == on_alice

    await bob.type("/quit")
    assert await bob.exit_status() == 0, bob.output()
    assert await alice.exit_status() == 0, alice.output()  # the end of her input (Ctrl-D) ends it too


@pytest.mark.timeout(120)
async def test_a_second_device_and_a_wrong_password(terminals: Terminals) -> None:
    alice = await terminals.chat("alice", *ALICE, "--receive", "1", password=PASSWORD)
    await alice.line("registered on [photo] as photo:alice")
    wrong = await terminals.chat(
        "alice-laptop",
        *ALICE,
        "--new-device",
        "--receive",
        "1",
        password="not it!",
    )
    await wrong.line("✗")
    assert await wrong.exit_status() == 1

    laptop = await terminals.chat(
        "alice-laptop",
        *ALICE_LAPTOP,
        "--send",
        "a note to myself? no: to carol",
        "--to",
        "photo:nobody_here",
        password=PASSWORD,
    )
    await laptop.line("this device was added to [photo] photo:alice")
    await laptop.line("nobody there")
    assert await laptop.exit_status() == 1
    await alice.stop()


async def test_a_resumed_device_takes_its_colours_from_its_own_server(
    server: ServerHandle, tmp_path: Path
) -> None:
    for handle in ("alice", "bob"):
        client = await Client.register(
            server.url, tmp_path / handle, app="photo", handle=handle, password=PASSWORD
        )
        await client.close()
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, color_system="truecolor", soft_wrap=True)
    # --server names nothing (a closed port): the store knows where the device's server is.
    options = ChatOptions(server="http://127.0.0.1:9", store=tmp_path / "alice", send="hi", to="photo:bob")
    assert await run_chat(options, console=console) == 0, screen.getvalue()
    assert "sent to" in screen.getvalue()
    assert "38;2;193;53;132" in screen.getvalue()  # the photo app's primary colour, #c13584


NUMBER = re.compile(r"^\((\d+)\) ")
SAVE_HINT = re.compile(r"/save (\d+) <path>$")


async def two_people(terminals: Terminals) -> tuple[Proc, Proc]:
    """alice on photo and bob on chat, each in an interactive session."""
    alice = await terminals.chat("alice", *ALICE, password=PASSWORD)
    await alice.line("Connected as [photo] photo:alice")
    bob = await terminals.chat("bob", "--app", "chat", "--phone", BOB_PHONE, "--name", "Bob")
    await bob.type(await terminals.code_for(BOB_PHONE))
    await bob.line(f"Connected as [chat] chat:{BOB_PHONE}")
    return alice, bob


@pytest.mark.timeout(180)
async def test_a_group_made_in_one_terminal_talks_and_a_file_is_saved_in_the_other(
    terminals: Terminals, tmp_path: Path
) -> None:
    alice, bob = await two_people(terminals)

    await alice.type(f'/group new "Vélo du dimanche 🚲" chat:{BOB_PHONE}')
    await alice.line("👥 you created #Vélo du dimanche 🚲 with [chat] Bob — now talking there")
    await alice.type("On part à 9 h devant la boulangerie 🥐")
    await alice.line("you → #Vélo du dimanche 🚲: On part à 9 h devant la boulangerie 🥐 ✓")
    await bob.line("👥 [photo] alice added you to #Vélo du dimanche 🚲")  # by name, never by its id
    await bob.line(re.compile(r"^\(\d+\) \d\d:\d\d #Vélo du dimanche 🚲 › \[photo\] alice: On part à 9 h"))

    await bob.type("/groups")
    await bob.line(re.compile(r"^\*#1 #Vélo du dimanche 🚲  2 members$"))  # already the current one
    await bob.type("/to #vélo")
    await bob.line("Now talking in #Vélo du dimanche 🚲")
    await bob.type("J'apporte le café ☕")
    await alice.line("#Vélo du dimanche 🚲 › [chat] Bob: J'apporte le café ☕")

    # A file, sent to the group: encrypted before upload, announced, then saved and decrypted.
    original = "Itinéraire : Besançon → Ornans, 42 km\n".encode() + bytes(range(256)) * 40
    route = tmp_path / "itinéraire.gpx"
    route.write_bytes(original)
    await alice.type(f"/send-file '{route}' le parcours de dimanche")
    await alice.line(
        "📎 file 'itinéraire.gpx', 10.3 kB — le parcours de dimanche ✓ (encrypted before upload)"
    )
    await bob.line("› [photo] alice: le parcours de dimanche")
    hint = await bob.line(SAVE_HINT)
    assert "📎 file 'itinéraire.gpx', 10.3 kB (" in hint
    number = SAVE_HINT.search(hint)
    assert number is not None
    saved = tmp_path / "saved.gpx"
    await bob.type(f"/save {number[1]} {saved}")
    await bob.line(f"✓ saved file (10.3 kB, hash verified, decrypted) to {saved}")
    assert saved.read_bytes() == original

    # Removed from the group: bob sees it, and nothing alice writes there afterwards.
    await alice.type(f"/group remove chat:{BOB_PHONE}")
    await alice.line("👥 you removed [chat] Bob from #Vélo du dimanche 🚲")
    await bob.line("👥 [photo] alice removed you from #Vélo du dimanche 🚲")
    await alice.type("Bob ne lira pas ceci")
    await alice.line("you → #Vélo du dimanche 🚲: Bob ne lira pas ceci ✓")
    await bob.type("/groups")
    await bob.line("no groups yet")
    await alice.type("/quit")
    assert await alice.exit_status() == 0, alice.output()
    assert await bob.exit_status() == 0, bob.output()
    assert "Bob ne lira pas ceci" not in bob.output()


@pytest.mark.timeout(180)
async def test_a_message_request_is_accepted_and_a_photo_saved(terminals: Terminals, tmp_path: Path) -> None:
    alice, bob = await two_people(terminals)

    await alice.type(f"/to chat:{BOB_PHONE}")
    await alice.line("Now talking to [chat] Bob")
    await alice.type("Bonjour Bob, on s'est vus au salon ?")
    await bob.line("[photo] alice: Bonjour Bob, on s'est vus au salon ?")
    await bob.line(
        "✉ a message request from [photo] alice (not in your contacts): /accept, /decline or /block"
    )
    await bob.type("/requests")
    await bob.line(re.compile(r"^ 1\. \[photo\] alice  since "))
    await bob.type("/accept 1")
    await bob.line("✓ you accepted [photo] alice's request: now a contact (talking to them)")
    await bob.type("/requests")
    await bob.line("no message requests")

    photo = tmp_path / "salon.jpg"
    original = b"\xff\xd8\xff\xe0 not really a JPEG, but bytes all the same " * 100
    photo.write_bytes(original)
    await bob.type(f"/send-file {photo} Au salon 📸")
    await bob.line("📎 image 'salon.jpg', 4.7 kB — Au salon 📸 ✓")
    await alice.line("[chat] Bob: Au salon 📸")
    hint = await alice.line(SAVE_HINT)
    assert "📎 image 'salon.jpg', 4.7 kB (image/jpeg)" in hint
    number = SAVE_HINT.search(hint)
    assert number is not None
    folder = tmp_path / "downloads"
    folder.mkdir()
    await alice.type(f"/save {number[1]} {folder}")
    await alice.line(f"to {folder / 'salon.jpg'}")
    assert (folder / "salon.jpg").read_bytes() == original

    await alice.type(f"/react {number[1]} 👍")
    await alice.line(f"you reacted 👍 to ({number[1]})")
    await bob.line(re.compile(r"^\(\d+\) \[photo\] alice reacted 👍 to \"Au salon 📸\"$"))
    await bob.type("Et toi, tu y étais samedi ?")
    mine = NUMBER.match(await bob.line("you → [photo] alice: Et toi, tu y étais samedi ? ✓"))
    assert mine is not None
    await bob.type(f"/edit {mine[1]} Et toi, tu y étais dimanche ?")
    await alice.line("✎ [chat] Bob: Et toi, tu y étais dimanche ?  (edited)")

    await bob.type("/quit")
    assert await bob.exit_status() == 0, bob.output()
    assert await alice.exit_status() == 0, alice.output()
