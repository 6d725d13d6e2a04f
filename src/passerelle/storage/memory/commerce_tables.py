"""The commerce tables of ``MemoryDatabase`` (the counterpart of migration ``commerce``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from passerelle.domain.commerce.catalog import Product
from passerelle.domain.ids import AccountId
from passerelle.service.commerce.ports import CatalogRecord, OrderRecord, PaymentRecord


@dataclass(slots=True)
class CommerceTables:
    catalogs: dict[str, CatalogRecord] = field(default_factory=dict)
    products: dict[tuple[str, str], Product] = field(default_factory=dict)
    """By (catalog, retailer id)."""
    orders: dict[str, OrderRecord] = field(default_factory=dict)
    payments: dict[str, PaymentRecord] = field(default_factory=dict)

    def drop_orders_of(self, account: AccountId) -> None:
        """An erased account's orders and their payments (``ON DELETE CASCADE`` in SQL)."""
        gone = {o.id for o in self.orders.values() if o.account == account}
        for order in gone:
            del self.orders[order]
        for payment in [p.id for p in self.payments.values() if p.order in gone]:
            del self.payments[payment]
