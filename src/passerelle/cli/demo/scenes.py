"""The demo's scenes beyond text: a message request, a cross-app group with a photo, a member
removed, and (when the SDK has them) a reaction and a story.

Each scene checks on the receivers' screens what it prints, like ``script``; everything that
is content (the group's name, the caption, the file's name and bytes, the reaction, the story's
text) is added to the plaintexts the server's files and logs are searched for at the end.
"""

from __future__ import annotations

import os

from rich.text import Text

from passerelle.cli.chat.view import group_tag, human_size, when
from passerelle.cli.demo.people import DemoFailed, Device, Person
from passerelle.cli.demo.stage import Stage
from passerelle.domain.ids import ConversationId
from passerelle.sdk import Message, RequestEvent, SentMessage
from passerelle.sdk.events import GroupEvent

GROUP_NAME = "Randonneurs du Jura 🥾"
PHOTO_NAME = "crêtes-du-jura.jpg"
PHOTO_CAPTION = "Vue depuis le Crêt de la Neige, ce matin 🌄"
REACTION = "🎉"
STORY_TEXT = "Premier café au sommet du Mont d'Or ☕🏔️"
PHOTO_MARKER = "PASSERELLE-DEMO-PHOTO: des pixels que le serveur ne doit jamais voir"


def demo_photo() -> bytes:
    """A stand-in JPEG: a real header, a distinctive marker the proof searches for, and noise."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + PHOTO_MARKER.encode() + os.urandom(24_000) + b"\xff\xd9"


class Scenes:
    def __init__(self, stage: Stage) -> None:
        self.s = stage

    # --- a message request ---------------------------------------------------------------------------

    async def request(self, alice: Person, bob: Person) -> None:
        s = self.s
        s.section("A message request: alice (Photo) writes to bob (Chat) for the first time")
        await s.say(alice, bob, "Bonjour Bob ! Ça va ? 📸")
        event = await bob.screen.wait_for(
            RequestEvent, lambda r: r.sender == alice.client.account_id, what="bob's request from alice"
        )
        s.note("bob's phone: ✉ a message request from ", s.who(alice), " (not in his contacts, another app)")
        waiting = await bob.client.privacy.requests()
        if [r.conv for r in waiting] != [event.conv]:
            raise DemoFailed(f"bob's requests folder does not hold exactly alice's request: {waiting}")
        s.note("until he accepts, alice sees ✓ delivered but not his read receipts or typing")
        await bob.client.privacy.accept(alice.client.account_id)
        if await bob.client.privacy.requests():
            raise DemoFailed("alice's request is still waiting after bob accepted it")
        contacts = [c.account_id for c in await bob.client.privacy.contacts()]
        if alice.client.account_id not in contacts:
            raise DemoFailed("alice is not among bob's contacts after he accepted")
        s.console.print(Text.assemble("✓ ", s.who(bob), " accepts: ", s.who(alice), " is now a contact"))

    # --- a group across three apps -----------------------------------------------------------------

    async def group(self, alice: Person, bob: Person, carol: Person, laptop: Device) -> None:
        s = self.s
        s.section("A group across three apps (Megolm)")
        members = [alice.account_of(bob), alice.account_of(carol)]
        group = await alice.client.groups.create(GROUP_NAME, members)
        s.secret("group name", GROUP_NAME)
        tag = group_tag(GROUP_NAME)
        s.console.print(
            Text.assemble(s.who(alice), " creates ", tag, " with ", s.who(bob), " and ", s.who(carol))
        )
        s.note("its name is content: it goes to the members encrypted; the server knows only who is in it")
        conv = group.conv
        text = "Samedi : départ 8 h du col de la Faucille ⛰️"
        await self.tell(alice, conv, text, [bob.device, laptop, carol.device])
        s.note("bob's phone, bob's laptop and carol's phone decrypt it; the server stored its body once")
        await self.tell(carol, conv, "Je prends le pique-nique 🧺", [alice.device, bob.device])
        named = await bob.client.groups.info(conv)
        if named.name != GROUP_NAME:
            raise DemoFailed(f"bob's phone does not know the group's name: {named.name!r}")
        s.note("bob's phone shows the group as ", tag, " (decrypted from a member's message)")

        photo = await self.photo(alice, bob, conv)
        await self.react(alice, bob, photo)
        await self.remove(alice, bob, carol, conv)

    async def tell(
        self, sender: Person, conv: ConversationId, text: str, readers: list[Device]
    ) -> SentMessage:
        """``sender`` writes in the group; returns once every one of ``readers`` decrypted it."""
        sent = await sender.client.groups.send_text(conv, text)
        self.s.sent.append(text)
        for device in readers:
            got = await device.screen.wait_for(
                Message,
                lambda m: m.conv == conv and m.text == text,
                what=f"{device.label} receiving {sender.name}'s group message",
            )
            if got.id != sent.id or got.sender != sender.client.account_id:
                raise DemoFailed(f"{device.label} got the group message with the wrong sender or id")
        self.s.console.print(Text.assemble(self.s.who(sender), " → ", group_tag(GROUP_NAME), ": ", text))
        return sent

    async def photo(self, alice: Person, bob: Person, conv: ConversationId) -> Message:
        s = self.s
        data = demo_photo()
        for kind, value in (("caption", PHOTO_CAPTION), ("file name", PHOTO_NAME), ("photo", PHOTO_MARKER)):
            s.secret(kind, value)
        content = await alice.client.media.prepare(
            conv, "image", data, name=PHOTO_NAME, mime="image/jpeg", caption=PHOTO_CAPTION
        )
        await alice.client.groups.send_content(conv, content)
        got = await bob.screen.wait_for(
            Message,
            lambda m: m.conv == conv and m.attachment is not None and m.text == PHOTO_CAPTION,
            what="bob receiving alice's photo",
        )
        s.console.print(
            Text.assemble(s.who(alice), " → ", group_tag(GROUP_NAME), f": 📷 {PHOTO_NAME} — {PHOTO_CAPTION}")
        )
        s.note("encrypted on alice's phone with a fresh key; the server holds only its ciphertext")
        received = await bob.client.media.download(got)
        if received != data:
            raise DemoFailed("the photo bob decrypted is not the one alice sent")
        s.note(f"bob's phone downloads it, checks its hash, decrypts it: {human_size(len(data))}, identical")
        return got

    async def react(self, alice: Person, bob: Person, photo: Message) -> None:
        s = self.s
        s.secret("reaction", REACTION)
        await bob.client.content.react(photo, REACTION)
        mine = alice.client.account_id
        await alice.screen.wait_for(
            Message,
            lambda m: (
                m.client_id == photo.client_id
                and m.sender == mine
                and (bob.client.account_id, REACTION) in m.reactions
            ),
            what="alice seeing bob's reaction",
        )
        s.console.print(Text.assemble(s.who(bob), f" reacts {REACTION} to alice's photo"))
        s.note("alice's phone: ", REACTION, " by bob under her photo (the reaction is encrypted content too)")

    async def story(self, alice: Person, bob: Person) -> None:
        s = self.s
        s.section("A story for 24 hours")
        s.secret("story", STORY_TEXT)
        posted = await bob.client.stories.post_text(STORY_TEXT)
        s.console.print(Text.assemble(s.who(bob), " posts a story: ", STORY_TEXT))
        seen = await alice.client.stories.wait_for_story(author=bob.client.account_id, story=posted.id)
        if seen.text != STORY_TEXT:
            raise DemoFailed("alice's phone shows another text for bob's story")
        s.note(
            f"alice's phone: 📖 bob's story, until {when(seen.expires_at)}; its text went to his"
            " contacts over Olm, the server deletes what it holds at expiry"
        )

    async def remove(self, alice: Person, bob: Person, carol: Person, conv: ConversationId) -> None:
        s = self.s
        await alice.client.groups.remove(conv, alice.account_of(carol))
        await carol.screen.wait_for(
            GroupEvent,
            lambda e: e.conv == conv and e.event == "removed" and e.account == carol.client.account_id,
            what="carol learning she was removed",
        )
        s.console.print(
            Text.assemble(s.who(alice), " removes ", s.who(carol), " from ", group_tag(GROUP_NAME))
        )
        secret = "Carol ne lira jamais ce message 🔒"
        sent = await self.tell(alice, conv, secret, [bob.device])
        s.note("a new Megolm session, shared with bob's devices only")
        # A 1:1 message sent after it reaches carol's mailbox after anything the group could have
        # put there: once it has arrived, nothing from the group can still be on its way.
        after = "Carol, on se voit quand même dimanche ? 🙂"
        await s.say(bob, carol, after)
        late = [
            m
            for m in carol.screen.pending(Message)
            if m.conv == conv and (m.text == secret or (m.id or 0) >= sent.id)
        ]
        kept = [m.text for m in await carol.client.history(conv, limit=50)]
        if late or secret in kept:
            raise DemoFailed("carol received a group message sent after she was removed")
        s.console.print(
            Text.assemble("✓ ", s.who(carol), " received nothing sent to the group after her removal")
        )
