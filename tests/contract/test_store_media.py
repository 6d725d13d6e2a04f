"""The Store contract for media blobs and uploads (MediaStore), on every adapter (see conftest.py)."""

from __future__ import annotations

import secrets

from passerelle.domain.ids import AccountId, BlobId, ConversationId, Timestamp
from passerelle.service.ports import Store
from passerelle.service.records import BlobRecord
from tests.contract.conftest import DAY_MS, START, new_person


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

    assert await store.create_blob(record, max_pending=5)
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
    await store.create_blob(record, max_pending=5)
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

    assert await store.create_blob(first, max_pending=2)
    assert await store.create_blob(second, max_pending=2)
    refused = upload(alice.account.id)
    assert not await store.create_blob(refused, max_pending=2)
    assert await store.get_blob(refused.id) is None
    assert await store.create_blob(upload(bob.account.id), max_pending=2)  # per account
    # A finished upload no longer counts.
    await store.advance_upload(first.id, expected=0, received=1)
    await store.finish_upload(first.id, expires_at=Timestamp(START + DAY_MS))
    assert await store.create_blob(refused, max_pending=2)


async def test_expired_blobs_are_listed_oldest_first_and_deleted(store: Store) -> None:
    alice, bob = await new_person(store), await new_person(store)
    soon = upload(alice.account.id, expires_at=START + 1000)
    sooner = upload(bob.account.id, expires_at=START + 500)
    later = upload(alice.account.id, expires_at=START + DAY_MS)
    for record in (soon, sooner, later):
        await store.create_blob(record, max_pending=5)

    assert await store.expired_blobs(now=Timestamp(START + 999), limit=10) == [sooner.id]
    assert await store.expired_blobs(now=Timestamp(START + 1000), limit=10) == [sooner.id, soon.id]
    assert await store.expired_blobs(now=Timestamp(START + 1000), limit=1) == [sooner.id]
    assert {b.id for b in await store.blobs_of(alice.account.id)} == {soon.id, later.id}

    assert await store.delete_blobs([sooner.id, soon.id, BlobId("b_gone")]) == 2
    assert await store.delete_blobs([]) == 0
    assert await store.expired_blobs(now=Timestamp(START + DAY_MS), limit=10) == [later.id]
    assert await store.get_blob(soon.id) is None
    assert await store.get_blob(later.id) == later
