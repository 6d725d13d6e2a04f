"""The SDK's local store: encrypted at rest, private files, passphrases, dedupe, expiry, receipts."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from passerelle.crypto import DeviceCrypto
from passerelle.domain.ids import AccountId, AppName, DeviceId
from passerelle.sdk.errors import StoreError
from passerelle.sdk.events import Contact, MessageState, Settings
from passerelle.sdk.schema import TextContent
from passerelle.sdk.store import history, state
from passerelle.sdk.store.db import ClientDatabase
from passerelle.sdk.store.local import Identity, LocalStore

SECRET = "the eagle lands at midnight ✓"


async def insert(
    store: LocalStore,
    *,
    cid: str,
    text: str = SECRET,
    mid: int | None = 1,
    ts: int = 1000,
    expires_at: int | None = None,
    device: str = "dev_b",
    outgoing: bool = False,
) -> history.StoredMessage | None:
    await store.db.run(history.upsert_conversation_txn, "d_c", kind="direct", members=["acc_a", "acc_b"])
    return await store.db.run(
        history.insert_message_txn,
        store.key,
        conv="d_c",
        sender="acc_a" if outgoing else "acc_b",
        sender_device=device,
        content=TextContent(id=cid, ts=ts, body=text),
        mid=mid,
        ts=ts,
        expires_at=expires_at,
        outgoing=outgoing,
        state=(MessageState.PENDING if mid is None else MessageState.SENT)
        if outgoing
        else MessageState.RECEIVED,
    )


async def test_history_is_encrypted_at_rest(tmp_path: Path) -> None:
    store = await LocalStore.create(tmp_path / "s")
    await insert(store, cid="c1")
    await store.put_contact(
        Contact(
            account_id=AccountId("acc_b"),
            app=AppName("chat"),
            display_name="Bob Secret",
            address="chat:+33612345678",
        )
    )
    await store.save_token("tok-very-secret", 99)
    [msg] = await store.history("d_c", limit=10, now=0)
    assert msg.content.body == SECRET
    await store.close()
    files = [p for p in (tmp_path / "s").iterdir() if p.is_file()]
    assert any(p.name == "client.db" for p in files)
    for path in files:
        data = path.read_bytes()
        for needle in (SECRET, "Bob Secret", "+33612345678", "tok-very-secret"):
            assert needle.encode() not in data, f"{needle!r} in {path.name}"
            assert needle.encode("utf-16-le") not in data


async def test_files_are_private(tmp_path: Path) -> None:
    store = await LocalStore.create(tmp_path / "s")
    await store.close()
    assert stat.S_IMODE((tmp_path / "s").stat().st_mode) == 0o700
    for name in ("client.db", "store.key"):
        assert stat.S_IMODE((tmp_path / "s" / name).stat().st_mode) == 0o600


async def test_a_passphrase_store_needs_the_passphrase(tmp_path: Path) -> None:
    store = await LocalStore.create(tmp_path / "s", passphrase="open sesame")
    await insert(store, cid="c1")
    await store.close()
    assert not (tmp_path / "s" / "store.key").exists()
    with pytest.raises(StoreError, match="passphrase"):
        await LocalStore.open(tmp_path / "s")
    with pytest.raises(StoreError, match="wrong passphrase"):
        await LocalStore.open(tmp_path / "s", passphrase="open barley")
    store = await LocalStore.open(tmp_path / "s", passphrase="open sesame")
    [msg] = await store.history("d_c", limit=10, now=0)
    assert msg.content.body == SECRET
    await store.close()


async def test_missing_store_and_double_create(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no local store"):
        await LocalStore.open(tmp_path / "nothing")
    store = await LocalStore.create(tmp_path / "s")
    await store.close()
    with pytest.raises(StoreError, match="already"):
        await LocalStore.create(tmp_path / "s")


async def test_identity_token_settings_and_crypto_round_trip(tmp_path: Path) -> None:
    store = await LocalStore.create(tmp_path / "s")
    with pytest.raises(StoreError):
        await store.identity()
    identity = Identity(
        server_url="http://x",
        app=AppName("chat"),
        account_id=AccountId("acc_a"),
        device_id=DeviceId("dev_a"),
        address="chat:+33612345678",
        device_name="phone",
    )
    await store.save_identity(identity)
    await store.save_token("tok", 1234)
    await store.save_settings(Settings(findability="app", read_receipts=False))
    crypto = DeviceCrypto.new(store.pickle_key)
    await store.save_crypto(crypto.take_changes())
    await store.close()

    store = await LocalStore.open(tmp_path / "s")
    assert await store.identity() == identity
    assert await store.token() == ("tok", 1234)
    assert await store.settings() == Settings(findability="app", read_receipts=False)
    assert (await store.load_crypto()).identity_keys == crypto.identity_keys
    await store.close()


async def test_a_message_is_stored_once_per_sender_device_and_content_id(tmp_path: Path) -> None:
    store = await LocalStore.create(tmp_path / "s")
    first = await insert(store, cid="c1", mid=10)
    assert first is not None
    # The same content re-sent (new server id) is not stored again, but its id maps to it.
    assert await insert(store, cid="c1", mid=11) is None
    by_resend = await store.db.run(history.message_by_mid_txn, store.key, 11)
    assert by_resend is not None
    assert by_resend.row == first.row
    # Another device may use the same client id.
    assert await insert(store, cid="c1", mid=12, device="dev_other") is not None
    assert len(await store.history("d_c", limit=10, now=0)) == 2
    await store.close()


async def test_expired_messages_are_hidden_then_purged(tmp_path: Path) -> None:
    store = await LocalStore.create(tmp_path / "s")
    await insert(store, cid="keep", mid=1, ts=1000)
    await insert(store, cid="gone", mid=2, ts=1001, expires_at=5000, text="disappearing")
    assert [m.client_id for m in await store.history("d_c", limit=10, now=4999)] == ["keep", "gone"]
    assert [m.client_id for m in await store.history("d_c", limit=10, now=5000)] == ["keep"]
    assert await store.purge_expired(5000) == 1
    assert await store.purge_expired(5000) == 0
    assert await store.db.run(history.message_by_mid_txn, store.key, 2) is None
    await store.close()
    assert b"disappearing" not in (tmp_path / "s" / "client.db").read_bytes()


async def test_receipts_move_state_forward_only(tmp_path: Path) -> None:
    store = await LocalStore.create(tmp_path / "s")
    sent = await insert(store, cid="out", mid=None, outgoing=True)
    assert sent is not None
    await store.db.run(history.mark_sent_txn, store.key, sent.row, mid=7, ts=2000, expires_at=None)
    read = await store.db.run(history.advance_state_txn, store.key, [7], MessageState.READ, outgoing=True)
    assert [m.state for m in read] == [MessageState.READ]
    late = await store.db.run(
        history.advance_state_txn, store.key, [7], MessageState.DELIVERED, outgoing=True
    )
    assert late == []
    [msg] = await store.history("d_c", limit=1, now=0)
    assert msg.state is MessageState.READ
    assert msg.mid == 7
    assert msg.ts == 2000
    await store.close()


async def test_history_returns_the_last_messages_oldest_first(tmp_path: Path) -> None:
    store = await LocalStore.create(tmp_path / "s")
    for i in range(5):
        await insert(store, cid=f"c{i}", mid=i + 1, ts=1000 + i)
    assert [m.client_id for m in await store.history("d_c", limit=3, now=0)] == ["c2", "c3", "c4"]
    conversations = await store.db.run(history.conversations_txn)
    assert conversations[0].last_ts == 1004
    await store.close()


async def test_calls_made_together_share_a_commit_and_one_that_fails_is_undone_alone(tmp_path: Path) -> None:
    """A business endpoint's sends in flight write the store together: one transaction for the
    calls waiting, each in its own savepoint, so a failing call leaves the others' writes."""
    db = await ClientDatabase.open(tmp_path / "group.db", create=True)
    try:
        await db.run(lambda conn: conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY)"))

        def put(conn: sqlite3.Connection, key: str) -> str:
            conn.execute("INSERT INTO t (k) VALUES (?)", (key,))
            return key

        def put_then_fail(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO t (k) VALUES ('half')")
            raise ValueError("refused")

        gate = threading.Event()
        busy = asyncio.ensure_future(db.run(lambda conn: gate.wait(10)))  # the thread is busy...
        await asyncio.sleep(0.05)
        together = asyncio.gather(  # ... so these wait together
            db.run(put, "a"),
            db.run(put_then_fail),
            db.run(put, "a"),  # a constraint error: alone, as its own transaction would be
            db.run(put, "b"),
            return_exceptions=True,
        )
        await asyncio.sleep(0.05)
        gate.set()
        await busy
        results = await together
        assert results[0] == "a"
        assert isinstance(results[1], ValueError)
        assert isinstance(results[2], sqlite3.IntegrityError)
        assert results[3] == "b"
        keys = await db.run(lambda conn: [r[0] for r in conn.execute("SELECT k FROM t ORDER BY k")])
        assert keys == ["a", "b"]
    finally:
        await db.close()
    reopened = sqlite3.connect(tmp_path / "group.db")  # committed: on disk for the next open
    assert [r[0] for r in reopened.execute("SELECT k FROM t ORDER BY k")] == ["a", "b"]
    reopened.close()


async def test_a_call_after_close_is_refused(tmp_path: Path) -> None:
    db = await ClientDatabase.open(tmp_path / "closed.db", create=True)
    await db.close()
    with pytest.raises(RuntimeError, match="closed"):
        await db.run(lambda conn: conn.execute("SELECT 1"))


async def test_the_write_ahead_log_is_private_and_an_unsynced_commit_is_on_disk(tmp_path: Path) -> None:
    db = await ClientDatabase.open(tmp_path / "wal.db", create=True)
    await db.run(lambda conn: conn.execute("CREATE TABLE t (k TEXT)"))
    await db.run_unsynced(lambda conn: conn.execute("INSERT INTO t VALUES ('pending')"))
    assert stat.S_IMODE((tmp_path / "wal.db-wal").stat().st_mode) == 0o600
    reader = sqlite3.connect(tmp_path / "wal.db")  # another connection sees it: committed
    assert reader.execute("SELECT k FROM t").fetchall() == [("pending",)]
    reader.close()
    await db.sync()
    await db.close()


def _device(account: str, device_id: str) -> state.KnownDevice:
    return state.KnownDevice(
        account=AccountId(account),
        device_id=DeviceId(device_id),
        name=device_id,
        curve25519="c" + device_id,
        ed25519="e" + device_id,
        signature="s" + device_id,
    )


async def test_a_device_list_read_again_after_it_changed_or_was_forgotten(tmp_path: Path) -> None:
    store = await LocalStore.create(tmp_path / "s")
    acc = AccountId("acc_b")
    assert await store.devices(acc) == ([], None)
    await store.replace_devices(acc, [_device("acc_b", "d1")], 5)
    assert await store.devices(acc) == ([_device("acc_b", "d1")], 5)
    assert await store.devices(acc) == ([_device("acc_b", "d1")], 5)  # from memory: the same
    await store.replace_devices(acc, [_device("acc_b", "d2")], 6)
    assert await store.devices(acc) == ([_device("acc_b", "d2")], 6)
    await store.forget_device_list(acc)
    assert await store.devices(acc) == ([_device("acc_b", "d2")], None)
    await store.close()
