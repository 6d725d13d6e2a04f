"""Stories: ``client.stories`` posts, lists, views and replies to stories (docs/protocol.md §12).

```python
posted = await client.stories.post_image(photo, caption="Sunset")
for story in await client.stories.list():          # others' stories I may see, decrypted
    data = await client.stories.view(story)        # downloads, verifies, decrypts; sends "seen"
    await client.stories.reply(story, "Wow!")      # a message in our 1:1 conversation
print(await client.stories.viewers(posted.id))
```

Rules
1. A story lives 24 hours. The server computes its audience (the author's contacts, across apps
   unless ``set_cross_app(False)``) and keeps only that and the times; the content (text, caption,
   media key, nonce, hash) goes over Olm as ``p.story`` to every device of the audience and to my
   other devices. A media story's file is encrypted like an attachment (fresh key, §8.3) and
   uploaded into the story, which only the author and the audience may download.
2. Stories never appear as chat messages: the SDK keeps them in its own list. A person whose app
   does not declare the ``stories`` feature also gets, in our 1:1 conversation, the plain-text
   fallback message ``FALLBACK_TEXT`` (the SDK of any app can still list and view the story).
3. "Seen by" is an encrypted receipt: viewing a story sends ``p.story_seen`` to its author (once);
   only the author's devices learn who viewed it.
4. A reply is an ordinary message in the 1:1 conversation with the author; its ``in_reply_to``
   (§11) names the story id (``s_...``) and quotes it, all inside the encryption.
5. ``list`` shows only stories the server still lists: an expired or deleted story disappears.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from passerelle.crypto import b64encode
from passerelle.crypto.attachments import encrypt_file
from passerelle.domain.ids import AccountId
from passerelle.proto.rest import stories as rest_shapes
from passerelle.proto.rest.accounts import Apps
from passerelle.sdk import schema
from passerelle.sdk.core.context import SdkContext
from passerelle.sdk.errors import InvalidInput, NotFound, SdkError
from passerelle.sdk.events import SentMessage
from passerelle.sdk.media.api import fetch_verified
from passerelle.sdk.media.transfer import BlobTransfer
from passerelle.sdk.messaging.inbox import GroupHandler
from passerelle.sdk.messaging.outbox import MAX_TEXT_BYTES, Outbox, new_client_id
from passerelle.sdk.store import story_state
from passerelle.sdk.stories.inbox import STORY, STORY_SEEN, StoryInbox, StoryNews

T = TypeVar("T")
FEATURE = "stories"
FALLBACK_TEXT = "📖 posted a story"
MAX_STORY_TEXT_BYTES = 4096
QUOTE_CHARS = 80


@dataclass(frozen=True, slots=True, kw_only=True)
class Story:
    """A story on this device (someone else's, or mine). ``text``: a text story's text or a media
    story's caption; ``attachment``: the encrypted image or video (``view`` fetches it)."""

    id: str
    author: AccountId
    kind: str
    """"text", "image" or "video"."""
    text: str
    ts: int
    expires_at: int
    outgoing: bool
    viewed: bool
    background: str | None = None
    attachment: schema.Attachment | None = None


StoryList = list[Story]
AccountList = list[AccountId]


@dataclass(frozen=True, slots=True, kw_only=True)
class PostedStory:
    id: str
    expires_at: int
    audience: tuple[AccountId, ...]
    fallback_to: tuple[AccountId, ...]
    """Who got the plain-text fallback message too (their app has no ``stories`` feature)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Viewer:
    account: AccountId
    ts: int


ViewerList = list[Viewer]


def _story(stored: story_state.StoredStory) -> Story:
    c = stored.content
    return Story(
        id=c.id,
        author=AccountId(stored.author),
        kind=c.kind,
        text=c.text,
        ts=c.ts,
        expires_at=c.expires_at,
        outgoing=stored.outgoing,
        viewed=stored.viewed,
        background=c.background,
        attachment=c.attachment,
    )


def quote_of(story: Story) -> str:
    """The short quote a reply carries (and shows): the text, or the kind and caption."""
    label = {"image": "📷 Story", "video": "🎬 Story"}.get(story.kind, "📖 Story")
    text = story.text if len(story.text) <= QUOTE_CHARS else story.text[: QUOTE_CHARS - 1] + "…"
    return f"{label}: {text}" if text else label


class StoriesApi:
    """The ``client.stories`` facade (one per Client)."""

    def __init__(self, ctx: SdkContext, *, outbox: Outbox) -> None:
        self._ctx = ctx
        self._me = ctx.me
        self._rest = ctx.rest
        self._store = ctx.store
        self._outbox = outbox
        self._news = StoryNews()
        self._now = ctx.now_ms
        self._blobs = BlobTransfer(ctx.rest)

    def inbox_handler(self, inner: GroupHandler | None) -> StoryInbox:
        """What the Inbox uses for Olm events other than ``p.msg``: the story events here, the rest
        (group traffic) to ``inner``."""
        return StoryInbox(self._ctx, inner, news=self._news)

    # --- posting -------------------------------------------------------------------------------

    async def post_text(self, text: str, *, background: str | None = None) -> PostedStory:
        if not text or len(text.encode()) > MAX_STORY_TEXT_BYTES:
            raise InvalidInput(f"a text story has 1 to {MAX_STORY_TEXT_BYTES} bytes")
        return await self._post("text", text=text, background=background)

    async def post_image(
        self,
        data: bytes,
        *,
        mime: str = "image/jpeg",
        caption: str = "",
        width: int | None = None,
        height: int | None = None,
    ) -> PostedStory:
        return await self._post("image", data=data, text=caption, mime=mime, width=width, height=height)

    async def post_video(
        self,
        data: bytes,
        *,
        mime: str = "video/mp4",
        caption: str = "",
        duration_ms: int | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> PostedStory:
        return await self._post(
            "video", data=data, text=caption, mime=mime, width=width, height=height, duration_ms=duration_ms
        )

    async def _post(
        self,
        kind: str,
        *,
        text: str,
        data: bytes | None = None,
        background: str | None = None,
        **details: Any,
    ) -> PostedStory:
        if len(text.encode()) > MAX_STORY_TEXT_BYTES:
            raise InvalidInput(f"a caption has at most {MAX_STORY_TEXT_BYTES} bytes")
        posted = await self._rest.call_json(
            "POST", "/v1/stories", rest_shapes.PostedStory, body=rest_shapes.PostStory()
        )
        try:
            attachment = None if data is None else await self._upload(posted.story, kind, data, **details)
            content = story_state.StoryContent(
                id=posted.story,
                ts=self._now(),
                expires_at=posted.expires_at,
                kind=kind,
                text=text,
                background=background,
                attachment=attachment,
            )
            await self._store.db.run(
                story_state.insert_story_txn,
                self._store.key,
                content,
                author=self._me.account_id,
                author_device=self._me.device_id,
                outgoing=True,
            )
        except Exception:
            with contextlib.suppress(SdkError):  # the upload failed: take the empty story down
                await self._rest.call_empty("DELETE", f"/v1/stories/{posted.story}")
            raise
        features = await self._features()
        wire = msgspec.to_builtins(content)
        fallback: AccountList = []
        for member in posted.audience:
            to = AccountId(member.account_id)
            await self._outbox.send_control(STORY, wire, to=to)
            if FEATURE not in features.get(member.app, frozenset()):
                await self._outbox.send_text(to, FALLBACK_TEXT)
                fallback.append(to)
        self._news.changed()
        return PostedStory(
            id=posted.story,
            expires_at=posted.expires_at,
            audience=tuple(AccountId(m.account_id) for m in posted.audience),
            fallback_to=tuple(fallback),
        )

    async def _upload(self, story: str, kind: str, data: bytes, **details: Any) -> schema.Attachment:
        sealed = await asyncio.to_thread(encrypt_file, data)
        blob = await self._blobs.upload_story(story, sealed.blob)
        return schema.Attachment(
            kind=kind,
            blob=blob,
            mime=details.pop("mime"),
            size=sealed.size,
            key=b64encode(sealed.key),
            nonce=b64encode(sealed.nonce),
            sha256=b64encode(sealed.sha256),
            **details,
        )

    async def _features(self) -> dict[str, frozenset[str]]:
        apps = await self._rest.call_json("GET", "/v1/apps", Apps)
        return {a.name: frozenset(a.features) for a in apps.apps}

    # --- reading -------------------------------------------------------------------------------

    async def list(self) -> StoryList:
        """Others' stories that I may see now, oldest first, decrypted (rule 5)."""
        return [s for s in await self._live() if not s.outgoing]

    async def mine(self) -> StoryList:
        """My stories that are still up."""
        return [s for s in await self._live() if s.outgoing]

    async def _live(self) -> StoryList:
        await self.purge_expired()  # expired content leaves this device as soon as we look
        listing = await self._rest.call_json("GET", "/v1/stories", rest_shapes.Stories)
        live = {s.story: s.author for s in listing.stories}
        stored = await self._store.db.run(story_state.stories_txn, self._store.key, now=self._now())
        return [_story(s) for s in stored if live.get(s.content.id) == s.author]

    async def view(self, story: Story | str) -> bytes | None:
        """Show a story: for an image or video, download, verify and decrypt its file (None for a
        text story). Tells the author once, by an encrypted ``p.story_seen``.

        Raises:
            NotFound: expired, deleted, or not shared with me.  TamperedAttachment: the blob is not
            the one the story described.
        """
        found = await self._get(story)
        data = None
        att = found.attachment
        if att is not None:
            data = await fetch_verified(
                self._blobs,
                att.blob,
                key=att.key,
                nonce=att.nonce,
                sha256=att.sha256,
                size=att.size,
                what="story",
            )
        if not found.outgoing and await self._store.db.run(story_state.mark_viewed_txn, found.id):
            seen = story_state.StorySeen(story=found.id, ts=self._now())
            await self._outbox.send_control(STORY_SEEN, msgspec.to_builtins(seen), to=found.author)
        return data

    async def viewers(self, story: Story | str) -> ViewerList:
        """Who viewed my story (from their encrypted receipts), first viewer first."""
        found = await self._get(story, live=False)
        if not found.outgoing:
            raise InvalidInput("only the author of a story learns who viewed it")
        rows = await self._store.db.run(story_state.viewers_txn, found.id)
        return [Viewer(account=AccountId(a), ts=ts) for a, ts in rows]

    async def reply(self, story: Story | str, text: str) -> SentMessage:
        """Answer a story in the 1:1 conversation with its author (rule 4)."""
        found = await self._get(story, live=False)
        if found.outgoing:
            raise InvalidInput("reply to someone else's story")
        if not text or len(text.encode()) > MAX_TEXT_BYTES:
            raise InvalidInput(f"a reply has 1 to {MAX_TEXT_BYTES} bytes")
        content = schema.TextContent(
            id=new_client_id(),
            ts=self._now(),
            body=text,
            in_reply_to=schema.ReplyRef(id=found.id, sender=found.author, quote=quote_of(found)),
        )
        return await self._outbox.send_content(found.author, content)

    async def delete(self, story: Story | str) -> None:
        """Take my story down now: the server deletes it and its file; it leaves every list."""
        story_id = story.id if isinstance(story, Story) else story
        await self._rest.call_empty("DELETE", f"/v1/stories/{story_id}")
        await self._store.db.run(story_state.delete_story_txn, story_id)

    async def purge_expired(self) -> int:
        """Forget stories whose 24 hours are over (their content goes from this device)."""
        return await self._store.db.run(story_state.purge_expired_txn, self._now())

    # --- the cross-app setting -----------------------------------------------------------------

    async def cross_app(self) -> bool:
        return (await self._rest.call_json("GET", "/v1/stories/settings", rest_shapes.CrossApp)).cross_app

    async def set_cross_app(self, allowed: bool) -> bool:
        """Whether my next stories may reach my contacts on other apps (default True)."""
        body = rest_shapes.CrossAppChange(cross_app=allowed)
        return (
            await self._rest.call_json("PATCH", "/v1/stories/settings", rest_shapes.CrossApp, body=body)
        ).cross_app

    # --- waiting -------------------------------------------------------------------------------

    async def wait_for_story(
        self, *, author: str | None = None, story: str | None = None, within: float = 10.0
    ) -> Story:
        """The first story from ``author`` (or with the id ``story``) this device has or receives."""

        async def found() -> Story | None:
            stored = await self._store.db.run(story_state.stories_txn, self._store.key, now=self._now())
            for s in stored:
                if s.outgoing or (author is not None and s.author != author):
                    continue
                if story is None or s.content.id == story:
                    return _story(s)
            return None

        return await self._wait(found, within)

    async def wait_for_viewers(self, story: Story | str, count: int, *, within: float = 10.0) -> ViewerList:
        """My story's viewers once there are at least ``count`` of them."""

        async def enough() -> ViewerList | None:
            viewers = await self.viewers(story)
            return viewers if len(viewers) >= count else None

        return await self._wait(enough, within)

    async def _wait(self, check: Callable[[], Awaitable[T | None]], within: float) -> T:
        async with asyncio.timeout(within):
            while True:
                signal = self._news.current()
                result = await check()
                if result is not None:
                    return result
                await signal.wait()

    async def _get(self, story: Story | str, *, live: bool = True) -> Story:
        story_id = story.id if isinstance(story, Story) else story
        stored = await self._store.db.run(story_state.story_txn, self._store.key, story_id)
        if stored is None or (live and stored.content.expires_at <= self._now()):
            raise NotFound("no such story on this device")
        return _story(stored)


__all__ = ["FALLBACK_TEXT", "PostedStory", "StoriesApi", "Story", "Viewer", "quote_of"]
