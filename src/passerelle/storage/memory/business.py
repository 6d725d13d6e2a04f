"""``MemoryBusinessStore``: the ``BusinessStore`` port on a ``MemoryStore``'s database (tests and
trials). Each method is one atomic transaction, as ``part`` explains: one yield, then no await."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from passerelle.domain.business.ids import (
    BusinessId,
    PhoneNumberId,
    SystemTokenId,
    TemplateId,
    UserId,
    WabaId,
    WaId,
)
from passerelle.domain.business.quality import Quality, SignalKind, Signals, TemplateStatus
from passerelle.domain.business.tiers import Tier, within_limit
from passerelle.domain.errors import Unavailable
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
from passerelle.storage.memory.business_tables import BusinessTables
from passerelle.storage.memory.database import IntegrityError
from passerelle.storage.memory.store import MemoryStore


class MemoryBusinessStore:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def _begin(self) -> BusinessTables:
        await asyncio.sleep(0)
        if not await self._store.ping():
            raise Unavailable("the store is closed")
        return self._store.database.business

    # -- businesses ------------------------------------------------------------------------------

    async def create_business(self, business: BusinessRecord) -> bool:
        t = await self._begin()
        if business.slug in t.slugs:
            return False
        if business.id in t.businesses:
            raise IntegrityError(f"business {business.id!r} exists already")
        t.businesses[business.id] = business
        t.slugs[business.slug] = business.id
        return True

    async def get_business(self, business: BusinessId) -> BusinessRecord | None:
        return (await self._begin()).businesses.get(business)

    async def find_business(self, slug: str) -> BusinessRecord | None:
        t = await self._begin()
        found = t.slugs.get(slug)
        return None if found is None else t.businesses[found]

    async def list_businesses(self) -> list[BusinessRecord]:
        t = await self._begin()
        return sorted(t.businesses.values(), key=lambda b: b.slug)

    async def update_business(self, business: BusinessId, profile: BusinessProfile, verified: bool) -> bool:
        t = await self._begin()
        current = t.businesses.get(business)
        if current is None:
            return False
        t.businesses[business] = dataclasses.replace(current, profile=profile, verified=verified)
        return True

    # -- business accounts and numbers ------------------------------------------------------------

    async def create_business_account(self, account: BusinessAccountRecord) -> None:
        t = await self._begin()
        if account.business not in t.businesses:
            raise IntegrityError("no such business")
        if account.id in t.accounts:
            raise IntegrityError(f"business account {account.id!r} exists already")
        t.accounts[account.id] = account

    async def get_business_account(self, waba: WabaId) -> BusinessAccountRecord | None:
        return (await self._begin()).accounts.get(waba)

    async def business_accounts(self, business: BusinessId) -> list[BusinessAccountRecord]:
        t = await self._begin()
        return sorted(
            (a for a in t.accounts.values() if a.business == business), key=lambda a: (a.created_at, a.id)
        )

    async def create_number(self, number: NumberRecord) -> bool:
        t = await self._begin()
        if number.display_number in t.display_numbers:
            return False
        if number.waba not in t.accounts or number.id in t.numbers:
            raise IntegrityError("no such business account, or the number id is taken")
        t.numbers[number.id] = number
        t.display_numbers[number.display_number] = number.id
        return True

    async def get_number(self, number: PhoneNumberId) -> NumberRecord | None:
        return (await self._begin()).numbers.get(number)

    async def find_number(self, display_number: str) -> NumberRecord | None:
        t = await self._begin()
        found = t.display_numbers.get(display_number)
        return None if found is None else t.numbers[found]

    async def numbers_of(self, business: BusinessId) -> list[NumberRecord]:
        t = await self._begin()
        return sorted(
            (n for n in t.numbers.values() if n.business == business), key=lambda n: (n.created_at, n.id)
        )

    # -- system-user tokens -----------------------------------------------------------------------

    async def create_system_token(self, token: SystemTokenRecord, *, token_hash: str) -> None:
        t = await self._begin()
        if token.business not in t.businesses:
            raise IntegrityError("no such business")
        if token.id in t.tokens or token_hash in t.token_hashes:
            raise IntegrityError("the token exists already")
        t.tokens[token.id] = token
        t.token_hashes[token_hash] = token.id

    async def system_tokens(self, business: BusinessId) -> list[SystemTokenRecord]:
        t = await self._begin()
        return sorted(
            (k for k in t.tokens.values() if k.business == business), key=lambda k: (k.created_at, k.id)
        )

    async def revoke_system_token(self, business: BusinessId, token: SystemTokenId, *, at: Timestamp) -> bool:
        t = await self._begin()
        found = t.tokens.get(token)
        if found is None or found.business != business or found.revoked_at is not None:
            return False
        t.tokens[token] = dataclasses.replace(found, revoked_at=at)
        return True

    async def resolve_system_token(self, token_hash: str) -> SystemTokenRecord | None:
        t = await self._begin()
        found = t.token_hashes.get(token_hash)
        record = None if found is None else t.tokens[found]
        return record if record is not None and record.revoked_at is None else None

    # -- per-business person ids ------------------------------------------------------------------

    async def claim_person(self, person: BusinessPerson) -> BusinessPerson | None:
        t = await self._begin()
        known = t.people.get((person.business, person.account))
        if known is not None:
            return known
        if (person.business, person.wa_id) in t.wa_ids or (person.business, person.user_id) in t.user_ids:
            return None
        t.people[(person.business, person.account)] = person
        t.wa_ids[(person.business, person.wa_id)] = person.account
        t.user_ids[(person.business, person.user_id)] = person.account
        return person

    async def business_person(self, business: BusinessId, account: AccountId) -> BusinessPerson | None:
        return (await self._begin()).people.get((business, account))

    async def person_by_wa_id(self, business: BusinessId, wa_id: WaId) -> BusinessPerson | None:
        t = await self._begin()
        account = t.wa_ids.get((business, wa_id))
        return None if account is None else t.people[(business, account)]

    async def person_by_user_id(self, business: BusinessId, user_id: UserId) -> BusinessPerson | None:
        t = await self._begin()
        account = t.user_ids.get((business, user_id))
        return None if account is None else t.people[(business, account)]

    # -- the consent ledger -----------------------------------------------------------------------

    async def record_consent(self, change: ConsentRecord) -> None:
        t = await self._begin()
        t.consents[(change.account, change.business, change.scope)] = change
        t.ledger.append(change)

    async def consents_of(self, account: AccountId) -> list[ConsentRecord]:
        t = await self._begin()
        mine = [c for (who, _, _), c in t.consents.items() if who == account]
        return sorted(mine, key=lambda c: (c.business, c.scope.value))

    async def consent_ledger(self, account: AccountId) -> list[ConsentRecord]:
        t = await self._begin()
        return [c for c in t.ledger if c.account == account]

    async def forget_business_person(self, account: AccountId) -> None:
        t = await self._begin()
        for key in [k for k in t.people if k[1] == account]:
            person = t.people.pop(key)
            t.wa_ids.pop((person.business, person.wa_id), None)
            t.user_ids.pop((person.business, person.user_id), None)
        for ckey in [k for k in t.consents if k[0] == account]:
            del t.consents[ckey]
        t.ledger[:] = [c for c in t.ledger if c.account != account]
        for ikey in [k for k in t.inbound if k[1] == account]:
            del t.inbound[ikey]
        for rkey in [k for k in t.reach if k[1] == account]:
            del t.reach[rkey]
        for bkey in [k for k in t.blocked if k[1] == account]:
            del t.blocked[bkey]
        for hkey in [k for k, h in t.handoffs.items() if h.account == account]:
            del t.handoffs[hkey]
        for tkey in [k for k in t.template_reach if k[2] == account]:
            del t.template_reach[tkey]
        for skey in [k for k in t.signals if k[1] == account]:
            del t.signals[skey]

    # -- the window and the messaging limit ---------------------------------------------------------

    async def note_inbound(self, business: BusinessId, account: AccountId, *, at: Timestamp) -> None:
        t = await self._begin()
        key = (business, account)
        t.inbound[key] = max(at, t.inbound.get(key, at))

    async def last_inbound(self, business: BusinessId, account: AccountId) -> Timestamp | None:
        return (await self._begin()).inbound.get((business, account))

    async def note_reached(self, waba: WabaId, account: AccountId, *, at: Timestamp) -> None:
        t = await self._begin()
        key = (waba, account)
        t.reach[key] = max(at, t.reach.get(key, at))

    async def was_reached(self, waba: WabaId, account: AccountId, *, since: Timestamp) -> bool:
        t = await self._begin()
        at = t.reach.get((waba, account))
        return at is not None and at >= since

    async def reached_since(self, waba: WabaId, *, since: Timestamp, at_most: int | None = None) -> int:
        t = await self._begin()
        found = sum(1 for (w, _), at in t.reach.items() if w == waba and at >= since)
        return found if at_most is None else min(found, at_most)

    async def block_person(self, business: BusinessId, account: AccountId, *, at: Timestamp) -> None:
        t = await self._begin()
        t.blocked.setdefault((business, account), at)

    async def unblock_person(self, business: BusinessId, account: AccountId) -> bool:
        t = await self._begin()
        return t.blocked.pop((business, account), None) is not None

    async def is_blocked_by_business(self, business: BusinessId, account: AccountId) -> bool:
        return (business, account) in (await self._begin()).blocked

    async def blocked_by_business(self, business: BusinessId) -> list[BusinessPerson]:
        t = await self._begin()
        found = sorted((at, a) for (b, a), at in t.blocked.items() if b == business)
        return [t.people[(business, a)] for _, a in found if (business, a) in t.people]

    async def count_blocked_by_business(self, business: BusinessId) -> int:
        t = await self._begin()
        return sum(1 for (b, _) in t.blocked if b == business)

    async def forget_reach_before(self, before: Timestamp) -> int:
        t = await self._begin()
        old = [k for k, at in t.reach.items() if at < before]
        for key in old:
            del t.reach[key]
        return len(old)

    # -- message templates ----------------------------------------------------------------------------

    async def add_template(self, template: TemplateRecord, *, cap: int) -> TemplateAdded:
        t = await self._begin()
        if template.waba not in t.accounts:
            raise IntegrityError("no such business account")
        held = [k for k in t.templates.values() if k.waba == template.waba]
        if len(held) >= cap:
            return TemplateAdded.FULL
        if any(k.name == template.name and k.language == template.language for k in held):
            return TemplateAdded.TAKEN
        if template.id in t.templates:
            raise IntegrityError(f"template {template.id!r} exists already")
        t.templates[template.id] = template
        return TemplateAdded.ADDED

    async def get_template(self, waba: WabaId, name: str, language: str) -> TemplateRecord | None:
        t = await self._begin()
        return next(
            (k for k in t.templates.values() if (k.waba, k.name, k.language) == (waba, name, language)), None
        )

    async def template_by_id(self, template: TemplateId) -> TemplateRecord | None:
        return (await self._begin()).templates.get(template)

    async def list_templates(
        self,
        waba: WabaId,
        *,
        limit: int,
        after: tuple[str, str] | None = None,
        name: str | None = None,
        status: TemplateStatus | None = None,
    ) -> list[TemplateRecord]:
        t = await self._begin()
        found = sorted(
            (
                k
                for k in t.templates.values()
                if k.waba == waba
                and (name is None or k.name == name)
                and (status is None or k.status is status)
                and (after is None or (k.name, k.language) > after)
            ),
            key=lambda k: (k.name, k.language),
        )
        return found[:limit]

    async def count_templates(self, waba: WabaId) -> int:
        t = await self._begin()
        return sum(1 for k in t.templates.values() if k.waba == waba)

    async def delete_templates(
        self, waba: WabaId, name: str, *, template: TemplateId | None = None
    ) -> list[TemplateRecord]:
        t = await self._begin()
        gone = [
            k
            for k in t.templates.values()
            if k.waba == waba and k.name == name and (template is None or k.id == template)
        ]
        for k in gone:
            del t.templates[k.id]
        return sorted(gone, key=lambda k: k.language)

    async def change_template(self, template: TemplateRecord, *, expected: TemplateStatus) -> bool:
        t = await self._begin()
        current = t.templates.get(template.id)
        if current is None or current.status is not expected:
            return False
        t.templates[template.id] = dataclasses.replace(
            current,
            status=template.status,
            quality=template.quality,
            rejected_reason=template.rejected_reason,
            pauses=template.pauses,
            paused_until=template.paused_until,
            updated_at=template.updated_at,
        )
        return True

    async def templates_to_evaluate(self, *, after: TemplateId | None, limit: int) -> list[TemplateRecord]:
        t = await self._begin()
        live = (TemplateStatus.APPROVED, TemplateStatus.PAUSED)
        found = sorted(
            (k for k in t.templates.values() if k.status in live and (after is None or k.id > after)),
            key=lambda k: k.id,
        )
        return found[:limit]

    # -- quality and tiers -------------------------------------------------------------------------

    async def note_template_reach(self, reach: TemplateReach) -> None:
        t = await self._begin()
        key = (reach.number, reach.template, reach.account)
        known = t.template_reach.get(key)
        if known is None or known.at < reach.at:
            t.template_reach[key] = reach

    async def note_template_sent(self, reach: TemplateReach, *, new_person: bool) -> None:
        t = await self._begin()
        if new_person:
            key = (reach.waba, reach.account)
            t.reach[key] = max(reach.at, t.reach.get(key, reach.at))
        tkey = (reach.number, reach.template, reach.account)
        known = t.template_reach.get(tkey)
        if known is None or known.at < reach.at:
            t.template_reach[tkey] = reach

    async def note_templates_sent(self, claims: Sequence[ReachClaim]) -> list[bool]:
        t = await self._begin()  # no await below: one transaction
        counted: dict[WabaId, int] = {}
        admitted: list[bool] = []
        for claim in claims:
            r = claim.reach
            key = (r.waba, r.account)
            at = t.reach.get(key)
            if at is None or at < claim.since:
                if claim.tier.limit is not None:
                    if r.waba not in counted:
                        found = sum(
                            1 for (w, _), when in t.reach.items() if w == r.waba and when >= claim.since
                        )
                        counted[r.waba] = found
                    if not within_limit(claim.tier, counted[r.waba]):
                        admitted.append(False)
                        continue
                    counted[r.waba] += 1
                t.reach[key] = max(r.at, t.reach.get(key, r.at))
            tkey = (r.number, r.template, r.account)
            known = t.template_reach.get(tkey)
            if known is None or known.at < r.at:
                t.template_reach[tkey] = r
            admitted.append(True)
        return admitted

    async def last_template_reach(
        self, waba: WabaId, account: AccountId, *, since: Timestamp
    ) -> TemplateReach | None:
        t = await self._begin()
        found = [
            r for r in t.template_reach.values() if r.waba == waba and r.account == account and r.at >= since
        ]
        return min(found, key=lambda r: (-r.at, r.number, r.template), default=None)

    async def record_signal(self, signal: SignalRecord) -> None:
        t = await self._begin()
        t.signals[(signal.waba, signal.account, signal.kind)] = signal

    async def signals_of(self, waba: WabaId, *, limit: int) -> list[SignalRecord]:
        t = await self._begin()
        found = [s for s in t.signals.values() if s.waba == waba]
        return sorted(found, key=lambda s: (-s.at, s.account, s.kind.value))[:limit]

    async def quality_counts(self, waba: WabaId, *, since: Timestamp) -> QualityCounts:
        t = await self._begin()
        reach = [r for r in t.template_reach.values() if r.waba == waba and r.at >= since]
        by_number: dict[str, set[AccountId]] = {}
        by_template: dict[str, set[AccountId]] = {}
        for r in reach:
            by_number.setdefault(r.number, set()).add(r.account)
            by_template.setdefault(r.template, set()).add(r.account)
        signals: dict[tuple[str, str, SignalKind], int] = {}
        for s in t.signals.values():
            if s.waba == waba and s.at >= since:
                key = (s.number, s.template, s.kind)
                signals[key] = signals.get(key, 0) + 1
        return QualityCounts(
            reached_by_number={k: len(v) for k, v in by_number.items()},
            reached_by_template={k: len(v) for k, v in by_template.items()},
            signals=signals,
        )

    async def template_signals(self, waba: WabaId, template: TemplateId, *, since: Timestamp) -> Signals:
        t = await self._begin()
        reached = {
            r.account
            for r in t.template_reach.values()
            if r.waba == waba and r.template == template and r.at >= since
        }
        by_kind: dict[SignalKind, int] = {}
        for s in t.signals.values():
            if s.waba == waba and s.template == template and s.at >= since:
                by_kind[s.kind] = by_kind.get(s.kind, 0) + 1
        return Signals.counted(len(reached), by_kind)

    async def set_number_quality(self, number: PhoneNumberId, quality: Quality) -> None:
        t = await self._begin()
        known = t.numbers.get(number)
        if known is not None:
            t.numbers[number] = dataclasses.replace(known, quality=quality)

    async def evaluation(self, waba: WabaId) -> Evaluation | None:
        return (await self._begin()).evaluations.get(waba)

    async def save_evaluation(
        self, evaluation: Evaluation, *, tier: Tier, expected_at: Timestamp | None
    ) -> bool:
        t = await self._begin()
        known = t.evaluations.get(evaluation.waba)
        if (known.evaluated_at if known is not None else None) != expected_at:
            return False
        account = t.accounts.get(evaluation.waba)
        if account is None:
            return False
        t.evaluations[evaluation.waba] = evaluation
        t.accounts[evaluation.waba] = dataclasses.replace(account, tier=tier)
        return True

    async def forget_quality_before(self, before: Timestamp) -> int:
        t = await self._begin()
        old_reach = [k for k, r in t.template_reach.items() if r.at < before]
        old_signals = [k for k, s in t.signals.items() if s.at < before]
        for rkey in old_reach:
            del t.template_reach[rkey]
        for skey in old_signals:
            del t.signals[skey]
        return len(old_reach) + len(old_signals)


def _implements_the_port(store: MemoryBusinessStore) -> BusinessStore:
    return store  # mypy checks here that MemoryBusinessStore is a BusinessStore
