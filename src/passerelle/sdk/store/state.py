"""Transaction functions for the device's own state: settings (meta), the crypto pickles, the cache
of peer device keys, contacts and processed mailbox items. Each runs inside ``ClientDatabase.run``.

Values sealed with the StoreKey (token, contacts) are sealed by the caller; here they are bytes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from passerelle.crypto import CryptoChanges, PeerDevice, PickledSession
from passerelle.domain.ids import AccountId, DeviceId

ACCOUNT_PICKLE = "account_pickle"


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownDevice:
    """A peer device whose self-signature was verified when it was fetched."""

    account: AccountId
    device_id: DeviceId
    name: str
    curve25519: str
    ed25519: str
    signature: str

    @property
    def peer(self) -> PeerDevice:
        return PeerDevice(
            account=self.account, device_id=self.device_id, curve25519=self.curve25519, ed25519=self.ed25519
        )


# --- meta ---------------------------------------------------------------------------------------


def get_meta_txn(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, str]:
    marks = ",".join("?" * len(keys))
    rows = conn.execute(f"SELECT key, value FROM meta WHERE key IN ({marks})", tuple(keys)).fetchall()
    return {k: v for k, v in rows}


def set_meta_txn(conn: sqlite3.Connection, values: Mapping[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


# --- crypto state -------------------------------------------------------------------------------


def load_sessions_txn(conn: sqlite3.Connection) -> list[PickledSession]:
    rows = conn.execute("SELECT session_id, peer_key, seq, pickle FROM olm_sessions").fetchall()
    return [PickledSession(session_id=r[0], peer_curve25519=r[1], seq=r[2], pickle=r[3]) for r in rows]


def save_crypto_txn(conn: sqlite3.Connection, changes: CryptoChanges) -> None:
    if changes.account_pickle is not None:
        set_meta_txn(conn, {ACCOUNT_PICKLE: changes.account_pickle})
    conn.executemany(
        "INSERT INTO olm_sessions (session_id, peer_key, seq, pickle) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (session_id) DO UPDATE SET seq = excluded.seq, pickle = excluded.pickle",
        [(s.session_id, s.peer_curve25519, s.seq, s.pickle) for s in changes.sessions],
    )
    conn.executemany(
        "DELETE FROM olm_sessions WHERE session_id = ?", [(sid,) for sid in changes.removed_sessions]
    )


# --- peer device keys ---------------------------------------------------------------------------


def devices_txn(conn: sqlite3.Connection, account: AccountId) -> tuple[list[KnownDevice], int | None]:
    """The cached devices of an account and when the list was fetched (None: never)."""
    fetched = conn.execute("SELECT fetched_at FROM device_lists WHERE account_id = ?", (account,)).fetchone()
    rows = conn.execute(
        "SELECT device_id, name, curve25519, ed25519, signature FROM devices WHERE account_id = ? "
        "ORDER BY device_id",
        (account,),
    ).fetchall()
    devices = [
        KnownDevice(
            account=account,
            device_id=DeviceId(r[0]),
            name=r[1],
            curve25519=r[2],
            ed25519=r[3],
            signature=r[4],
        )
        for r in rows
    ]
    return devices, fetched[0] if fetched else None


def replace_devices_txn(
    conn: sqlite3.Connection, account: AccountId, devices: Iterable[KnownDevice], now: int
) -> None:
    conn.execute("DELETE FROM devices WHERE account_id = ?", (account,))
    conn.executemany(
        "INSERT INTO devices (account_id, device_id, name, curve25519, ed25519, signature) VALUES (?, ?, ?, ?, ?, ?)",
        [(account, d.device_id, d.name, d.curve25519, d.ed25519, d.signature) for d in devices],
    )
    conn.execute(
        "INSERT INTO device_lists (account_id, fetched_at) VALUES (?, ?) "
        "ON CONFLICT (account_id) DO UPDATE SET fetched_at = excluded.fetched_at",
        (account, now),
    )


def forget_device_list_txn(conn: sqlite3.Connection, account: AccountId) -> None:
    """Mark an account's device list stale: it is fetched again before the next send."""
    conn.execute("DELETE FROM device_lists WHERE account_id = ?", (account,))


# --- contacts -----------------------------------------------------------------------------------


def put_contact_txn(conn: sqlite3.Connection, account: AccountId, sealed: bytes) -> None:
    conn.execute(
        "INSERT INTO contacts (account_id, sealed) VALUES (?, ?) "
        "ON CONFLICT (account_id) DO UPDATE SET sealed = excluded.sealed",
        (account, sealed),
    )


def get_contact_txn(conn: sqlite3.Connection, account: AccountId) -> bytes | None:
    row = conn.execute("SELECT sealed FROM contacts WHERE account_id = ?", (account,)).fetchone()
    return bytes(row[0]) if row else None


# --- processed mailbox items ----------------------------------------------------------------------


def processed_txn(conn: sqlite3.Connection, mids: Sequence[int]) -> set[int]:
    """Which of these server message ids were already handled here (redelivery after a reconnect)."""
    if not mids:
        return set()
    marks = ",".join("?" * len(mids))
    rows = conn.execute(f"SELECT mid FROM processed WHERE mid IN ({marks})", tuple(mids)).fetchall()
    return {r[0] for r in rows}


def mark_processed_txn(conn: sqlite3.Connection, mid: int, exp: int) -> None:
    conn.execute("INSERT OR IGNORE INTO processed (mid, exp) VALUES (?, ?)", (mid, exp))


def consume_txn(conn: sqlite3.Connection, changes: CryptoChanges, mid: int | None, exp: int) -> None:
    """An item is consumed: the Olm state its decryption advanced is saved, its id marked processed."""
    save_crypto_txn(conn, changes)
    if mid is not None:
        mark_processed_txn(conn, mid, exp)


def purge_processed_txn(conn: sqlite3.Connection, now: int) -> None:
    """After ``exp`` the server has forgotten the item, so it cannot be delivered again."""
    conn.execute("DELETE FROM processed WHERE exp <= ?", (now,))
