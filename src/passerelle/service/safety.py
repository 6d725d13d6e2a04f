"""The safety policy on the message path: may this person message, signal to, or see that one?

The rules are pure (``domain.safety``); this applies them to facts read from the store and cached
per pair of people (keyed by their direct conversation's id). Every change to those facts (a block,
a contact, an accepted or declined request, a ``message_from`` setting) drops the cached pair here
and on every node through the broker's ``Invalidate``, which also makes the send path recompute its
cached routes: a send costs a dictionary lookup, never a query, until something changes.

Group code calls ``may_message`` (no block either way) and ``may_signal``; the directory calls
``hides`` and ``last_seen_for``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from passerelle.domain.conversations import direct_conversation_id
from passerelle.domain.ids import AccountId, ConversationId, Timestamp
from passerelle.domain.safety import (
    MemberState,
    PairFacts,
    Verdict,
    first_state,
    may_see_last_seen,
    may_signal,
    send_verdict,
)
from passerelle.service.caches import TtlCache
from passerelle.service.ports import AccountStore, Broker, Clock, Invalidate, PrivacyStore
from passerelle.service.records import AccountRecord, ConversationRecord


class SafetyStore(PrivacyStore, AccountStore, Protocol):
    """What the safety policy needs of the store."""


class SafetyPolicy:
    def __init__(self, *, store: SafetyStore, broker: Broker, clock: Clock, ttl_s: float = 60.0) -> None:
        self._store = store
        self._broker = broker
        self._clock = clock
        self._facts: TtlCache[ConversationId, PairFacts] = TtlCache(clock, ttl_s=ttl_s)

    # --- facts and their invalidation -------------------------------------------------------------

    async def facts(self, a: AccountId, b: AccountId) -> PairFacts:
        key = direct_conversation_id(a, b)
        cached = self._facts.get(key)
        if cached is None:
            cached = await self._store.pair_facts(a, b)
            self._facts.put(key, cached)
        return cached

    async def changed(self, pairs: Iterable[tuple[AccountId, AccountId]]) -> None:
        """Facts between these people changed (committed): forget them here and on every node."""
        convs = tuple(dict.fromkeys(direct_conversation_id(a, b) for a, b in pairs))
        if not convs:
            return
        for conv in convs:
            self._facts.drop(conv)
        await self._broker.publish(Invalidate(conversations=convs))

    def invalidate(self, event: Invalidate) -> None:
        for conv in event.conversations:
            self._facts.drop(conv)

    # --- the rules --------------------------------------------------------------------------------

    async def direct_verdict(self, conv: ConversationRecord, sender: AccountRecord) -> tuple[Verdict, str]:
        """What becomes of ``sender``'s messages in a direct conversation, and why (for ``forbidden``).

        The first message decides the recipient's state (a request or not), and writing accepts the
        conversation for the sender; both are recorded here, once.
        """
        me = sender.id
        other = next(m for m in conv.members if m != me)
        facts = await self.facts(me, other)
        recorded = facts.state(other)
        state = recorded
        if state is None:
            recipient = await self._store.get_account(other)
            state = first_state(
                sender_app=sender.app,
                recipient_app=recipient.app if recipient is not None else sender.app,
                is_contact=facts.is_contact(other, me),
            )
        verdict, reason = send_verdict(facts, sender=me, recipient=other, recipient_state=state)
        if verdict not in (Verdict.DELIVER, Verdict.REQUEST):
            return verdict, reason
        now = self._clock.now_ms()
        wrote = False
        mine = facts.state(me)
        if mine is None:
            mine = await self._store.decide_state(conv.id, me, MemberState.ACCEPTED, now=now)
            wrote = True
        if mine is not MemberState.ACCEPTED:  # replying to a request accepts it
            await self._store.accept_conversation(conv.id, me, other, now=now)
            wrote = True
        if recorded is None:
            state = await self._store.decide_state(conv.id, other, state, now=now)
            wrote = True
        if wrote:
            await self.changed([(me, other)])
            facts = await self.facts(me, other)
            verdict, reason = send_verdict(facts, sender=me, recipient=other, recipient_state=state)
        return verdict, reason

    async def may_signal(self, sender: AccountId, to: AccountId, kind: str) -> bool:
        """Whether a receipt (``delivered``, ``read``) or ``typing`` from ``sender`` may reach ``to``."""
        if sender == to:
            return True
        return may_signal(await self.facts(sender, to), sender=sender, to=to, kind=kind)

    async def may_message(self, sender: AccountId, recipient: AccountId) -> bool:
        """No block either way between the two (what group delivery asks)."""
        if sender == recipient:
            return True
        return not (await self.facts(sender, recipient)).blocked_either(sender, recipient)

    async def hides(self, target: AccountId, viewer: AccountId) -> bool:
        """True when ``target`` blocked ``viewer``: the viewer may not find or see them."""
        if target == viewer:
            return False
        return (await self.facts(target, viewer)).blocked(target, viewer)

    async def is_contact(self, owner: AccountId, other: AccountId) -> bool:
        if owner == other:
            return False
        return (await self.facts(owner, other)).is_contact(owner, other)

    async def last_seen_for(self, viewer: AccountRecord, target: AccountRecord) -> Timestamp | None:
        """The target's last-seen time if their setting shows it to the viewer, else None."""
        settings = await self._store.get_privacy(target.id)
        if settings.last_seen_at is None:
            return None
        shown = may_see_last_seen(
            settings.last_seen,
            viewer_is_contact=await self.is_contact(target.id, viewer.id),
            viewer_is_self=viewer.id == target.id,
        )
        return settings.last_seen_at if shown else None
