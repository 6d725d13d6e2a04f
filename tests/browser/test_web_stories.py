"""Photo and video stories in the browser (docs/protocol.md section 12), encrypted in the page: alice
and erin on the photo web app, bob on the Python SDK (chat). Each posts a story, the others view it,
decrypted where they are; the author sees who viewed it; a reply lands in the direct conversation.
Afterwards none of the captions or file markers is in the server's database, blobs or log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from passerelle.sdk import Client
from passerelle.sdk.stories import Story
from tests.browser.pages import WAIT_MS, find, photo_person, tiny_png
from tests.conftest import ServerHandle, assert_absent
from tests.watch import Watcher

if TYPE_CHECKING:
    from playwright.async_api import Browser, FilePayload, Page

BOB_PHONE = "+33611223344"

# A real WebM made in the page (a canvas recorded by MediaRecorder), so that a player can open it.
RECORD_WEBM = """async ({width, height}) => {
  const canvas = document.createElement("canvas");
  canvas.width = width; canvas.height = height;
  const g = canvas.getContext("2d");
  const stream = canvas.captureStream(25);
  const recorder = new MediaRecorder(stream, {mimeType: "video/webm"});
  const chunks = [];
  recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
  const done = new Promise((r) => (recorder.onstop = r));
  recorder.start(100);
  for (let i = 0; i < 12; i++) {
    g.fillStyle = `hsl(${i * 30}, 80%, 50%)`; g.fillRect(0, 0, width, height);
    await new Promise((r) => setTimeout(r, 60));
  }
  recorder.stop();
  await done;
  return Array.from(new Uint8Array(await new Blob(chunks).arrayBuffer()));
}"""


async def add_contact(page: Page, address: str, name: str) -> None:
    await find(page, address, name)
    await page.get_by_role("button", name="Add to contacts").click()
    await page.get_by_role("button", name="✓ In your contacts").wait_for(timeout=WAIT_MS)


async def open_story(page: Page, label: str) -> None:
    await page.locator("#story-list button", has_text=label).first.click(timeout=WAIT_MS)


async def test_photo_and_video_stories_in_the_page(
    browser: Browser, server: ServerHandle, tmp_path: Path, artifacts: Path
) -> None:
    plaintexts: list[str] = []
    alice = await photo_person(browser, server, "alice", "Alice")
    erin = await photo_person(browser, server, "erin", "Erin")
    bob = await server.register_phone(tmp_path / "bob", BOB_PHONE, display_name="Bob")
    watch = Watcher(bob)
    await bob.connect()
    try:
        # A story's audience is its author's contacts.
        await add_contact(alice, f"chat:{BOB_PHONE}", "Bob")
        await add_contact(alice, "photo:erin", "Erin")
        await add_contact(erin, "photo:alice", "Alice")
        alice_for_bob = await bob.lookup("photo:alice")
        await bob.privacy.add_contact(alice_for_bob.account_id)

        # alice posts a photo story with a caption, encrypted in her page
        photo = tiny_png(b"story-pixels-9137", width=240, height=160)
        caption = "Les falaises d'Étretat ce matin 🌅"
        plaintexts += ["story-pixels-9137", caption]
        await alice.get_by_label("Story text, or a caption", exact=False).fill(caption)
        payload: FilePayload = {"name": "etretat.png", "mimeType": "image/png", "buffer": photo}
        await alice.get_by_label("A photo or video for the story", exact=False).set_input_files(files=payload)
        await alice.get_by_role("button", name="Post the story").click()
        await alice.locator("#story-view", has_text="Posted for 2 people").wait_for(timeout=WAIT_MS)

        # bob's SDK gets it over Olm and decrypts the file to the very bytes alice chose
        story = await bob.stories.wait_for_story(author=alice_for_bob.account_id)
        assert (story.kind, story.text) == ("image", caption)
        assert story.attachment is not None and (story.attachment.width, story.attachment.height) == (
            240,
            160,
        )
        assert await bob.stories.view(story) == photo
        await watch.text("📖 posted a story")  # chat shows no stories: a line of text instead

        # erin sees a new photo story in her list, opens it: the picture is decrypted in her page
        shown = erin.locator("#story-list button", has_text="📷 Alice (photo:alice) · new")
        await shown.wait_for(timeout=WAIT_MS)
        await shown.click()
        picture = erin.locator("#story-view img.story-media[src^='blob:']")
        await picture.wait_for(timeout=WAIT_MS)
        await erin.wait_for_function(
            "() => document.querySelector('#story-view img.story-media').naturalWidth === 240",
            timeout=WAIT_MS,
        )
        assert await picture.get_attribute("alt") == f"Photo story from Alice (photo:alice): {caption}"
        assert await erin.inner_text("#story-view .story-text") == caption
        await erin.locator("#story-list button", has_text="📷 Alice (photo:alice) · seen").wait_for(
            timeout=WAIT_MS
        )
        await erin.screenshot(path=str(artifacts / "photo-web-story-photo.png"), full_page=True)

        # alice sees who viewed it (their encrypted p.story_seen)
        await alice.locator("#story-list button", has_text="seen by 2").wait_for(timeout=WAIT_MS)
        await open_story(alice, "You · seen by 2")
        seen_by = await alice.inner_text("#story-view .seen-by")
        assert "Bob" in seen_by and "Erin" in seen_by

        # bob posts a video story; alice's page decrypts it and her player opens it
        webm = bytes(await alice.evaluate(RECORD_WEBM, {"width": 96, "height": 64}))
        assert webm[:4] == b"\x1a\x45\xdf\xa3"  # an EBML (WebM) header
        video_caption = "La marée monte, regarde 🎬"
        plaintexts.append(video_caption)
        bobs = await bob.stories.post_video(
            webm, mime="video/webm", caption=video_caption, width=96, height=64
        )
        await open_story(alice, "🎬 Bob")
        video = alice.locator("#story-view video.story-media[src^='blob:']")
        await video.wait_for(timeout=WAIT_MS)
        await alice.wait_for_function(
            "() => document.querySelector('#story-view video.story-media').videoWidth === 96", timeout=WAIT_MS
        )
        assert await alice.inner_text("#story-view .story-text") == video_caption
        await alice.screenshot(path=str(artifacts / "photo-web-story-video.png"), full_page=True)
        (viewer,) = await bob.stories.wait_for_viewers(bobs.id, 1)
        assert viewer.account == alice_for_bob.account_id

        # alice replies to bob's story: a message in their conversation that quotes the story
        reply = "Magnifique, j'arrive !"
        plaintexts.append(reply)
        await alice.get_by_label("Reply to Bob", exact=False).fill(reply)
        await alice.get_by_role("button", name="Send the reply").click()
        got = await watch.text(reply)
        assert got.reply_to is not None and got.reply_to.id == bobs.id
        assert got.reply_to.quote == f"🎬 Story: {video_caption}"
        await alice.locator("#story-view [role=status]", has_text="Your reply is in").wait_for(
            timeout=WAIT_MS
        )

        # alice posts a video story from her page; bob's SDK decrypts the same bytes
        await alice.get_by_label("Story text, or a caption", exact=False).fill("")
        clip: FilePayload = {"name": "vagues.webm", "mimeType": "video/webm", "buffer": webm}
        await alice.get_by_label("A photo or video for the story", exact=False).set_input_files(files=clip)
        await alice.get_by_role("button", name="Post the story").click()
        await alice.locator("#story-view", has_text="Posted for 2 people").wait_for(timeout=WAIT_MS)
        clip_story = await watch_story(bob, alice_for_bob.account_id, kind="video")
        assert clip_story.text == "" and clip_story.attachment is not None
        assert clip_story.attachment.mime == "video/webm" and clip_story.attachment.width == 96
        assert await bob.stories.view(clip_story) == webm

        # alice takes her photo story down: it leaves bob's list
        await open_story(alice, "📷 You")
        await alice.get_by_role("button", name="Delete this story").click()
        await alice.locator("#story-view", has_text="Your story was deleted").wait_for(timeout=WAIT_MS)
        assert [s.kind for s in await bob.stories.list()] == ["video"]
        await alice.locator("#story-list button", has_text="📷 You").wait_for(
            state="detached", timeout=WAIT_MS
        )
        assert await alice.locator("#story-list button", has_text="🎬 You").count() == 1
    finally:
        await bob.close()
    assert_absent(plaintexts, server.server_files())


async def watch_story(bob: Client, author: str, *, kind: str) -> Story:
    """The first story of that kind from ``author`` on bob's device (several may arrive)."""
    async with asyncio.timeout(WAIT_MS / 1000):
        while True:
            found = [s for s in await bob.stories.list() if s.author == author and s.kind == kind]
            if found:
                return found[0]
            await asyncio.sleep(0.1)
