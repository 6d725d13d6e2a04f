"""A catalog's products: what a business sells, public like its profile (PRODUCT.md part 7). A
product is found by its ``retailer_id`` (the Cloud API's ``product_retailer_id``, the SKU)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

from passerelle.domain.commerce.money import Money, check_currency, check_price
from passerelle.domain.errors import InvalidInput
from passerelle.domain.ids import Timestamp

RETAILER_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
NAME_MAX: Final = 150
DESCRIPTION_MAX: Final = 5000
IMAGES_MAX: Final = 10
IMAGE_REF_MAX: Final = 2000
STOCK_MAX: Final = 10**9
CATALOG_NAME_MAX: Final = 100
PRODUCTS_MAX: Final = 10_000
"""Products per catalog (the store refuses more)."""
CATALOGS_MAX: Final = 10
"""Catalogs per business."""


class Availability(enum.Enum):
    """Meta's ``availability`` values that a sale depends on."""

    IN_STOCK = "in stock"
    OUT_OF_STOCK = "out of stock"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductFields:
    """What the business sets; checked by ``check_product``."""

    retailer_id: str
    name: str
    description: str
    price: int
    currency: str
    images: tuple[str, ...]
    """Media references: a media id of the business (``media:<id>``) or an https URL. The image
    itself reaches a person as encrypted media, like any other."""
    stock: int
    availability: Availability


@dataclass(frozen=True, slots=True, kw_only=True)
class Product:
    id: str
    """A 15-digit Graph id."""
    catalog: str
    fields: ProductFields
    created_at: Timestamp
    updated_at: Timestamp

    @property
    def retailer_id(self) -> str:
        return self.fields.retailer_id

    @property
    def price(self) -> Money:
        return Money(self.fields.price, self.fields.currency)

    def sellable(self) -> bool:
        return self.fields.availability is Availability.IN_STOCK and self.fields.stock > 0


def check_retailer_id(raw: str) -> str:
    if not RETAILER_ID.match(raw):
        raise InvalidInput(
            "retailer_id has 1 to 100 letters, digits and . _ : -, starting with one of the first two"
        )
    return raw


def check_product(
    *,
    retailer_id: str,
    name: str,
    description: str,
    price: int,
    currency: str,
    images: tuple[str, ...],
    stock: int,
    availability: str,
) -> ProductFields:
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidInput(f"name has 1 to {NAME_MAX} characters")
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(f"description has at most {DESCRIPTION_MAX} characters")
    if len(images) > IMAGES_MAX:
        raise InvalidInput(f"a product has at most {IMAGES_MAX} images")
    for image in images:
        if not (image.startswith(("https://", "media:")) and 6 < len(image) <= IMAGE_REF_MAX):
            raise InvalidInput("an image is a media reference (media:<id>) or an https URL")
    if isinstance(stock, bool) or not isinstance(stock, int) or not 0 <= stock <= STOCK_MAX:
        raise InvalidInput(f"inventory is an integer, 0 to {STOCK_MAX}")
    try:
        available = Availability(availability.strip().lower())
    except ValueError:
        raise InvalidInput("availability is 'in stock' or 'out of stock'") from None
    return ProductFields(
        retailer_id=check_retailer_id(retailer_id),
        name=name,
        description=description,
        price=check_price(price),
        currency=check_currency(currency),
        images=images,
        stock=stock,
        availability=available,
    )
