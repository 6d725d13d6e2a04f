"""The business store on SQL (docs/business.md): businesses, business accounts, numbers and
system-user tokens — shared queries and transaction functions (see ``storage.sql.txn``) — and
``SqlBusinessStore``, the ``BusinessStore`` port on either engine (the people's side is in
``business_people``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from passerelle.domain.business.ids import (
    BusinessId,
    PhoneNumberId,
    SystemTokenId,
    TemplateId,
    UserId,
    WabaId,
    WaId,
)
from passerelle.domain.business.quality import Quality, Signals, TemplateStatus
from passerelle.domain.business.tiers import Tier
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import (
    BusinessAccountRecord,
    BusinessPerson,
    BusinessProfile,
    BusinessRecord,
    ConsentRecord,
    Evaluation,
    NumberRecord,
    QualityCounts,
    ReachClaim,
    SignalRecord,
    SystemTokenRecord,
    TemplateAdded,
    TemplateReach,
    TemplateRecord,
)
from passerelle.storage.sql.business_people import (
    BLOCK,
    CONSENTS_OF,
    LEDGER_OF,
    NOTE_INBOUND,
    NOTE_REACHED,
    PERSON_BY_USER_ID,
    PERSON_BY_WA_ID,
    SELECT_PERSON,
    blocked_txn,
    claim_person_txn,
    consents_txn,
    count_blocked_txn,
    forget_person_txn,
    forget_reach_before_txn,
    is_blocked_txn,
    last_inbound_txn,
    note_template_sent_txn,
    note_templates_sent_txn,
    note_txn,
    person_txn,
    reached_since_txn,
    record_consent_txn,
    unblock_txn,
    was_reached_txn,
)
from passerelle.storage.sql.business_quality import (
    evaluation_txn,
    forget_quality_before_txn,
    last_template_reach_txn,
    list_signals_txn,
    note_template_reach_txn,
    quality_counts_txn,
    record_signal_txn,
    save_evaluation_txn,
    set_number_quality_txn,
    template_signals_txn,
)
from passerelle.storage.sql.business_templates import (
    add_template_txn,
    change_template_txn,
    count_templates_txn,
    delete_templates_txn,
    get_template_txn,
    list_templates_txn,
    template_by_id_txn,
    templates_to_evaluate_txn,
)
from passerelle.storage.sql.dialect import Dialect
from passerelle.storage.sql.txn import Row, Txn, all_rows, count, one

if TYPE_CHECKING:
    from passerelle.storage.sql.part import SqlEngine

_BUSINESS = (
    "id, slug, name, about, description, logo_url, website, email, category, verified, created_at, secret"
)
INSERT_BUSINESS = (
    f"INSERT INTO businesses ({_BUSINESS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (slug) DO NOTHING RETURNING id"
)
SELECT_BUSINESS = f"SELECT {_BUSINESS} FROM businesses WHERE id = ?"
FIND_BUSINESS = f"SELECT {_BUSINESS} FROM businesses WHERE slug = ?"
ALL_BUSINESSES = f"SELECT {_BUSINESS} FROM businesses ORDER BY slug"
UPDATE_BUSINESS = (
    "UPDATE businesses SET name = ?, about = ?, description = ?, logo_url = ?, website = ?, email = ?, "
    "category = ?, verified = ? WHERE id = ?"
)
_ACCOUNT = "id, business, name, tier, created_at"
INSERT_ACCOUNT = f"INSERT INTO business_accounts ({_ACCOUNT}) VALUES (?, ?, ?, ?, ?)"
SELECT_ACCOUNT = f"SELECT {_ACCOUNT} FROM business_accounts WHERE id = ?"
ACCOUNTS_OF = f"SELECT {_ACCOUNT} FROM business_accounts WHERE business = ? ORDER BY created_at, id"
_NUMBER = "id, waba, business, display_number, quality, created_at"
INSERT_NUMBER = (
    f"INSERT INTO business_numbers ({_NUMBER}) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (display_number) DO NOTHING RETURNING id"
)
SELECT_NUMBER = f"SELECT {_NUMBER} FROM business_numbers WHERE id = ?"
FIND_NUMBER = f"SELECT {_NUMBER} FROM business_numbers WHERE display_number = ?"
NUMBERS_OF = f"SELECT {_NUMBER} FROM business_numbers WHERE business = ? ORDER BY created_at, id"
_TOKEN = "id, business, label, created_at, revoked_at"
INSERT_TOKEN = "INSERT INTO business_tokens (id, business, hash, label, created_at) VALUES (?, ?, ?, ?, ?)"
TOKENS_OF = f"SELECT {_TOKEN} FROM business_tokens WHERE business = ? ORDER BY created_at, id"
REVOKE_TOKEN = (
    "UPDATE business_tokens SET revoked_at = ? WHERE id = ? AND business = ? AND revoked_at IS NULL"
)
RESOLVE_TOKEN = f"SELECT {_TOKEN} FROM business_tokens WHERE hash = ? AND revoked_at IS NULL"


def _business(row: Row) -> BusinessRecord:
    profile = BusinessProfile(
        name=str(row[2]),
        about=str(row[3]),
        description=str(row[4]),
        logo_url=str(row[5]),
        website=str(row[6]),
        email=str(row[7]),
        category=str(row[8]),
    )
    return BusinessRecord(
        id=BusinessId(str(row[0])),
        slug=str(row[1]),
        profile=profile,
        verified=bool(row[9]),
        created_at=Timestamp(int(row[10])),
        secret=bytes.fromhex(str(row[11])),
    )


def _account(row: Row) -> BusinessAccountRecord:
    return BusinessAccountRecord(
        id=WabaId(str(row[0])),
        business=BusinessId(str(row[1])),
        name=str(row[2]),
        tier=Tier(int(row[3])),
        created_at=Timestamp(int(row[4])),
    )


def _number(row: Row) -> NumberRecord:
    return NumberRecord(
        id=PhoneNumberId(str(row[0])),
        waba=WabaId(str(row[1])),
        business=BusinessId(str(row[2])),
        display_number=str(row[3]),
        quality=Quality(str(row[4])),
        created_at=Timestamp(int(row[5])),
    )


def _token(row: Row) -> SystemTokenRecord:
    return SystemTokenRecord(
        id=SystemTokenId(str(row[0])),
        business=BusinessId(str(row[1])),
        label=str(row[2]),
        created_at=Timestamp(int(row[3])),
        revoked_at=None if row[4] is None else Timestamp(int(row[4])),
    )


def create_business_txn(d: Dialect, b: BusinessRecord) -> Txn[bool]:
    p = b.profile
    row = yield from one(
        INSERT_BUSINESS,
        b.id,
        b.slug,
        p.name,
        p.about,
        p.description,
        p.logo_url,
        p.website,
        p.email,
        p.category,
        b.verified,
        b.created_at,
        b.secret.hex(),
    )
    return row is not None


def get_business_txn(d: Dialect, business: BusinessId) -> Txn[BusinessRecord | None]:
    row = yield from one(SELECT_BUSINESS, business)
    return None if row is None else _business(row)


def find_business_txn(d: Dialect, slug: str) -> Txn[BusinessRecord | None]:
    row = yield from one(FIND_BUSINESS, slug)
    return None if row is None else _business(row)


def list_businesses_txn(d: Dialect) -> Txn[list[BusinessRecord]]:
    rows = yield from all_rows(ALL_BUSINESSES)
    return [_business(r) for r in rows]


def update_business_txn(d: Dialect, business: BusinessId, p: BusinessProfile, verified: bool) -> Txn[bool]:
    changed = yield from count(
        UPDATE_BUSINESS,
        p.name,
        p.about,
        p.description,
        p.logo_url,
        p.website,
        p.email,
        p.category,
        verified,
        business,
    )
    return changed > 0


def create_account_txn(d: Dialect, a: BusinessAccountRecord) -> Txn[None]:
    yield from count(INSERT_ACCOUNT, a.id, a.business, a.name, int(a.tier), a.created_at)


def get_account_txn(d: Dialect, waba: WabaId) -> Txn[BusinessAccountRecord | None]:
    row = yield from one(SELECT_ACCOUNT, waba)
    return None if row is None else _account(row)


def accounts_of_txn(d: Dialect, business: BusinessId) -> Txn[list[BusinessAccountRecord]]:
    rows = yield from all_rows(ACCOUNTS_OF, business)
    return [_account(r) for r in rows]


def create_number_txn(d: Dialect, n: NumberRecord) -> Txn[bool]:
    row = yield from one(
        INSERT_NUMBER, n.id, n.waba, n.business, n.display_number, n.quality.value, n.created_at
    )
    return row is not None


def get_number_txn(d: Dialect, number: PhoneNumberId) -> Txn[NumberRecord | None]:
    row = yield from one(SELECT_NUMBER, number)
    return None if row is None else _number(row)


def find_number_txn(d: Dialect, display_number: str) -> Txn[NumberRecord | None]:
    row = yield from one(FIND_NUMBER, display_number)
    return None if row is None else _number(row)


def numbers_of_txn(d: Dialect, business: BusinessId) -> Txn[list[NumberRecord]]:
    rows = yield from all_rows(NUMBERS_OF, business)
    return [_number(r) for r in rows]


def create_token_txn(d: Dialect, t: SystemTokenRecord, token_hash: str) -> Txn[None]:
    yield from count(INSERT_TOKEN, t.id, t.business, token_hash, t.label, t.created_at)


def tokens_of_txn(d: Dialect, business: BusinessId) -> Txn[list[SystemTokenRecord]]:
    rows = yield from all_rows(TOKENS_OF, business)
    return [_token(r) for r in rows]


def revoke_token_txn(d: Dialect, business: BusinessId, token: SystemTokenId, at: Timestamp) -> Txn[bool]:
    changed = yield from count(REVOKE_TOKEN, at, token, business)
    return changed > 0


def resolve_token_txn(d: Dialect, token_hash: str) -> Txn[SystemTokenRecord | None]:
    row = yield from one(RESOLVE_TOKEN, token_hash)
    return None if row is None else _token(row)


class SqlBusinessStore:
    """``BusinessStore`` on the engine of a ``SqliteStore`` or a ``PostgresStore``."""

    def __init__(self, engine: SqlEngine) -> None:
        self._engine = engine

    async def create_business(self, business: BusinessRecord) -> bool:
        return await self._engine.write(create_business_txn, business)

    async def get_business(self, business: BusinessId) -> BusinessRecord | None:
        return await self._engine.read(get_business_txn, business)

    async def find_business(self, slug: str) -> BusinessRecord | None:
        return await self._engine.read(find_business_txn, slug)

    async def list_businesses(self) -> list[BusinessRecord]:
        return await self._engine.read(list_businesses_txn)

    async def update_business(self, business: BusinessId, profile: BusinessProfile, verified: bool) -> bool:
        return await self._engine.write(update_business_txn, business, profile, verified)

    async def create_business_account(self, account: BusinessAccountRecord) -> None:
        await self._engine.write(create_account_txn, account)

    async def get_business_account(self, waba: WabaId) -> BusinessAccountRecord | None:
        return await self._engine.read(get_account_txn, waba)

    async def business_accounts(self, business: BusinessId) -> list[BusinessAccountRecord]:
        return await self._engine.read(accounts_of_txn, business)

    async def create_number(self, number: NumberRecord) -> bool:
        return await self._engine.write(create_number_txn, number)

    async def get_number(self, number: PhoneNumberId) -> NumberRecord | None:
        return await self._engine.read(get_number_txn, number)

    async def find_number(self, display_number: str) -> NumberRecord | None:
        return await self._engine.read(find_number_txn, display_number)

    async def numbers_of(self, business: BusinessId) -> list[NumberRecord]:
        return await self._engine.read(numbers_of_txn, business)

    async def create_system_token(self, token: SystemTokenRecord, *, token_hash: str) -> None:
        await self._engine.write(create_token_txn, token, token_hash)

    async def system_tokens(self, business: BusinessId) -> list[SystemTokenRecord]:
        return await self._engine.read(tokens_of_txn, business)

    async def revoke_system_token(self, business: BusinessId, token: SystemTokenId, *, at: Timestamp) -> bool:
        return await self._engine.write(revoke_token_txn, business, token, at)

    async def resolve_system_token(self, token_hash: str) -> SystemTokenRecord | None:
        return await self._engine.read(resolve_token_txn, token_hash)

    async def claim_person(self, person: BusinessPerson) -> BusinessPerson | None:
        return await self._engine.write(claim_person_txn, person)

    async def business_person(self, business: BusinessId, account: AccountId) -> BusinessPerson | None:
        return await self._engine.read(person_txn, SELECT_PERSON, business, account)

    async def person_by_wa_id(self, business: BusinessId, wa_id: WaId) -> BusinessPerson | None:
        return await self._engine.read(person_txn, PERSON_BY_WA_ID, business, wa_id)

    async def person_by_user_id(self, business: BusinessId, user_id: UserId) -> BusinessPerson | None:
        return await self._engine.read(person_txn, PERSON_BY_USER_ID, business, user_id)

    async def record_consent(self, change: ConsentRecord) -> None:
        await self._engine.write(record_consent_txn, change)

    async def consents_of(self, account: AccountId) -> list[ConsentRecord]:
        return await self._engine.read(consents_txn, CONSENTS_OF, account)

    async def consent_ledger(self, account: AccountId) -> list[ConsentRecord]:
        return await self._engine.read(consents_txn, LEDGER_OF, account)

    async def forget_business_person(self, account: AccountId) -> None:
        await self._engine.write(forget_person_txn, account)

    async def note_inbound(self, business: BusinessId, account: AccountId, *, at: Timestamp) -> None:
        await self._engine.write(note_txn, NOTE_INBOUND, business, account, at)

    async def last_inbound(self, business: BusinessId, account: AccountId) -> Timestamp | None:
        return await self._engine.read(last_inbound_txn, business, account)

    async def note_reached(self, waba: WabaId, account: AccountId, *, at: Timestamp) -> None:
        await self._engine.write(note_txn, NOTE_REACHED, waba, account, at)

    async def was_reached(self, waba: WabaId, account: AccountId, *, since: Timestamp) -> bool:
        return await self._engine.read(was_reached_txn, waba, account, since)

    async def reached_since(self, waba: WabaId, *, since: Timestamp, at_most: int | None = None) -> int:
        return await self._engine.read(reached_since_txn, waba, since, at_most)

    async def block_person(self, business: BusinessId, account: AccountId, *, at: Timestamp) -> None:
        await self._engine.write(note_txn, BLOCK, business, account, at)

    async def unblock_person(self, business: BusinessId, account: AccountId) -> bool:
        return await self._engine.write(unblock_txn, business, account)

    async def is_blocked_by_business(self, business: BusinessId, account: AccountId) -> bool:
        return await self._engine.read(is_blocked_txn, business, account)

    async def blocked_by_business(self, business: BusinessId) -> list[BusinessPerson]:
        return await self._engine.read(blocked_txn, business)

    async def count_blocked_by_business(self, business: BusinessId) -> int:
        return await self._engine.read(count_blocked_txn, business)

    async def forget_reach_before(self, before: Timestamp) -> int:
        return await self._engine.write(forget_reach_before_txn, before)

    async def add_template(self, template: TemplateRecord, *, cap: int) -> TemplateAdded:
        return await self._engine.write(add_template_txn, template, cap)

    async def get_template(self, waba: WabaId, name: str, language: str) -> TemplateRecord | None:
        return await self._engine.read(get_template_txn, waba, name, language)

    async def template_by_id(self, template: TemplateId) -> TemplateRecord | None:
        return await self._engine.read(template_by_id_txn, template)

    async def list_templates(
        self,
        waba: WabaId,
        *,
        limit: int,
        after: tuple[str, str] | None = None,
        name: str | None = None,
        status: TemplateStatus | None = None,
    ) -> list[TemplateRecord]:
        return await self._engine.read(list_templates_txn, waba, limit, after, name, status)

    async def count_templates(self, waba: WabaId) -> int:
        return await self._engine.read(count_templates_txn, waba)

    async def delete_templates(
        self, waba: WabaId, name: str, *, template: TemplateId | None = None
    ) -> list[TemplateRecord]:
        return await self._engine.write(delete_templates_txn, waba, name, template)

    async def change_template(self, template: TemplateRecord, *, expected: TemplateStatus) -> bool:
        return await self._engine.write(change_template_txn, template, expected)

    async def templates_to_evaluate(self, *, after: TemplateId | None, limit: int) -> list[TemplateRecord]:
        return await self._engine.read(templates_to_evaluate_txn, after, limit)

    async def note_template_reach(self, reach: TemplateReach) -> None:
        await self._engine.write(note_template_reach_txn, reach)

    async def note_template_sent(self, reach: TemplateReach, *, new_person: bool) -> None:
        await self._engine.write(note_template_sent_txn, reach, new_person)

    async def note_templates_sent(self, claims: Sequence[ReachClaim]) -> list[bool]:
        return await self._engine.write(note_templates_sent_txn, claims)

    async def last_template_reach(
        self, waba: WabaId, account: AccountId, *, since: Timestamp
    ) -> TemplateReach | None:
        return await self._engine.read(last_template_reach_txn, waba, account, since)

    async def record_signal(self, signal: SignalRecord) -> None:
        await self._engine.write(record_signal_txn, signal)

    async def signals_of(self, waba: WabaId, *, limit: int) -> list[SignalRecord]:
        return await self._engine.read(list_signals_txn, waba, limit)

    async def quality_counts(self, waba: WabaId, *, since: Timestamp) -> QualityCounts:
        return await self._engine.read(quality_counts_txn, waba, since)

    async def template_signals(self, waba: WabaId, template: TemplateId, *, since: Timestamp) -> Signals:
        return await self._engine.read(template_signals_txn, waba, template, since)

    async def set_number_quality(self, number: PhoneNumberId, quality: Quality) -> None:
        await self._engine.write(set_number_quality_txn, number, quality)

    async def evaluation(self, waba: WabaId) -> Evaluation | None:
        return await self._engine.read(evaluation_txn, waba)

    async def save_evaluation(
        self, evaluation: Evaluation, *, tier: Tier, expected_at: Timestamp | None
    ) -> bool:
        return await self._engine.write(save_evaluation_txn, evaluation, tier, expected_at)

    async def forget_quality_before(self, before: Timestamp) -> int:
        return await self._engine.write(forget_quality_before_txn, before)


def _implements_the_port(store: SqlBusinessStore) -> BusinessStore:
    return store  # mypy checks here that SqlBusinessStore is a BusinessStore
