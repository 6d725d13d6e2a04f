"""``HandOffs``: a business's bot hands a customer's conversation to a person (docs/bots.md,
"Hand-off").

Rules
1. The bot asks through one of the business's numbers (``POST /{phone_number_id}/handoffs``, its
   system-user token), naming the person by their id at the business and giving a summary it wrote
   itself. The server never reads the conversation; it keeps the summary as the bot gave it, bounded
   (``MAX_SUMMARY_CHARS``).
2. A person has at most one active (open or taken) hand-off per business: asking again answers the
   active one. A business has at most ``cap`` active hand-offs (the request is refused beyond).
3. The operator (until the agent inbox exists) lists the active hand-offs, takes one for an agent,
   hands it back to the bot, or resolves it; a move its status does not allow is a conflict.
4. Every change (opened, taken, handed back, resolved) is a webhook to the business (``field``
   ``passerelle_handoffs``), through the business's outbox like any event: the bot keeps silent
   while one is active and speaks again when it ends.
5. A finished hand-off is kept ``KEEP_FINISHED_MS`` (the janitor), an active one until it ends; a
   person's hand-offs are erased with them (``BusinessPeople.erase_account``).
"""

from __future__ import annotations

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.business.ids import BusinessId, PhoneNumberId, UserId, WaId
from passerelle.domain.errors import Conflict, InvalidInput, NotFound
from passerelle.domain.ids import Timestamp
from passerelle.proto.cloud.codec import encode
from passerelle.proto.cloud.handoffs import (
    MAX_SUMMARY_CHARS,
    HandOffChange,
    HandOffEntry,
    HandOffPayload,
    HandOffRequest,
    HandOffValue,
)
from passerelle.proto.cloud.webhooks import Metadata, WebhookContact
from passerelle.service.business.cloud import CloudControl
from passerelle.service.business.handoff_ports import HandOffRecord, HandOffStatus, HandOffStore
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import BusinessPerson, SystemTokenRecord
from passerelle.service.business.webhooks import Webhooks
from passerelle.service.ports import Clock, IdGenerator

MAX_ACTIVE = 10_000
MAX_AGENT_CHARS = 128
MAX_LISTED = 500
KEEP_FINISHED_MS = 30 * 86_400_000
"""A handed-back or resolved hand-off is deleted 30 days after its last change (rule 5)."""


class HandOffs:
    def __init__(
        self,
        *,
        store: HandOffStore,
        businesses: BusinessStore,
        cloud: CloudControl,
        webhooks: Webhooks,
        clock: Clock,
        ids: IdGenerator,
        cap: int = MAX_ACTIVE,
    ) -> None:
        self._store = store
        self._businesses = businesses
        self._cloud = cloud
        self._webhooks = webhooks
        self._clock = clock
        self._ids = ids
        self._cap = cap

    async def request(
        self, caller: SystemTokenRecord, object_id: str, body: HandOffRequest
    ) -> tuple[HandOffRecord, bool]:
        """Rule 1 and 2: the person's active hand-off, and whether this request opened it."""
        view = await self._cloud.number(caller, object_id)
        business = view.business.id
        person = await self._person(business, body)
        if person is None:
            raise CloudApiError(
                Failure.INVALID_PARAMETER, "No such person at this business.", field="user_id"
            )
        now = self._clock.now_ms()
        record = HandOffRecord(
            id="ho_" + self._ids.token()[:20],
            business=business,
            number=view.number.id,
            account=person.account,
            user_id=person.user_id,
            summary=body.summary[:MAX_SUMMARY_CHARS],
            reason=body.reason,
            status=HandOffStatus.OPEN,
            agent="",
            created_at=now,
            updated_at=now,
        )
        opened = await self._store.open_handoff(record, cap=self._cap)
        if opened is None:
            raise CloudApiError(
                Failure.PARAMETER_VALUE, f"This business has {self._cap} open hand-offs already."
            )
        if opened[1]:
            await self._announce(opened[0])
        return opened

    async def _person(self, business: BusinessId, body: HandOffRequest) -> BusinessPerson | None:
        if body.user_id:
            return await self._businesses.person_by_user_id(business, UserId(body.user_id))
        if body.wa_id:
            return await self._businesses.person_by_wa_id(business, WaId(body.wa_id))
        raise CloudApiError(Failure.MISSING_PARAMETER, "user_id or wa_id is required.")

    async def active(self, business: str, *, limit: int = MAX_LISTED) -> list[HandOffRecord]:
        await self._business(business)
        return await self._store.active_handoffs(BusinessId(business), limit=max(1, min(limit, MAX_LISTED)))

    async def get(self, business: str, handoff: str) -> HandOffRecord:
        found = await self._store.get_handoff(BusinessId(business), handoff)
        if found is None:
            raise NotFound("no such hand-off")
        return found

    async def take(self, business: str, handoff: str, agent: str) -> HandOffRecord:
        if not agent.strip() or len(agent) > MAX_AGENT_CHARS:
            raise InvalidInput(f"agent: 1 to {MAX_AGENT_CHARS} characters")
        return await self._move(business, handoff, HandOffStatus.TAKEN, agent.strip())

    async def hand_back(self, business: str, handoff: str) -> HandOffRecord:
        return await self._move(business, handoff, HandOffStatus.HANDED_BACK, "")

    async def resolve(self, business: str, handoff: str) -> HandOffRecord:
        return await self._move(business, handoff, HandOffStatus.RESOLVED, "")

    async def _move(self, business: str, handoff: str, to: HandOffStatus, agent: str) -> HandOffRecord:
        found = await self.get(business, handoff)
        moved = await self._store.move_handoff(
            found.business, handoff, to, agent=agent, at=self._clock.now_ms()
        )
        if moved is None:
            raise Conflict(f"a hand-off that is {found.status.value} cannot become {to.value}")
        await self._announce(moved)
        return moved

    async def delete_expired(self, now: Timestamp) -> int:
        """The janitor's part (rule 5)."""
        return await self._store.forget_handoffs_before(Timestamp(now - KEEP_FINISHED_MS))

    async def _business(self, business: str) -> None:
        if await self._businesses.get_business(BusinessId(business)) is None:
            raise NotFound("no such business")

    async def _announce(self, record: HandOffRecord) -> None:
        """Rule 4: the change as a webhook, from the number the bot asked through."""
        number = await self._businesses.get_number(PhoneNumberId(record.number))
        person = await self._businesses.business_person(record.business, record.account)
        if number is None or person is None:
            return
        value = HandOffValue(
            metadata=Metadata(display_phone_number=number.display_number, phone_number_id=number.id),
            contacts=[WebhookContact(wa_id=person.wa_id, user_id=person.user_id)],
            handoff_id=record.id,
            user_id=record.user_id,
            status=record.status.value,
            timestamp=record.updated_at // 1000,
            agent=record.agent or None,
        )
        payload = HandOffPayload(entry=[HandOffEntry(id=number.waba, changes=[HandOffChange(value=value)])])
        await self._webhooks.enqueue_bytes(record.business, encode(payload))
