"""The Store contract for stories (StoryStore), on every adapter (see conftest.py)."""

from __future__ import annotations

import secrets

from passerelle.domain.apps import MediaQuota
from passerelle.domain.ids import AccountId, BlobId, ConversationId, Timestamp
from passerelle.service.ports import Store
from passerelle.service.records import BlobAdmission, BlobRecord
from passerelle.service.stories.records import StoryId, StoryRecord
from tests.contract.conftest import DAY_MS, START, new_person

QUOTA = MediaQuota()


def story(author: AccountId, *, created: int = START, audience: int = 0) -> StoryRecord:
    return StoryRecord(
        id=StoryId("s_" + secrets.token_urlsafe(24)),
        author=author,
        created_at=Timestamp(created),
        expires_at=Timestamp(created + DAY_MS),
        audience_size=audience,
    )


def blob_in(story_id: StoryId, uploader: AccountId) -> BlobRecord:
    return BlobRecord(
        id=BlobId("b_" + secrets.token_urlsafe(24)),
        uploader=uploader,
        conv=ConversationId(story_id),
        size=10,
        received=0,
        complete=False,
        ttl_s=None,
        created_at=Timestamp(START),
        expires_at=Timestamp(START + DAY_MS),
    )


async def test_a_story_reads_back_with_its_audience_and_is_visible_to_it_only(store: Store) -> None:
    alice, bob, carol, dave = [await new_person(store) for _ in range(4)]
    a, b, c, d = (p.account.id for p in (alice, bob, carol, dave))
    first = story(a, audience=2)
    await store.create_story(first, [b, c, b])  # a repeat is kept once
    second = story(b, created=START + 1000, audience=1)
    await store.create_story(second, [a])

    assert await store.get_story(first.id) == first
    assert await store.get_story(StoryId("s_unknown")) is None
    assert await store.in_story_audience(first.id, b)
    assert not await store.in_story_audience(first.id, d)
    assert not await store.in_story_audience(first.id, a)  # the author is not in the audience
    now = Timestamp(START + 5000)
    assert await store.visible_stories(a, now=now) == [first, second]  # mine and bob's, oldest first
    assert await store.visible_stories(c, now=now) == [first]
    assert await store.visible_stories(d, now=now) == []
    assert await store.visible_stories(b, now=Timestamp(START + DAY_MS)) == [second]  # first expired
    assert await store.stories_by(a) == [first.id]


async def test_expired_stories_their_blobs_and_deletion(store: Store) -> None:
    alice, bob = await new_person(store), await new_person(store)
    a, b = alice.account.id, bob.account.id
    old = story(a)
    young = story(a, created=START + DAY_MS)
    for s in (old, young):
        await store.create_story(s, [b])
    blob = blob_in(old.id, a)
    assert BlobAdmission.ADMITTED is await store.create_blob(blob, max_pending=5, quota=QUOTA)

    assert await store.expired_stories(now=Timestamp(START + DAY_MS), limit=10) == [old.id]
    assert await store.expired_stories(now=Timestamp(START + DAY_MS - 1), limit=10) == []
    assert await store.story_blobs([old.id, young.id]) == [blob.id]
    assert await store.story_blobs([]) == []

    assert await store.delete_stories([old.id]) == 1
    assert await store.get_story(old.id) is None
    assert not await store.in_story_audience(old.id, b)
    assert await store.delete_stories([old.id]) == 0
    assert await store.delete_stories([]) == 0
    assert await store.get_story(young.id) == young


async def test_the_cross_app_setting_defaults_to_true_and_erasure_forgets_a_person(store: Store) -> None:
    alice, bob = await new_person(store), await new_person(store)
    a, b = alice.account.id, bob.account.id
    assert await store.story_cross_app(a)
    await store.set_story_cross_app(a, False)
    assert not await store.story_cross_app(a)
    await store.set_story_cross_app(a, True)
    assert await store.story_cross_app(a)
    await store.set_story_cross_app(b, False)

    posted = story(a)
    await store.create_story(posted, [b])
    await store.forget_story_person(b)
    assert not await store.in_story_audience(posted.id, b)
    assert await store.story_cross_app(b)  # back to the default
    assert await store.get_story(posted.id) == posted
