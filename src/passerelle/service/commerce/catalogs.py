"""``Catalogs``: a business's catalogs and products (docs/commerce.md section 1).

Rules:
- The business manages them with its system-user token (Graph-style: ``/{waba_id}/product_catalogs``,
  ``/{catalog_id}/products``); a business account or catalog of another business is answered as one
  that does not exist (100, subcode 33).
- A product is put by its retailer id: the first put creates it, a later one changes it. A business
  holds at most ``CATALOGS_MAX`` catalogs and a catalog ``PRODUCTS_MAX`` products.
- A catalog is public like the business's profile: anyone signed in may read it
  (``public_products``) — the SDK shows a shared product from it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.business.ids import BusinessId, WabaId, is_numeric_id, numeric_id_from
from passerelle.domain.commerce.catalog import (
    CATALOG_NAME_MAX,
    CATALOGS_MAX,
    PRODUCTS_MAX,
    Product,
    ProductFields,
)
from passerelle.domain.errors import InvalidInput, NotFound, TooLarge
from passerelle.service.business.cloud import unknown_object_details
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import SystemTokenRecord
from passerelle.service.commerce.ports import CatalogRecord, CommerceStore
from passerelle.service.ports import Clock

PAGE_MAX = 100
SELECTED_MAX = 30
"""Products one read may name (a ``product_list`` shows at most 30)."""


def new_id() -> str:
    """A 15-digit Graph id for a catalog, a product, an order or a payment."""
    return numeric_id_from(secrets.token_bytes(8))


class Catalogs:
    def __init__(self, *, store: CommerceStore, businesses: BusinessStore, clock: Clock) -> None:
        self._store = store
        self._businesses = businesses
        self._clock = clock

    async def create(self, caller: SystemTokenRecord, waba_id: str, name: str) -> CatalogRecord:
        await self._own_waba(caller, waba_id)
        name = name.strip()
        if not 1 <= len(name) <= CATALOG_NAME_MAX:
            raise InvalidInput(f"name has 1 to {CATALOG_NAME_MAX} characters")
        catalog = CatalogRecord(
            id=new_id(), business=caller.business, name=name, created_at=self._clock.now_ms()
        )
        if not await self._store.create_catalog(catalog, cap=CATALOGS_MAX):
            raise TooLarge(f"a business has at most {CATALOGS_MAX} catalogs")
        return catalog

    async def list_of(self, caller: SystemTokenRecord, waba_id: str) -> list[CatalogRecord]:
        await self._own_waba(caller, waba_id)
        return await self._store.catalogs_of(caller.business)

    async def own(self, business: BusinessId, catalog_id: str) -> CatalogRecord:
        """The business's catalog; another business's, or none, is an unknown object."""
        found = await self._store.get_catalog(catalog_id) if is_numeric_id(catalog_id) else None
        if found is None or found.business != business:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, unknown_object_details(catalog_id))
        return found

    async def put_product(self, caller: SystemTokenRecord, catalog_id: str, fields: ProductFields) -> Product:
        catalog = await self.own(caller.business, catalog_id)
        now = self._clock.now_ms()
        product = Product(id=new_id(), catalog=catalog.id, fields=fields, created_at=now, updated_at=now)
        stored = await self._store.put_product(product, cap=PRODUCTS_MAX)
        if stored is None:
            raise TooLarge(f"a catalog holds at most {PRODUCTS_MAX} products")
        return stored

    async def products(
        self, caller: SystemTokenRecord, catalog_id: str, *, after: str | None, limit: int
    ) -> list[Product]:
        catalog = await self.own(caller.business, catalog_id)
        return await self._store.products(catalog.id, after=after, limit=max(1, min(limit, PAGE_MAX)))

    async def delete_product(self, caller: SystemTokenRecord, catalog_id: str, retailer_id: str) -> None:
        catalog = await self.own(caller.business, catalog_id)
        if not await self._store.delete_product(catalog.id, retailer_id):
            raise CloudApiError(Failure.UNKNOWN_OBJECT, f"The catalog has no product {retailer_id[:100]!r}.")

    async def for_send(
        self, business: BusinessId, catalog_id: str, retailer_ids: Sequence[str]
    ) -> dict[str, Product]:
        """The products a bot shares (``product`` / ``product_list``): the catalog must be the
        business's (100/33) and each product exist in it (131009 naming it)."""
        catalog = await self.own(business, catalog_id)
        found = await self._store.products_by_retailer_id(catalog.id, retailer_ids)
        for retailer_id in retailer_ids:
            if retailer_id not in found:
                raise CloudApiError(
                    Failure.PARAMETER_VALUE,
                    f"The catalog has no product with product_retailer_id {retailer_id[:100]!r}.",
                )
        return found

    async def public_products(
        self, business: str, catalog_id: str, *, after: str | None, limit: int
    ) -> tuple[CatalogRecord, list[Product]]:
        """A catalog as anyone may read it (a catalog is public, like the profile)."""
        found = await self._store.get_catalog(catalog_id) if is_numeric_id(catalog_id) else None
        if found is None or found.business != business:
            raise NotFound("no such catalog")
        return found, await self._store.products(found.id, after=after, limit=max(1, min(limit, PAGE_MAX)))

    async def public_selected(
        self, business: str, catalog_id: str, retailer_ids: Sequence[str]
    ) -> tuple[CatalogRecord, list[Product]]:
        """Only these products of a public catalog (at most ``SELECTED_MAX``), in the order asked."""
        if len(retailer_ids) > SELECTED_MAX:
            raise InvalidInput(f"ask for at most {SELECTED_MAX} products at once")
        found = await self._store.get_catalog(catalog_id) if is_numeric_id(catalog_id) else None
        if found is None or found.business != business:
            raise NotFound("no such catalog")
        products = await self._store.products_by_retailer_id(found.id, retailer_ids)
        return found, [products[r] for r in dict.fromkeys(retailer_ids) if r in products]

    async def catalogs_public(self, business: str) -> list[CatalogRecord]:
        return await self._store.catalogs_of(BusinessId(business))

    async def _own_waba(self, caller: SystemTokenRecord, waba_id: str) -> None:
        account = (
            await self._businesses.get_business_account(WabaId(waba_id)) if is_numeric_id(waba_id) else None
        )
        if account is None or account.business != caller.business:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, unknown_object_details(waba_id))
