"""The webhook store on SQL (migration ``webhooks``): each business's webhook and the outbox, as
transaction functions (see ``storage.sql.txn``), and ``SqlWebhookStore``, the ``WebhookStore`` port
on either engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.ids import Timestamp
from passerelle.service.business.webhook_ports import OutboxEvent, WebhookConfig, WebhookStore
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.txn import Row, Txn, all_rows, count, one

if TYPE_CHECKING:
    from passerelle.storage.sql.part import SqlEngine

_CONFIG = "business, callback_url, verify_token, app_secret, updated_at, public_only"
SET_WEBHOOK = (
    f"INSERT INTO business_webhooks ({_CONFIG}) SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS "
    "(SELECT 1 FROM businesses WHERE id = ?) ON CONFLICT (business) DO UPDATE SET "
    "callback_url = excluded.callback_url, verify_token = excluded.verify_token, "
    "app_secret = excluded.app_secret, updated_at = excluded.updated_at, public_only = excluded.public_only"
)
GET_WEBHOOK = f"SELECT {_CONFIG} FROM business_webhooks WHERE business = ?"
CLEAR_WEBHOOK = "DELETE FROM business_webhooks WHERE business = ?"
_EVENT = "id, business, body, enqueued_at, attempts, next_at"
PENDING = "SELECT COUNT(*) FROM webhook_outbox WHERE business = ?"
ENQUEUE = (
    "INSERT INTO webhook_outbox (business, body, enqueued_at, attempts, next_at) "
    "SELECT ?, ?, ?, 0, ? WHERE EXISTS (SELECT 1 FROM businesses WHERE id = ?) "
    f"RETURNING {_EVENT}"
)
_HEADS = "SELECT MIN(id) FROM webhook_outbox GROUP BY business"
DUE_HEADS = (
    f"SELECT {_EVENT} FROM webhook_outbox WHERE id IN ({_HEADS}) AND next_at <= ? "
    "ORDER BY next_at, id LIMIT ?"
)
NEXT_DUE = f"SELECT business, next_at FROM webhook_outbox WHERE id IN ({_HEADS}) ORDER BY next_at, id LIMIT ?"
CLAIM = "UPDATE webhook_outbox SET next_at = ? WHERE id = ? AND next_at <= ?"
AFTER_HEAD = f"SELECT {_EVENT} FROM webhook_outbox WHERE business = ? AND id > ? ORDER BY id LIMIT ?"
_IN_CHUNK = 200
POSTPONE = "UPDATE webhook_outbox SET attempts = ?, next_at = ? WHERE id = ?"


def _config(row: Row) -> WebhookConfig:
    return WebhookConfig(
        business=BusinessId(str(row[0])),
        callback_url=str(row[1]),
        verify_token=str(row[2]),
        app_secret=str(row[3]),
        updated_at=Timestamp(int(row[4])),
        public_only=bool(row[5]),
    )


def _event(row: Row) -> OutboxEvent:
    return OutboxEvent(
        id=int(row[0]),
        business=BusinessId(str(row[1])),
        body=bytes(row[2]),
        enqueued_at=Timestamp(int(row[3])),
        attempts=int(row[4]),
        next_at=Timestamp(int(row[5])),
    )


def set_webhook_txn(d: Dialect, c: WebhookConfig) -> Txn[bool]:
    changed = yield from count(
        SET_WEBHOOK,
        c.business,
        c.callback_url,
        c.verify_token,
        c.app_secret,
        c.updated_at,
        c.public_only,
        c.business,
    )
    return changed > 0


def get_webhook_txn(d: Dialect, business: BusinessId) -> Txn[WebhookConfig | None]:
    row = yield from one(GET_WEBHOOK, business)
    return None if row is None else _config(row)


def clear_webhook_txn(d: Dialect, business: BusinessId) -> Txn[bool]:
    return (yield from count(CLEAR_WEBHOOK, business)) > 0


def pending_txn(d: Dialect, business: BusinessId) -> Txn[int]:
    row = yield from one(PENDING, business)
    return 0 if row is None else int(row[0])


def enqueue_txn(
    d: Dialect, business: BusinessId, body: bytes, at: Timestamp, cap: int
) -> Txn[OutboxEvent | None]:
    waiting = yield from pending_txn(d, business)
    if waiting >= cap:
        return None
    row = yield from one(ENQUEUE, business, body, at, at, business)
    return None if row is None else _event(row)


def enqueue_many_txn(
    d: Dialect, business: BusinessId, bodies: Sequence[bytes], at: Timestamp, cap: int
) -> Txn[list[OutboxEvent | None]]:
    events: list[OutboxEvent | None] = []
    for body in bodies:
        events.append((yield from enqueue_txn(d, business, body, at, cap)))
    return events


def claim_due_txn(
    d: Dialect,
    now: Timestamp,
    skip: frozenset[BusinessId],
    limit: int,
    lease_until: Timestamp,
    batch: int,
) -> Txn[list[OutboxEvent]]:
    rows = yield from all_rows(DUE_HEADS, now, limit + len(skip))
    claimed: list[OutboxEvent] = []
    for head in [e for e in map(_event, rows) if e.business not in skip][:limit]:
        # Another sender may have claimed it since the SELECT: PostgreSQL checks next_at again
        # on the row it waited for, and the update then changes nothing. The head's lease is the
        # business's: no other sender takes the events after it while the head is leased.
        if (yield from count(CLAIM, lease_until, head.id, now)) == 0:
            continue
        claimed.append(head)
        if batch <= 1:
            continue
        after = yield from all_rows(AFTER_HEAD, head.business, head.id, batch - 1)
        taken: list[OutboxEvent] = []
        for event in map(_event, after):
            if event.next_at > now:
                break
            taken.append(event)
        yield from _set_next_at([e.id for e in taken], lease_until)
        claimed.extend(taken)
    return claimed


def _set_next_at(ids: list[int], next_at: Timestamp) -> Txn[None]:
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        marks = ", ".join("?" * len(chunk))
        yield from count(f"UPDATE webhook_outbox SET next_at = ? WHERE id IN ({marks})", next_at, *chunk)


def next_due_txn(d: Dialect, skip: frozenset[BusinessId]) -> Txn[Timestamp | None]:
    rows = yield from all_rows(NEXT_DUE, len(skip) + 1)
    due = [int(r[1]) for r in rows if BusinessId(str(r[0])) not in skip]
    return Timestamp(due[0]) if due else None


def settle_txn(d: Dialect, done: Sequence[int], retry: Sequence[OutboxEvent]) -> Txn[None]:
    ids = list(done)
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        marks = ", ".join("?" * len(chunk))
        yield from count(f"DELETE FROM webhook_outbox WHERE id IN ({marks})", *chunk)
    for event in retry:
        yield from count(POSTPONE, event.attempts, event.next_at, event.id)


class SqlWebhookStore:
    """``WebhookStore`` on the engine of a ``SqliteStore`` or a ``PostgresStore``."""

    def __init__(self, engine: SqlEngine) -> None:
        self._engine = engine

    async def set_webhook(self, config: WebhookConfig) -> bool:
        return await self._engine.write(set_webhook_txn, config)

    async def get_webhook(self, business: BusinessId) -> WebhookConfig | None:
        return await self._engine.read(get_webhook_txn, business)

    async def clear_webhook(self, business: BusinessId) -> bool:
        return await self._engine.write(clear_webhook_txn, business)

    async def enqueue(
        self, business: BusinessId, body: bytes, *, at: Timestamp, cap: int
    ) -> OutboxEvent | None:
        return await self._engine.write(enqueue_txn, business, body, at, cap)

    async def enqueue_many(
        self, business: BusinessId, bodies: Sequence[bytes], *, at: Timestamp, cap: int
    ) -> list[OutboxEvent | None]:
        return await self._engine.write(enqueue_many_txn, business, tuple(bodies), at, cap)

    async def claim_due(
        self,
        now: Timestamp,
        *,
        skip: frozenset[BusinessId],
        limit: int,
        lease_until: Timestamp,
        batch: int = 1,
    ) -> list[OutboxEvent]:
        return await self._engine.write(claim_due_txn, now, skip, limit, lease_until, batch)

    async def next_due(self, *, skip: frozenset[BusinessId]) -> Timestamp | None:
        return await self._engine.read(next_due_txn, skip)

    async def settle(self, *, done: Sequence[int], retry: Sequence[OutboxEvent]) -> None:
        if done or retry:
            await self._engine.write(settle_txn, tuple(done), tuple(retry))

    async def pending(self, business: BusinessId) -> int:
        return await self._engine.read(pending_txn, business)


def _implements_the_port(store: SqlWebhookStore) -> WebhookStore:
    return store  # mypy checks here that SqlWebhookStore is a WebhookStore
