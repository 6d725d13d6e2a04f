"""Credentials: bearer tokens, login challenges and one-time codes. Shared SQL and transaction
functions (see ``storage.sql.txn``), and ``SqlTokenStore`` and ``SqlCodeStore``, their parts of
``SqlStore``. Only hashes of tokens and codes are stored."""

from __future__ import annotations

from passerelle.domain.ids import AppName, DeviceId, Timestamp
from passerelle.service.records import AccountRecord, CodeRecord, TokenRecord
from passerelle.storage.sql.accounts import get_account_txn
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.part import SqlPart
from passerelle.storage.sql.txn import Txn, count, one

PUT_TOKEN = (
    "INSERT INTO tokens (hash, device, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (hash) DO UPDATE SET device = excluded.device, expires_at = excluded.expires_at"
)
RESOLVE_TOKEN = (
    "SELECT t.device, d.account, t.expires_at FROM tokens t JOIN devices d ON d.id = t.device "
    "WHERE t.hash = ? AND t.expires_at > ?"
)
# The challenges table holds the hashes of *spent* login challenges until they expire (the janitor
# deletes them then): a challenge is issued without a row (service.accounts.auth) and used once.
SPEND_CHALLENGE = (
    "INSERT INTO challenges (challenge, device, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (challenge) DO NOTHING"
)

PUT_CODE = (
    "INSERT INTO codes (app, phone, code_hash, expires_at, attempts_left) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (app, phone) DO UPDATE SET code_hash = excluded.code_hash, "
    "expires_at = excluded.expires_at, attempts_left = excluded.attempts_left"
)
GET_CODE = "SELECT app, phone, code_hash, expires_at, attempts_left FROM codes WHERE app = ? AND phone = ?"
SPEND_ATTEMPT = (
    "UPDATE codes SET attempts_left = attempts_left - 1 "
    "WHERE app = ? AND phone = ? AND attempts_left > 0 RETURNING attempts_left"
)
HAS_CODE = "SELECT attempts_left FROM codes WHERE app = ? AND phone = ?"
DELETE_CODE = "DELETE FROM codes WHERE app = ? AND phone = ?"


def put_token_txn(d: Dialect, token_hash: str, device: DeviceId, expires_at: Timestamp) -> Txn[None]:
    yield from count(PUT_TOKEN, token_hash, device, expires_at)


def resolve_token_txn(d: Dialect, token_hash: str, now: Timestamp) -> Txn[TokenRecord | None]:
    row = yield from one(RESOLVE_TOKEN, token_hash, now)
    if row is None:
        return None
    return TokenRecord(device=row[0], account=row[1], expires_at=row[2])


def resolve_caller_txn(
    d: Dialect, token_hash: str, now: Timestamp
) -> Txn[tuple[TokenRecord, AccountRecord] | None]:
    owner = yield from resolve_token_txn(d, token_hash, now)
    if owner is None:
        return None
    account = yield from get_account_txn(d, owner.account)
    return None if account is None else (owner, account)


def spend_challenge_txn(
    d: Dialect,
    challenge_hash: str,
    device: DeviceId,
    expires_at: Timestamp,
    token_hash: str | None,
    token_expires_at: Timestamp,
) -> Txn[bool]:
    fresh = yield from count(SPEND_CHALLENGE, challenge_hash, device, expires_at)
    if fresh and token_hash is not None:
        yield from count(PUT_TOKEN, token_hash, device, token_expires_at)
    return fresh > 0


def put_code_txn(d: Dialect, record: CodeRecord) -> Txn[None]:
    yield from count(
        PUT_CODE, record.app, record.phone, record.code_hash, record.expires_at, record.attempts_left
    )


def get_code_txn(d: Dialect, app: AppName, phone: str) -> Txn[CodeRecord | None]:
    row = yield from one(GET_CODE, app, phone)
    if row is None:
        return None
    return CodeRecord(app=row[0], phone=row[1], code_hash=row[2], expires_at=row[3], attempts_left=row[4])


def spend_attempt_txn(d: Dialect, app: AppName, phone: str) -> Txn[int]:
    """Never goes below zero: 0 means the code exists but has no attempt left, -1 that there is none."""
    row = yield from one(SPEND_ATTEMPT, app, phone)
    if row is not None:
        left: int = row[0]
        return left
    exists = yield from one(HAS_CODE, app, phone)
    return -1 if exists is None else 0


def delete_code_txn(d: Dialect, app: AppName, phone: str) -> Txn[None]:
    yield from count(DELETE_CODE, app, phone)


class SqlTokenStore(SqlPart):
    """``service.ports.TokenStore``: each method one transaction function above, run on ``_engine``."""

    async def put_token(self, token_hash: str, *, device: DeviceId, expires_at: Timestamp) -> None:
        await self._engine.write(put_token_txn, token_hash, device, expires_at)

    async def resolve_token(self, token_hash: str, *, now: Timestamp) -> TokenRecord | None:
        return await self._engine.read(resolve_token_txn, token_hash, now)

    async def resolve_caller(
        self, token_hash: str, *, now: Timestamp
    ) -> tuple[TokenRecord, AccountRecord] | None:
        return await self._engine.read(resolve_caller_txn, token_hash, now)

    async def spend_challenge(
        self,
        challenge_hash: str,
        *,
        device: DeviceId,
        expires_at: Timestamp,
        token_hash: str | None,
        token_expires_at: Timestamp,
    ) -> bool:
        return await self._engine.write(
            spend_challenge_txn, challenge_hash, device, expires_at, token_hash, token_expires_at
        )


class SqlCodeStore(SqlPart):
    """``service.ports.CodeStore``: each method one transaction function above, run on ``_engine``."""

    async def put_code(self, record: CodeRecord) -> None:
        await self._engine.write(put_code_txn, record)

    async def get_code(self, app: AppName, phone: str) -> CodeRecord | None:
        return await self._engine.read(get_code_txn, app, phone)

    async def spend_attempt(self, app: AppName, phone: str) -> int:
        return await self._engine.write(spend_attempt_txn, app, phone)

    async def delete_code(self, app: AppName, phone: str) -> None:
        await self._engine.write(delete_code_txn, app, phone)
