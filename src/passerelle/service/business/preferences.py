"""``MarketingPreferences``: the ``user_preferences`` webhook (docs/business.md section 8) — when a
person stops marketing messages from a business, or resumes them after a stop, the business's bot
is told, as Meta's Cloud API does (``category: marketing_messages``, ``value: stop|resume``).

The event names the person by their ids at the business (``wa_id``, ``user_id``) and the business
by its first number (``metadata``) and that number's business account (``entry[0].id``); a business
with no number yet has nowhere to say it from, and no event is made. Granting marketing for the
first time is an opt-in, not a resume: only a grant that follows a stop makes ``resume``.
"""

from __future__ import annotations

from passerelle.domain.business.consent import ConsentState, Scope
from passerelle.proto.cloud.webhooks import Metadata, UserPreference, Value, WebhookContact, one_event
from passerelle.service.business.people import person_ids
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import ConsentRecord
from passerelle.service.business.webhooks import Webhooks
from passerelle.service.links.links import Links
from passerelle.service.ports import Clock

DETAILS = {
    "stop": "User requested to stop marketing messages",
    "resume": "User requested to resume marketing messages",
}


class MarketingPreferences:
    def __init__(
        self, *, store: BusinessStore, clock: Clock, webhooks: Webhooks, links: Links | None = None
    ) -> None:
        self._links = links
        self._store = store
        self._clock = clock
        self._webhooks = webhooks

    async def changed(self, change: ConsentRecord) -> None:
        if change.scope is not Scope.MARKETING:
            return
        if change.state is ConsentState.REVOKED:
            value = "stop"
        else:
            ledger = [
                c
                for c in await self._store.consent_ledger(change.account)
                if c.business == change.business and c.scope is Scope.MARKETING
            ]
            earlier = ledger[:-1]  # the last one is this change
            if not earlier or earlier[-1].state is not ConsentState.REVOKED:
                return
            value = "resume"
        business = await self._store.get_business(change.business)
        numbers = await self._store.numbers_of(change.business)
        if business is None or not numbers:
            return
        number = numbers[0]
        person = await person_ids(self._store, self._clock, business, change.account, self._links)
        preference = UserPreference(
            wa_id=person.wa_id,
            detail=DETAILS[value],
            category="marketing_messages",
            value=value,
            timestamp=change.at // 1000,
        )
        event = Value(
            metadata=Metadata(display_phone_number=number.display_number, phone_number_id=number.id),
            contacts=[WebhookContact(wa_id=person.wa_id, user_id=person.user_id)],
            user_preferences=[preference],
        )
        await self._webhooks.enqueue(business.id, one_event(number.waba, "user_preferences", event))
