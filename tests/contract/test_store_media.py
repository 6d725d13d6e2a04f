"""The Store contract for media blobs and uploads (MediaStore), on every adapter (see conftest.py)."""

from __future__ import annotations

import asyncio
import secrets

from passerelle.domain.apps import MediaQuota
from passerelle.domain.ids import AccountId, BlobId, ConversationId, Timestamp
from passerelle.service.ports import Store
from passerelle.service.records import BlobAdmission, BlobRecord, MediaUsage
from tests.contract.conftest import DAY_MS, START, new_person

QUOTA = MediaQuota()
ADMITTED, PENDING = BlobAdmission.ADMITTED, BlobAdmission.TOO_MANY_PENDING


def upload(uploader: AccountId, *, size: int = 1000, expires_at: int = START + DAY_MS) -> BlobRecord:
    return BlobRecord(
        id=BlobId("b_" + secrets.token_urlsafe(32)),
        uploader=uploader,
        conv=ConversationId("d_conversation"),
        size=size,
        received=0,
        complete=False,
        ttl_s=None,
        created_at=Timestamp(START),
        expires_at=Timestamp(expires_at),
    )


async def test_an_upload_reads_back_and_moves_only_from_its_current_offset(store: Store) -> None:
    alice = await new_person(store)
    record = upload(alice.account.id)

    assert ADMITTED is await store.create_blob(record, max_pending=5, quota=QUOTA)
    assert await store.get_blob(record.id) == record
    assert await store.get_blob(BlobId("b_unknown")) is None

    assert await store.advance_upload(record.id, expected=0, received=400)
    assert not await store.advance_upload(record.id, expected=0, received=800)  # stale offset
    assert not await store.advance_upload(record.id, expected=400, received=1001)  # past the size
    assert await store.advance_upload(record.id, expected=400, received=1000)
    found = await store.get_blob(record.id)
    assert found is not None and found.received == 1000 and not found.complete


async def test_finishing_needs_every_byte_and_sets_the_final_expiry(store: Store) -> None:
    alice = await new_person(store)
    record = upload(alice.account.id, size=10)
    assert ADMITTED is await store.create_blob(record, max_pending=5, quota=QUOTA)
    later = Timestamp(START + 30 * DAY_MS)

    assert not await store.finish_upload(record.id, expires_at=later)  # nothing received yet
    await store.advance_upload(record.id, expected=0, received=10)
    assert await store.finish_upload(record.id, expires_at=later)
    assert not await store.finish_upload(record.id, expires_at=later)  # once
    assert not await store.advance_upload(record.id, expected=10, received=10)  # finished: frozen
    assert await store.get_blob(record.id) == BlobRecord(
        id=record.id,
        uploader=record.uploader,
        conv=record.conv,
        size=10,
        received=10,
        complete=True,
        ttl_s=None,
        created_at=record.created_at,
        expires_at=later,
    )


async def test_an_account_holds_a_bounded_number_of_unfinished_uploads(store: Store) -> None:
    alice, bob = await new_person(store), await new_person(store)
    first, second = upload(alice.account.id, size=1), upload(alice.account.id)

    assert ADMITTED is await store.create_blob(first, max_pending=2, quota=QUOTA)
    assert ADMITTED is await store.create_blob(second, max_pending=2, quota=QUOTA)
    refused = upload(alice.account.id)
    assert PENDING is await store.create_blob(refused, max_pending=2, quota=QUOTA)
    assert await store.get_blob(refused.id) is None
    assert ADMITTED is await store.create_blob(
        upload(bob.account.id), max_pending=2, quota=QUOTA
    )  # per account
    # A finished upload no longer counts.
    await store.advance_upload(first.id, expected=0, received=1)
    await store.finish_upload(first.id, expires_at=Timestamp(START + DAY_MS))
    assert ADMITTED is await store.create_blob(refused, max_pending=2, quota=QUOTA)


async def test_expired_blobs_are_listed_oldest_first_and_deleted(store: Store) -> None:
    alice, bob = await new_person(store), await new_person(store)
    soon = upload(alice.account.id, expires_at=START + 1000)
    sooner = upload(bob.account.id, expires_at=START + 500)
    later = upload(alice.account.id, expires_at=START + DAY_MS)
    for record in (soon, sooner, later):
        assert ADMITTED is await store.create_blob(record, max_pending=5, quota=QUOTA)

    assert await store.expired_blobs(now=Timestamp(START + 999), limit=10) == [sooner.id]
    assert await store.expired_blobs(now=Timestamp(START + 1000), limit=10) == [sooner.id, soon.id]
    assert await store.expired_blobs(now=Timestamp(START + 1000), limit=1) == [sooner.id]
    assert {b.id for b in await store.blobs_of(alice.account.id)} == {soon.id, later.id}

    assert await store.delete_blobs([sooner.id, soon.id, BlobId("b_gone")]) == 2
    assert await store.delete_blobs([]) == 0
    assert await store.expired_blobs(now=Timestamp(START + DAY_MS), limit=10) == [later.id]
    assert await store.get_blob(soon.id) is None
    assert await store.get_blob(later.id) == later


async def test_the_quota_bounds_declared_bytes_and_blobs_and_deletion_gives_them_back(store: Store) -> None:
    alice, bob = await new_person(store), await new_person(store)
    quota = MediaQuota(max_bytes=1000, max_blobs=3)
    a = alice.account.id
    assert await store.media_usage(a) == MediaUsage()

    big, small = upload(a, size=700), upload(a, size=300)
    assert ADMITTED is await store.create_blob(big, max_pending=5, quota=quota)
    assert ADMITTED is await store.create_blob(small, max_pending=5, quota=quota)
    assert await store.media_usage(a) == MediaUsage(bytes=1000, blobs=2)
    # One byte more is refused, and nothing of it is kept; another account has its own quota.
    over = upload(a, size=1)
    assert BlobAdmission.OVER_QUOTA is await store.create_blob(over, max_pending=5, quota=quota)
    assert await store.get_blob(over.id) is None
    assert await store.media_usage(a) == MediaUsage(bytes=1000, blobs=2)
    assert ADMITTED is await store.create_blob(upload(bob.account.id, size=1000), max_pending=5, quota=quota)

    # Finished or not, a blob counts until its record is deleted, which gives its size back.
    await store.advance_upload(small.id, expected=0, received=300)
    await store.finish_upload(small.id, expires_at=Timestamp(START + DAY_MS))
    assert await store.delete_blobs([big.id, BlobId("b_gone")]) == 1
    assert await store.media_usage(a) == MediaUsage(bytes=300, blobs=1)
    assert await store.delete_blobs([big.id]) == 0  # twice: given back once
    assert await store.media_usage(a) == MediaUsage(bytes=300, blobs=1)

    # The count is bounded too.
    tiny = [upload(a, size=1) for _ in range(3)]
    assert ADMITTED is await store.create_blob(tiny[0], max_pending=5, quota=quota)
    assert ADMITTED is await store.create_blob(tiny[1], max_pending=5, quota=quota)
    assert BlobAdmission.OVER_QUOTA is await store.create_blob(tiny[2], max_pending=5, quota=quota)
    assert await store.media_usage(a) == MediaUsage(bytes=302, blobs=3)
    assert await store.delete_blobs([small.id, tiny[0].id, tiny[1].id]) == 3
    assert await store.media_usage(a) == MediaUsage()


async def test_concurrent_uploads_cannot_pass_the_quota_together(store: Store) -> None:
    alice = await new_person(store)
    quota = MediaQuota(max_bytes=1000, max_blobs=100)
    records = [upload(alice.account.id, size=100) for _ in range(30)]
    answers = await asyncio.gather(*(store.create_blob(r, max_pending=100, quota=quota) for r in records))
    assert answers.count(ADMITTED) == 10
    assert await store.media_usage(alice.account.id) == MediaUsage(bytes=1000, blobs=10)


async def test_concurrent_uploads_cannot_pass_the_unfinished_limit_together(store: Store) -> None:
    alice = await new_person(store)
    records = [upload(alice.account.id, size=1) for _ in range(12)]
    answers = await asyncio.gather(*(store.create_blob(r, max_pending=4, quota=QUOTA) for r in records))
    assert answers.count(ADMITTED) == 4 and answers.count(PENDING) == 8
    assert await store.media_usage(alice.account.id) == MediaUsage(bytes=4, blobs=4)
