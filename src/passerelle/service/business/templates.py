"""``Templates``: message templates (docs/business.md section 6) — a business creates, lists, reads
and deletes its templates through the Cloud API; the operator approves or rejects them; every
status change is told to the business's bot (``message_template_status_update``).

Rules:
- A template is checked as the Cloud API does (``domain.business.templates.check_template``: 100
  naming the field) and stored with its components as the business sent them, ``PENDING`` unless
  the auto-approval rule (``auto_approve``: the categories approved at once, for development) says
  ``APPROVED``. Name and language are unique per business account (``100``), and a business account
  holds at most ``cap`` templates.
- A business account, a template or a number of another business is answered as one that does not
  exist (100, subcode 33).
- Only a ``PENDING`` template is approved or rejected; the change is written only from the status
  it was read with, so two operators (or the quality evaluation) cannot overwrite each other.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Iterable
from typing import Final

import msgspec

from passerelle.domain.business.consent import Category
from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.business.ids import BusinessId, TemplateId, WabaId, is_numeric_id, numeric_id_from
from passerelle.domain.business.quality import Quality, TemplateStatus
from passerelle.domain.business.templates import check_template
from passerelle.domain.errors import Conflict, InvalidInput, NotFound
from passerelle.proto.cloud.webhooks import (
    TemplateChange,
    TemplateDisableInfo,
    TemplateEntry,
    TemplateOtherInfo,
    TemplateQualityChange,
    TemplateQualityEntry,
    TemplateQualityPayload,
    TemplateQualityValue,
    TemplateStatusPayload,
    TemplateStatusValue,
)
from passerelle.service.business.cloud import unknown_object_details
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import (
    BusinessAccountRecord,
    SystemTokenRecord,
    TemplateAdded,
    TemplateRecord,
)
from passerelle.service.business.webhooks import Webhooks
from passerelle.service.ports import Clock, IdGenerator

log = logging.getLogger("passerelle.business.templates")

REJECTION_REASONS: Final = (
    "ABUSIVE_CONTENT",
    "INCORRECT_CATEGORY",
    "INVALID_FORMAT",
    "PROMOTIONAL",
    "SCAM",
    "TAG_CONTENT_MISMATCH",
)
"""Meta's rejection reasons (what pywa parses); the operator picks one."""
NO_REASON: Final = "NONE"
LIST_MAX: Final = 1000
LIST_DEFAULT: Final = 25


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TemplatePage:
    templates: list[TemplateRecord]
    more: bool
    """There are templates after the last one (ask again with it as ``after``)."""


class Templates:
    def __init__(
        self,
        *,
        store: BusinessStore,
        clock: Clock,
        ids: IdGenerator,
        webhooks: Webhooks | None = None,
        auto_approve: Iterable[Category] = (),
        cap: int = 250,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids
        self._webhooks = webhooks
        self._auto = frozenset(auto_approve)
        self._cap = cap

    # -- the business (Cloud API) -------------------------------------------------------------------

    async def account_of(self, caller: SystemTokenRecord, waba_id: str) -> BusinessAccountRecord:
        found = await self._store.get_business_account(WabaId(waba_id)) if is_numeric_id(waba_id) else None
        if found is None or found.business != caller.business:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, unknown_object_details(waba_id))
        return found

    async def create(
        self,
        caller: SystemTokenRecord,
        waba_id: str,
        *,
        name: object,
        language: object,
        category: object,
        parameter_format: object,
        components: object,
    ) -> TemplateRecord:
        account = await self.account_of(caller, waba_id)
        checked = check_template(
            name=name,
            language=language,
            category=category,
            parameter_format=parameter_format,
            components=components,
        )
        now = self._clock.now_ms()
        status = TemplateStatus.APPROVED if checked.category in self._auto else TemplateStatus.PENDING
        record = TemplateRecord(
            id=TemplateId(numeric_id_from(hashlib.sha256(self._ids.token().encode()).digest())),
            waba=account.id,
            name=checked.name,
            language=checked.language,
            category=checked.category,
            parameter_format=checked.parameter_format,
            components=msgspec.json.encode(components).decode(),
            status=status,
            quality=Quality.UNKNOWN,
            created_at=now,
            updated_at=now,
        )
        added = await self._store.add_template(record, cap=self._cap)
        if added is TemplateAdded.TAKEN:
            raise CloudApiError(
                Failure.INVALID_PARAMETER, "a template of this name and language exists already", field="name"
            )
        if added is TemplateAdded.FULL:
            raise CloudApiError(
                Failure.INVALID_PARAMETER,
                f"the business account holds {self._cap} templates, the most it may; delete some first",
                field="name",
            )
        if status is TemplateStatus.APPROVED:
            await self._announce(caller.business, record)
        return record

    async def list_of(
        self,
        caller: SystemTokenRecord,
        waba_id: str,
        *,
        limit: int = LIST_DEFAULT,
        after: tuple[str, str] | None = None,
        name: str | None = None,
        status: str | None = None,
    ) -> TemplatePage:
        account = await self.account_of(caller, waba_id)
        return await self._page(account.id, limit=limit, after=after, name=name, status=status)

    async def _page(
        self, waba: WabaId, *, limit: int, after: tuple[str, str] | None, name: str | None, status: str | None
    ) -> TemplatePage:
        if not 1 <= limit <= LIST_MAX:
            raise CloudApiError(Failure.INVALID_PARAMETER, f"must be 1 to {LIST_MAX}", field="limit")
        wanted: TemplateStatus | None = None
        if status is not None:
            try:
                wanted = TemplateStatus(status.upper())
            except ValueError:
                raise CloudApiError(
                    Failure.INVALID_PARAMETER, "must be a template status such as APPROVED", field="status"
                ) from None
        found = await self._store.list_templates(waba, limit=limit + 1, after=after, name=name, status=wanted)
        return TemplatePage(templates=found[:limit], more=len(found) > limit)

    async def get(self, caller: SystemTokenRecord, template_id: str) -> TemplateRecord:
        found = await self.find(caller.business, template_id)
        if found is None:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, unknown_object_details(template_id))
        return found

    async def find(self, business: BusinessId, template_id: str) -> TemplateRecord | None:
        """The business's template with this id, or None (also when it is another business's)."""
        if not is_numeric_id(template_id):
            return None
        found = await self._store.template_by_id(TemplateId(template_id))
        if found is None:
            return None
        account = await self._store.get_business_account(found.waba)
        return found if account is not None and account.business == business else None

    async def for_send(
        self, business: BusinessId, waba_id: str, name: str, language: str
    ) -> TemplateRecord | None:
        """The template a send of the business names (for its endpoint to render), or None — also
        when the business account is another business's."""
        if not is_numeric_id(waba_id) or not name or not language:
            return None
        account = await self._store.get_business_account(WabaId(waba_id))
        if account is None or account.business != business:
            return None
        return await self._store.get_template(account.id, name[:512], language[:16])

    async def delete(self, caller: SystemTokenRecord, waba_id: str, *, name: str, hsm_id: str | None) -> None:
        account = await self.account_of(caller, waba_id)
        if not name:
            raise CloudApiError(Failure.MISSING_PARAMETER, "name is required", field="name")
        template = None
        if hsm_id is not None:
            if not is_numeric_id(hsm_id):
                raise CloudApiError(Failure.INVALID_PARAMETER, "must be a template id", field="hsm_id")
            template = TemplateId(hsm_id)
        gone = await self._store.delete_templates(account.id, name, template=template)
        if not gone:
            raise CloudApiError(Failure.INVALID_PARAMETER, "no template of this name (and id)", field="name")

    # -- the operator ----------------------------------------------------------------------------------

    async def of_business(self, business: BusinessId, *, status: str | None = None) -> list[TemplateRecord]:
        """Every template of the business's accounts (at most ``cap`` per account), by account, name
        and language."""
        wanted: TemplateStatus | None = None
        if status:
            try:
                wanted = TemplateStatus(status.upper())
            except ValueError:
                raise InvalidInput("status: PENDING, APPROVED, REJECTED, PAUSED or DISABLED") from None
        out: list[TemplateRecord] = []
        for account in await self._store.business_accounts(business):
            out.extend(await self._store.list_templates(account.id, limit=self._cap + 1, status=wanted))
        return out

    async def by_id(self, template_id: str) -> TemplateRecord:
        found = (
            await self._store.template_by_id(TemplateId(template_id)) if is_numeric_id(template_id) else None
        )
        if found is None:
            raise NotFound("no such template")
        return found

    async def approve(self, template_id: str) -> TemplateRecord:
        current = await self.by_id(template_id)
        return await self._decide(current, TemplateStatus.APPROVED, NO_REASON)

    async def reject(self, template_id: str, reason: str) -> TemplateRecord:
        reason = reason.strip().upper()
        if reason not in REJECTION_REASONS:
            raise InvalidInput(f"reason: one of {', '.join(REJECTION_REASONS)}")
        current = await self.by_id(template_id)
        return await self._decide(current, TemplateStatus.REJECTED, reason)

    async def _decide(self, current: TemplateRecord, status: TemplateStatus, reason: str) -> TemplateRecord:
        if current.status is not TemplateStatus.PENDING:
            raise Conflict(f"the template is {current.status.value}, not PENDING")
        changed = dataclasses.replace(
            current,
            status=status,
            rejected_reason="" if reason == NO_REASON else reason,
            updated_at=self._clock.now_ms(),
        )
        if not await self._store.change_template(changed, expected=TemplateStatus.PENDING):
            raise Conflict("the template changed meanwhile; read it again")
        account = await self._store.get_business_account(current.waba)
        if account is not None:
            await self._announce(account.business, changed)
        return changed

    async def changed(
        self, business: BusinessId, template: TemplateRecord, *, event: str | None = None
    ) -> None:
        """Tell the bot of a status the quality evaluation set (paused, reinstated, disabled)."""
        await self._announce(business, template, event=event)

    async def quality_changed(self, business: BusinessId, t: TemplateRecord, *, previous: str) -> None:
        """Tell the bot its template's quality score changed (``message_template_quality_update``,
        set by the quality evaluation)."""
        if self._webhooks is None:
            return
        now = self._clock.now_ms()
        value = TemplateQualityValue(
            previous_quality_score=previous,
            new_quality_score=t.quality.value,
            message_template_id=int(t.id),
            message_template_name=t.name,
            message_template_language=t.language,
        )
        change = TemplateQualityChange(value=value)
        payload = TemplateQualityPayload(
            entry=[TemplateQualityEntry(id=t.waba, time=now // 1000, changes=[change])]
        )
        await self._webhooks.enqueue(business, payload)

    async def _announce(self, business: BusinessId, t: TemplateRecord, *, event: str | None = None) -> None:
        if self._webhooks is None:
            return
        now = self._clock.now_ms()
        other = None
        disable = None
        if t.status is TemplateStatus.PAUSED and t.paused_until is not None:
            hours = max(1, round((t.paused_until - now) / 3_600_000))
            other = TemplateOtherInfo(
                title="FIRST_PAUSE" if t.pauses <= 1 else "SECOND_PAUSE",
                description=f"Your template has been paused for {hours} hours because of low quality.",
            )
        elif t.status is TemplateStatus.DISABLED:
            disable = TemplateDisableInfo(disable_date=now // 1000)
        value = TemplateStatusValue(
            event=event or t.status.value,
            message_template_id=int(t.id),
            message_template_name=t.name,
            message_template_language=t.language,
            message_template_category=t.category.value,
            reason=t.rejected_reason or NO_REASON,
            other_info=other,
            disable_info=disable,
        )
        payload = TemplateStatusPayload(
            entry=[TemplateEntry(id=t.waba, time=now // 1000, changes=[TemplateChange(value=value)])]
        )
        await self._webhooks.enqueue(business, payload)
