"""Payments of orders behind a payment-provider port (docs/commerce.md section 4).

``PaymentProvider`` is the port a provider's adapter implements (``sandbox.SandboxPayments`` ships
for development and tests). ``Payments`` is the use case:

- The amount is the order's total as the server computed it from the catalog; the customer names
  only the order, a payment method and an idempotency key.
- **Idempotency.** A payment is recorded before the provider is called, keyed by (order, key): a
  retried request with the same key finds it and answers it (driving it again with the provider if
  the first attempt stopped half way), and the provider is always called with the payment's own id
  as its idempotency key, so a retried charge is the same charge.
- **Never twice.** At most one payment of an order is pending, succeeded or refunded (the store's
  unique index): another attempt while one is pending or after one succeeded is ``conflict``. A
  declined payment leaves the order free to be paid again, at most ``PAYMENTS_PER_ORDER_MAX``
  attempts.
- Each status a payment takes is told to the business's bot (``pending``, ``succeeded``,
  ``failed``, ``refunded``) as a signed webhook, once: a status is written only from the status the
  payment was read with, and only the writer that moved it enqueues the event.
- A charge that succeeds for a payment the janitor expired meanwhile (its order cancelled) is
  refunded at once: no money is kept for an order that is not.
- A paid order moves from ``pending`` to ``processing``; a refund (the business's, of a succeeded
  payment) moves it to ``refunded`` and gives its stock back when it had not shipped.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.commerce.money import Money
from passerelle.domain.commerce.orders import OrderStatus
from passerelle.domain.commerce.payments import (
    PAYMENTS_PER_ORDER_MAX,
    PaymentStatus,
    check_idempotency_key,
)
from passerelle.domain.errors import Conflict, InvalidInput, NotFound
from passerelle.domain.ids import AccountId
from passerelle.service.business.records import SystemTokenRecord
from passerelle.service.commerce.catalogs import new_id
from passerelle.service.commerce.events import CommerceEvents
from passerelle.service.commerce.orders import Orders
from passerelle.service.commerce.ports import CommerceStore, OrderRecord, PaymentRecord
from passerelle.service.ports import Clock

METHOD_MAX = 64


class ChargeState(enum.Enum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    """The provider waits for the customer (an authentication step) or for its own settlement."""
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Charge:
    ref: str
    """The provider's id of the charge."""
    state: ChargeState
    method: str
    """What may be shown of the method (``card:4242``); never the card number."""
    error: str = ""
    """``<code>:<reason>`` when failed (``card_declined:The card was declined.``)."""


class PaymentProvider(Protocol):
    name: str

    async def charge(self, *, idempotency_key: str, amount: Money, method: str, reference: str) -> Charge:
        """Takes ``amount`` once per ``idempotency_key``: the same key answers the same charge."""
        ...

    async def confirm(self, *, ref: str) -> Charge:
        """The customer completed the pending step of this charge; its state now."""
        ...

    async def refund(self, *, idempotency_key: str, ref: str, amount: Money) -> Charge:
        """Gives ``amount`` of the charge back, once per key; ``SUCCEEDED`` when refunded."""
        ...


class Payments:
    def __init__(
        self,
        *,
        store: CommerceStore,
        orders: Orders,
        provider: PaymentProvider,
        events: CommerceEvents,
        clock: Clock,
    ) -> None:
        self._store = store
        self._orders = orders
        self._provider = provider
        self._events = events
        self._clock = clock

    async def pay(
        self, account: AccountId, order_id: str, *, method: str, idempotency_key: str
    ) -> PaymentRecord:
        key = check_idempotency_key(idempotency_key)
        if not 1 <= len(method) <= METHOD_MAX:
            raise InvalidInput(f"payment_method has 1 to {METHOD_MAX} characters")
        order = await self._orders.of_person(account, order_id)
        now = self._clock.now_ms()
        fresh = PaymentRecord(
            id=new_id(),
            order=order.id,
            idempotency_key=key,
            amount=order.total,
            status=PaymentStatus.PENDING,
            provider=self._provider.name,
            provider_ref="",
            method="",
            error="",
            created_at=now,
            updated_at=now,
        )
        if order.status is not OrderStatus.PENDING:
            held = [p for p in await self._store.payments_of(order.id) if p.idempotency_key == key]
            if held:
                return held[0]  # a retry of the payment that paid it
            raise Conflict(f"the order is {order.status.value}; it is not waiting for a payment")
        added = await self._store.add_payment(fresh, cap=PAYMENTS_PER_ORDER_MAX)
        if added is None:
            raise Conflict(f"an order takes at most {PAYMENTS_PER_ORDER_MAX} payment attempts")
        payment = added.payment
        if not added.created and payment.idempotency_key != key:
            raise Conflict(f"the order already has a {payment.status.value} payment; nothing was charged")
        if payment.status is not PaymentStatus.PENDING or payment.provider_ref:
            return payment  # answered before: the same answer
        charge = await self._provider.charge(
            idempotency_key=payment.id, amount=payment.amount, method=method, reference=order.id
        )
        return await self._settle(order, payment, charge, told_pending=False)

    async def confirm(self, account: AccountId, payment_id: str) -> PaymentRecord:
        """The customer completed the provider's pending step (the sandbox's authentication card)."""
        payment = await self._store.get_payment(payment_id)
        if payment is None:
            raise NotFound("no such payment")
        order = await self._orders.of_person(account, payment.order)
        if payment.status is not PaymentStatus.PENDING or not payment.provider_ref:
            return payment
        charge = await self._provider.confirm(ref=payment.provider_ref)
        return await self._settle(order, payment, charge, told_pending=True)

    async def refund(self, caller: SystemTokenRecord, order_id: str) -> PaymentRecord:
        order = await self._orders.of_business(caller.business, order_id)
        paid = [p for p in await self._store.payments_of(order.id) if p.status is not PaymentStatus.FAILED]
        if not paid or paid[-1].status is PaymentStatus.PENDING:
            raise CloudApiError(Failure.PARAMETER_VALUE, "the order has no succeeded payment to refund")
        payment = paid[-1]
        if payment.status is PaymentStatus.REFUNDED:
            return payment
        refund = await self._provider.refund(
            idempotency_key=f"refund-{payment.id}", ref=payment.provider_ref, amount=payment.amount
        )
        if refund.state is not ChargeState.SUCCEEDED:
            raise CloudApiError(Failure.PARAMETER_VALUE, f"the provider refused the refund ({refund.error})")
        done = dataclasses.replace(payment, status=PaymentStatus.REFUNDED, updated_at=self._clock.now_ms())
        if await self._store.change_payment(done, expected=PaymentStatus.SUCCEEDED):
            current = await self._store.get_order(order.id)
            if current is not None and current.status is not OrderStatus.REFUNDED:
                await self._orders.move(current, OrderStatus.REFUNDED)
            await self._events.paid(order, done)
        held = await self._store.get_payment(payment.id)
        assert held is not None
        return held

    async def export(self, account: AccountId) -> list[tuple[OrderRecord, list[PaymentRecord]]]:
        """The person's orders at every business with their payments (their data export)."""
        return [
            (o, await self._store.payments_of(o.id)) for o in await self._store.orders_of_account(account)
        ]

    async def of_order(self, order: OrderRecord) -> list[PaymentRecord]:
        return await self._store.payments_of(order.id)

    async def _settle(
        self, order: OrderRecord, payment: PaymentRecord, charge: Charge, *, told_pending: bool
    ) -> PaymentRecord:
        status = {
            ChargeState.SUCCEEDED: PaymentStatus.SUCCEEDED,
            ChargeState.PENDING: PaymentStatus.PENDING,
            ChargeState.FAILED: PaymentStatus.FAILED,
        }[charge.state]
        moved = dataclasses.replace(
            payment,
            status=status,
            provider_ref=charge.ref,
            method=charge.method[:METHOD_MAX],
            error=charge.error[:200],
            updated_at=self._clock.now_ms(),
        )
        if status is PaymentStatus.PENDING and (told_pending or payment.provider_ref == charge.ref):
            return payment  # still pending, already told
        if not await self._store.change_payment(moved, expected=PaymentStatus.PENDING):
            held = await self._store.get_payment(payment.id)  # another request settled it first
            assert held is not None
            if status is PaymentStatus.SUCCEEDED and held.status is PaymentStatus.FAILED:
                # The janitor expired it meanwhile (the order is cancelled): give the money back.
                await self._provider.refund(
                    idempotency_key=f"void-{payment.id}", ref=charge.ref, amount=payment.amount
                )
            return held
        if status is PaymentStatus.SUCCEEDED:
            current = await self._store.get_order(order.id)
            if current is not None and current.status is OrderStatus.PENDING:
                await self._orders.move(current, OrderStatus.PROCESSING)
        await self._events.paid(order, moved)
        return moved
