"""The webhooks commerce tells the business's bot (docs/commerce.md section 5), in the Cloud API's
shapes (``proto/cloud/commerce.py``): the inbound ``order`` message and a payment's status. Each is
enqueued in the business's durable webhook outbox (``service/business/webhooks.py``: signed with the
app secret, retried, in order) and names the person by their ids at the business and the business
by its first number, as ``user_preferences`` does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.commerce.money import Money
from passerelle.domain.ids import AccountId
from passerelle.proto.cloud.commerce import (
    InboundOrder,
    OrderProductItem,
    Payment,
    PaymentError,
    PaymentTransaction,
)
from passerelle.proto.cloud.messages import Amount
from passerelle.proto.cloud.webhooks import (
    InboundMessage,
    Metadata,
    Profile,
    Status,
    Value,
    WebhookContact,
    one_event,
)
from passerelle.service.business.people import person_ids
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.webhooks import Webhooks
from passerelle.service.commerce.ports import OrderRecord, PaymentRecord
from passerelle.service.links.links import Links
from passerelle.service.ports import Clock

DisplayName = Callable[[AccountId], Awaitable[str]]
"""The person's display name as their own app shows it (``profile.name``)."""

TRANSACTION_STATUS = {"pending": "pending", "succeeded": "success", "failed": "failed", "refunded": "success"}


def amount_of(money: Money) -> Amount:
    return Amount(value=money.minor, offset=money.offset)


def order_message(order: OrderRecord, wa_id: str, at_s: int) -> InboundMessage:
    return InboundMessage(
        from_=wa_id,
        id=f"wamid.O{order.id}",
        timestamp=str(at_s),
        type="order",
        order=InboundOrder(
            catalog_id=order.catalog,
            product_items=[
                OrderProductItem(
                    product_retailer_id=line.retailer_id,
                    quantity=line.quantity,
                    item_price=Money(line.unit_price, order.total.currency).decimal(),
                    currency=order.total.currency,
                )
                for line in order.lines
            ],
            order_id=order.id,
            total_amount=amount_of(order.total),
            currency=order.total.currency,
        ),
    )


def payment_status(payment: PaymentRecord, wa_id: str, user_id: str, at_s: int) -> Status:
    error = None
    if payment.error:
        code, _, reason = payment.error.partition(":")
        error = PaymentError(code=code, reason=reason or code)
    return Status(
        id=payment.id,
        status=payment.status.value,
        timestamp=str(at_s),
        recipient_id=wa_id,
        recipient_user_id=user_id,
        type="payment",
        payment=Payment(
            reference_id=payment.order,
            amount=amount_of(payment.amount),
            currency=payment.amount.currency,
            transaction=PaymentTransaction(
                id=payment.provider_ref or payment.id,
                type=payment.provider,
                status=TRANSACTION_STATUS[payment.status.value],
                created_timestamp=payment.created_at // 1000,
                updated_timestamp=payment.updated_at // 1000,
                amount=amount_of(payment.amount),
                currency=payment.amount.currency,
                method=payment.method or None,
                error=error,
            ),
        ),
    )


class CommerceEvents:
    def __init__(
        self,
        *,
        businesses: BusinessStore,
        webhooks: Webhooks,
        clock: Clock,
        display_name: DisplayName,
        links: Links | None = None,
    ) -> None:
        self._links = links
        self._businesses = businesses
        self._webhooks = webhooks
        self._clock = clock
        self._display_name = display_name

    async def ordered(self, order: OrderRecord) -> bool:
        return await self._tell(order.business, order.account, order=order)

    async def paid(self, order: OrderRecord, payment: PaymentRecord) -> bool:
        return await self._tell(order.business, order.account, payment=payment)

    async def _tell(
        self,
        business_id: BusinessId,
        account: AccountId,
        *,
        order: OrderRecord | None = None,
        payment: PaymentRecord | None = None,
    ) -> bool:
        business = await self._businesses.get_business(business_id)
        numbers = await self._businesses.numbers_of(business_id)
        if business is None or not numbers:
            return False
        number = numbers[0]
        person = await person_ids(self._businesses, self._clock, business, account, self._links)
        at_s = self._clock.now_ms() // 1000
        metadata = Metadata(display_phone_number=number.display_number, phone_number_id=number.id)
        if order is not None:
            name = await self._display_name(account)
            value = Value(
                metadata=metadata,
                contacts=[
                    WebhookContact(wa_id=person.wa_id, user_id=person.user_id, profile=Profile(name=name))
                ],
                messages=[order_message(order, person.wa_id, at_s)],
            )
        else:
            assert payment is not None
            value = Value(
                metadata=metadata,
                contacts=[WebhookContact(wa_id=person.wa_id, user_id=person.user_id)],
                statuses=[payment_status(payment, person.wa_id, person.user_id, at_s)],
            )
        return await self._webhooks.enqueue(business.id, one_event(number.waba, "messages", value))
