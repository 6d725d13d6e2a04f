"""Stories across apps, through the real server and the real SDK (docs/protocol.md §12).

alice posts on `photo`; her contacts are bob (`chat`), carol (`social`) and dave (`photo`); erin
(`photo`) is not a contact. The story's text, caption, key and file travel only end-to-end
encrypted; the server keeps who posted when and for whom, and deletes the story and its blob at
expiry.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from passerelle.sdk import Client, Message, NotFound
from passerelle.sdk.stories import FALLBACK_TEXT, Story
from tests.conftest import CodeInbox, ServerHandle, assert_absent
from tests.watch import Watcher

PW = "correct horse battery"
BOB_PHONE = "+33698765401"
DAY_S = 86_400


@dataclass
class People:
    alice: Client
    bob: Client
    carol: Client
    dave: Client
    erin: Client

    def all(self) -> tuple[Client, ...]:
        return (self.alice, self.bob, self.carol, self.dave, self.erin)


async def _people(url: str, inbox: CodeInbox, stores: Path) -> People:
    alice = await Client.register(url, stores / "alice", app="photo", handle="alice", password=PW)
    await Client.request_code(url, "chat", BOB_PHONE)
    bob = await Client.register(
        url, stores / "bob", app="chat", phone=BOB_PHONE, code=inbox.code_for(BOB_PHONE), display_name="Bob"
    )
    carol = await Client.register(
        url, stores / "carol", app="social", username="carol.s", display_name="Carol S", password=PW
    )
    dave = await Client.register(url, stores / "dave", app="photo", handle="dave", password=PW)
    erin = await Client.register(url, stores / "erin", app="photo", handle="erin", password=PW)
    people = People(alice, bob, carol, dave, erin)
    for client in people.all():
        await client.connect()
    await carol.settings(findability="everyone")  # social people are found within their app only
    for friend in (bob, carol, dave):  # contacts both ways
        await alice.privacy.add_contact(friend.account_id)
        await friend.privacy.add_contact(alice.account_id)
    return people


@pytest_asyncio.fixture
async def people(server: ServerHandle, tmp_path: Path) -> AsyncIterator[People]:
    found = await _people(server.url, server.inbox, tmp_path / "clients")
    yield found
    for client in found.all():
        await client.close()


def marked(marker: str, size: int) -> bytes:
    out = bytearray(secrets.token_bytes(size))
    tag = marker.encode()
    for at in range(0, size - len(tag), 16 * 1024):
        out[at : at + len(tag)] = tag
    return bytes(out)


def blob_files(handle: ServerHandle) -> list[Path]:
    root = handle.data_dir / "blobs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def get_blob(server: ServerHandle, client: Client, blob: str) -> int:
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{server.url}/v1/media/{blob}", headers={"authorization": f"Bearer {client._rest.token}"}
        )
    return response.status_code


async def test_an_image_story_reaches_contacts_across_apps_with_seen_receipts_and_a_reply(
    people: People, server: ServerHandle
) -> None:
    alice, bob, carol, dave, erin = people.all()
    bob_sees = Watcher(bob)
    photo = marked("STORY-PHOTO-PLAINTEXT", 200_000)
    caption = "Sunset over the secret cove 🌅"

    posted = await alice.stories.post_image(photo, caption=caption, width=1080, height=1920)
    assert set(posted.audience) == {bob.account_id, carol.account_id, dave.account_id}
    # chat and social do not declare the "stories" feature: they also get a readable fallback.
    assert set(posted.fallback_to) == {bob.account_id, carol.account_id}
    fallback = await bob_sees.text(FALLBACK_TEXT)
    assert fallback.sender == alice.account_id

    for viewer in (bob, carol, dave):
        got = await viewer.stories.wait_for_story(author=alice.account_id)
        assert (got.id, got.kind, got.text, got.outgoing) == (posted.id, "image", caption, False)
        [listed] = await viewer.stories.list()
        assert listed.id == posted.id and listed.attachment is not None
        assert await viewer.stories.view(listed) == photo
    # Stories are not chat messages: the fallback is the only message, and dave (whose app shows
    # stories) has none at all.
    assert [m.text for m in await bob.history(fallback.conv)] == [FALLBACK_TEXT]
    assert [c for c in await dave.conversations() if await dave.history(c.conv)] == []

    # Someone who is not a contact sees nothing and cannot fetch the blob.
    assert await erin.stories.list() == []
    att = (await bob.stories.list())[0].attachment
    assert att is not None
    assert await get_blob(server, erin, att.blob) == 404
    assert await get_blob(server, bob, att.blob) == 200

    # Seen by: encrypted receipts reach the author only.
    viewers = await alice.stories.wait_for_viewers(posted.id, 3)
    assert {v.account for v in viewers} == {bob.account_id, carol.account_id, dave.account_id}
    [mine] = await alice.stories.mine()
    assert mine.id == posted.id

    # A reply arrives in the 1:1 conversation, quoting the story.
    alice_sees = Watcher(alice)
    story: Story = (await carol.stories.list())[0]
    await carol.stories.reply(story, "Gorgeous! Where is it?")
    reply = await alice_sees.next(Message, lambda m: m.text == "Gorgeous! Where is it?")
    assert reply.sender == carol.account_id
    assert reply.reply_to is not None
    assert (reply.reply_to.id, reply.reply_to.sender) == (posted.id, alice.account_id)
    assert caption in reply.reply_to.quote

    assert_absent(
        ["STORY-PHOTO-PLAINTEXT", caption, "Gorgeous! Where is it?", att.key, att.sha256],
        server.server_files(),
    )


async def test_a_story_expires_after_24_hours_with_its_blob(people: People, server: ServerHandle) -> None:
    alice, bob = people.alice, people.bob
    text = "Only for today: the secret pastry shop is open"
    video = marked("STORY-VIDEO-PLAINTEXT", 50_000)
    posted_text = await alice.stories.post_text(text, background="#ffcc00")
    posted_video = await alice.stories.post_video(video, caption="clip", duration_ms=3000)
    for posted in (posted_text, posted_video):
        await bob.stories.wait_for_story(story=posted.id)
    stories = {s.id: s for s in await bob.stories.list()}
    assert stories[posted_text.id].text == text and stories[posted_text.id].background == "#ffcc00"
    assert await bob.stories.view(stories[posted_text.id]) is None
    blob = stories[posted_video.id].attachment
    assert blob is not None
    assert len(blob_files(server)) == 1
    store = server.running.services.store

    server.clock.advance(DAY_S - 60)
    await server.running.services.janitor.run_once()
    assert len(await bob.stories.list()) == 2  # not yet

    server.clock.advance(120)
    assert await bob.stories.list() == []  # expired: hidden at once
    with pytest.raises(NotFound):
        await bob.media.blobs.download(blob.blob)
    assert await server.running.services.janitor.run_once() >= 3  # two stories, one blob
    assert await store.get_story(posted_text.id) is None  # type: ignore[arg-type]
    assert await store.get_story(posted_video.id) is None  # type: ignore[arg-type]
    assert await store.get_blob(blob.blob) is None  # type: ignore[arg-type]
    assert blob_files(server) == []
    assert_absent([text, "STORY-VIDEO-PLAINTEXT", blob.key], server.server_files())


async def test_cross_posting_off_blocks_and_deleting_a_story(people: People, server: ServerHandle) -> None:
    alice, bob, carol, dave, erin = people.all()
    assert await alice.stories.cross_app()
    assert not await alice.stories.set_cross_app(False)
    await dave.privacy.block(alice.account_id)  # a block either way leaves one out

    only_photo = await alice.stories.post_text("Photo people only, no cross-posting")
    assert only_photo.audience == ()  # bob and carol are on other apps, dave blocked alice

    await dave.privacy.unblock(alice.account_id)
    assert await alice.stories.set_cross_app(True)
    photo = marked("DELETED-STORY-PLAINTEXT", 20_000)
    posted = await alice.stories.post_image(photo)
    assert set(posted.audience) == {bob.account_id, carol.account_id, dave.account_id}
    got = await dave.stories.wait_for_story(story=posted.id)
    assert got.attachment is not None
    assert [s.id for s in await dave.stories.list()] == [posted.id]

    await alice.stories.delete(posted.id)
    assert await dave.stories.list() == []
    assert [s.id for s in await alice.stories.mine()] == [only_photo.id]  # the first one is still up
    assert await get_blob(server, dave, got.attachment.blob) == 404
    assert blob_files(server) == []
    assert await erin.stories.list() == []
    assert_absent(["DELETED-STORY-PLAINTEXT", "Photo people only, no cross-posting"], server.server_files())
