"""``Orders``: a customer's cart becomes an order priced by the business side (docs/commerce.md
section 3).

Rules:
- The customer's app sends retailer ids and quantities (``POST /v1/businesses/{id}/orders``); any
  price or currency it writes is ignored: each line's price and the total come from the catalog, in
  integer minor units. An unknown product is ``not_found`` naming it; a product out of stock or
  short of the quantity is ``conflict`` naming it; the stock is reserved in the same transaction as
  the order is written, all lines or none.
- A customer has at most ``OPEN_ORDERS_MAX`` pending orders and ``ORDERS_MAX`` orders at one
  business (``too_large``). A business that blocked the person, or that the person blocked, takes no
  order from them (``forbidden``).
- An order is a message to the business: it opens the 24-hour window, as a person's message does,
  and the bot gets the Cloud API's inbound ``order`` message as a webhook with the server's
  ``order_id`` and ``total_amount``.
- An order left unpaid for 30 minutes (no payment, or one still pending 30 minutes after it last
  changed) is cancelled by the janitor and its stock comes back: ordering without paying holds
  nothing for long; the stale pending payment fails (``expired``, told to the bot).
- The business moves the status (``POST /{order_id}/order_status``) along ``domain.commerce.orders.NEXT``;
  a cancellation before shipping gives the stock back. The person reads their orders with a business
  from any device (one history per person and business).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.business.ids import BusinessId, is_numeric_id
from passerelle.domain.commerce.orders import (
    OPEN_ORDERS_MAX,
    ORDERS_MAX,
    RELEASES_STOCK,
    CartLine,
    OrderStatus,
    check_transition,
    price_cart,
)
from passerelle.domain.commerce.payments import PaymentStatus
from passerelle.domain.errors import Conflict, Forbidden, NotFound, TooLarge
from passerelle.domain.ids import AccountId, Timestamp
from passerelle.service.business.cloud import unknown_object_details
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import SystemTokenRecord
from passerelle.service.business.sends import BusinessSends
from passerelle.service.commerce.catalogs import new_id
from passerelle.service.commerce.events import CommerceEvents
from passerelle.service.commerce.ports import CommerceStore, OrderRecord, Placed
from passerelle.service.links.links import Links
from passerelle.service.ports import Clock

UNPAID_TTL_MS = 30 * 60 * 1000
"""How long a pending order holds its stock without a payment under way (then it is cancelled)."""
EXPIRE_BATCH = 500
HISTORY_MAX = 100
"""Orders one listing answers (newest first)."""

Blocked = Callable[[BusinessId, AccountId], Awaitable[bool]]
"""Whether the person blocked the business's account (the composition root knows how)."""


class Orders:
    def __init__(
        self,
        *,
        store: CommerceStore,
        businesses: BusinessStore,
        events: CommerceEvents,
        sends: BusinessSends,
        clock: Clock,
        person_blocked: Blocked | None = None,
        links: Links | None = None,
    ) -> None:
        self._links = links
        self._store = store
        self._businesses = businesses
        self._events = events
        self._sends = sends
        self._clock = clock
        self._person_blocked = person_blocked

    async def place(
        self, account: AccountId, business_id: str, catalog_id: str, lines: Sequence[CartLine]
    ) -> OrderRecord:
        business = await self._businesses.get_business(BusinessId(business_id))
        catalog = await self._store.get_catalog(catalog_id) if is_numeric_id(catalog_id) else None
        if business is None or catalog is None or catalog.business != business.id:
            raise NotFound("no such catalog at this business")
        if await self._businesses.is_blocked_by_business(business.id, account) or (
            self._person_blocked is not None and await self._person_blocked(business.id, account)
        ):
            raise Forbidden("this business does not take orders from you")
        products = await self._store.products_by_retailer_id(catalog.id, [x.retailer_id for x in lines])
        cart = price_cart(lines, products)
        now = self._clock.now_ms()
        order = OrderRecord(
            id=new_id(),
            business=business.id,
            catalog=catalog.id,
            account=account,
            lines=cart.lines,
            total=cart.total,
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        reserve = [CartLine(x.retailer_id, x.quantity) for x in cart.lines]
        placed = await self._store.place_order(order, reserve, open_cap=OPEN_ORDERS_MAX, cap=ORDERS_MAX)
        if placed is Placed.NO_STOCK:
            raise Conflict("a product of the order is out of stock now")
        if placed is Placed.TOO_MANY:
            raise TooLarge(
                f"at most {OPEN_ORDERS_MAX} pending and {ORDERS_MAX} orders in all with one business"
            )
        await self._sends.note_inbound(business=business.id, person=account)
        await self._events.ordered(order)
        return order

    async def mine(self, account: AccountId, business_id: str) -> list[OrderRecord]:
        """The person's order history at the business: of all their linked accounts where they
        chose to be one customer (docs/commerce.md), newest first."""
        business = BusinessId(business_id)
        accounts = (account,) if self._links is None else await self._links.accounts_at(business, account)
        found = [o for a in accounts for o in await self._store.orders_of(business, a, limit=HISTORY_MAX)]
        return sorted(found, key=lambda o: (o.created_at, o.id), reverse=True)[:HISTORY_MAX]

    async def of_person(self, account: AccountId, order_id: str) -> OrderRecord:
        found = await self._store.get_order(order_id) if is_numeric_id(order_id) else None
        if found is None or (found.account != account and self._links is None):
            raise NotFound("no such order")
        if found.account != account and self._links is not None:
            if found.account not in await self._links.accounts_at(found.business, account):
                raise NotFound("no such order")
        return found

    async def of_business(self, business: BusinessId, order_id: str) -> OrderRecord:
        found = await self._store.get_order(order_id) if is_numeric_id(order_id) else None
        if found is None or found.business != business:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, unknown_object_details(order_id))
        return found

    async def set_status(self, caller: SystemTokenRecord, order_id: str, status: str) -> OrderRecord:
        order = await self.of_business(caller.business, order_id)
        try:
            new = OrderStatus(status.strip().lower())
        except ValueError:
            raise CloudApiError(
                Failure.PARAMETER_VALUE,
                "status is one of "
                + ", ".join(s.value for s in OrderStatus if s is not OrderStatus.REFUNDED),
            ) from None
        if new is OrderStatus.REFUNDED:
            raise CloudApiError(
                Failure.PARAMETER_VALUE, "an order becomes refunded by a refund (POST /{order_id}/refunds)"
            )
        return await self.move(order, new)

    async def expire_unpaid(self, now: Timestamp) -> int:
        """The janitor's part: an order left unpaid for ``UNPAID_TTL_MS`` (no payment, or one left
        pending that long) is cancelled and its stock comes back, so that nobody can hold a business's
        stock by ordering without paying; a pending payment left behind fails (``expired``)."""
        stale = await self._store.unpaid_orders(before=Timestamp(now - UNPAID_TTL_MS), limit=EXPIRE_BATCH)
        cancelled = 0
        for order in stale:
            for payment in await self._store.payments_of(order.id):
                if payment.status is PaymentStatus.PENDING:  # its step was never completed
                    expired = dataclasses.replace(
                        payment,
                        status=PaymentStatus.FAILED,
                        error="expired:The payment was not completed in time.",
                        updated_at=now,
                    )
                    if await self._store.change_payment(expired, expected=PaymentStatus.PENDING):
                        await self._events.paid(order, expired)
            if await self._store.set_order_status(
                order.id, expected=OrderStatus.PENDING, status=OrderStatus.CANCELLED, at=now, release=True
            ):
                cancelled += 1
        return cancelled

    async def move(self, order: OrderRecord, new: OrderStatus) -> OrderRecord:
        check_transition(order.status, new)
        release = new in RELEASES_STOCK and order.status in (OrderStatus.PENDING, OrderStatus.PROCESSING)
        at = self._clock.now_ms()
        if not await self._store.set_order_status(
            order.id, expected=order.status, status=new, at=at, release=release
        ):
            raise Conflict("the order changed meanwhile; read it again")
        changed = await self._store.get_order(order.id)
        assert changed is not None
        return changed
